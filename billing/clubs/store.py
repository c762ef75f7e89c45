"""The clubs' queries: thin reads of the club tables, set-based where a release is concerned."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from billing.errors import NotFound
from billing.store.tables import (
    Club,
    ClubTier,
    Customer,
    Mandate,
    Membership,
    Message,
    Notice,
    Release,
    ReleaseLine,
    Shipment,
)

SOURCE = "club"
NOTICE_KIND = "release_notice"  # the notice kind, the event type and the message kind


def charge_key(release_id: int, membership_id: int) -> str:
    return f"release:{release_id}:member:{membership_id}"


def parse_key(key: str) -> tuple[int, int] | None:
    parts = key.split(":")
    if len(parts) != 4 or parts[0] != "release" or parts[2] != "member":
        return None
    if not (parts[1].isdigit() and parts[3].isdigit()):
        return None
    return int(parts[1]), int(parts[3])


def club(session: Session, ref: str) -> Club:
    """By id or name."""
    row = session.get(Club, int(ref)) if ref.isdigit() and len(ref) <= 9 else None
    row = row or session.exec(select(Club).where(Club.name == ref)).first()
    if row is None:
        raise NotFound(f"unknown club {ref[:80]!r}", field="club")
    return row


def clubs(session: Session) -> list[Club]:
    return list(session.exec(select(Club).order_by(col(Club.name))).all())


def tier(session: Session, club_id: int, ref: str) -> ClubTier:
    query = select(ClubTier).where(ClubTier.club_id == club_id)
    rows = session.exec(query).all()
    for row in rows:
        if row.name == ref or str(row.id) == ref:
            return row
    raise NotFound(f"unknown tier {ref[:80]!r} in this club", field="tier")


def tiers(session: Session, club_id: int) -> list[ClubTier]:
    query = select(ClubTier).where(ClubTier.club_id == club_id).order_by(col(ClubTier.id))
    return list(session.exec(query).all())


def release(session: Session, release_id: int) -> Release:
    row = session.get(Release, release_id)
    if row is None:
        raise NotFound(f"unknown release {release_id}", field="release")
    return row


def release_state(session: Session, release_id: int) -> tuple[int, int, str] | None:
    """(id, club id, status) of a release, without loading its snapshot."""
    query = select(Release.id, Release.club_id, Release.status).where(Release.id == release_id)
    row = session.exec(query).first()
    return None if row is None else (int(row[0] or 0), int(row[1]), str(row[2]))


def releases(session: Session, club_id: int | None = None) -> list[Release]:
    query = select(Release).order_by(col(Release.id))
    if club_id is not None:
        query = query.where(Release.club_id == club_id)
    return list(session.exec(query).all())


def lines(session: Session, release_id: int) -> list[ReleaseLine]:
    query = select(ReleaseLine).where(ReleaseLine.release_id == release_id)
    return list(session.exec(query.order_by(col(ReleaseLine.id))).all())


def membership(session: Session, membership_id: int) -> Membership:
    row = session.get(Membership, membership_id)
    if row is None:
        raise NotFound(f"unknown membership {membership_id}", field="membership")
    return row


def memberships(
    session: Session, club_id: int, *, only: set[int] | None = None
) -> list[Membership]:
    """The club's memberships (``only``: just these ids, for one member's view)."""
    query = select(Membership).where(Membership.club_id == club_id)
    if only is not None:
        query = query.where(col(Membership.id).in_(only))
    return list(session.exec(query.order_by(col(Membership.id))).all())


def shipments(
    session: Session, release_id: int, *, only: set[int] | None = None
) -> dict[int, Shipment]:
    """The release's shipments by membership id (``only``: of these memberships)."""
    query = select(Shipment).where(Shipment.release_id == release_id)
    if only is not None:
        query = query.where(col(Shipment.membership_id).in_(only))
    return {s.membership_id: s for s in session.exec(query).all()}


def shipment(session: Session, release_id: int, membership_id: int) -> Shipment | None:
    query = select(Shipment).where(
        Shipment.release_id == release_id, Shipment.membership_id == membership_id
    )
    return session.exec(query).first()


def customers(session: Session, ids: set[int]) -> dict[int, Customer]:
    if not ids:
        return {}
    rows = session.exec(select(Customer).where(col(Customer.id).in_(ids))).all()
    return {c.id or 0: c for c in rows}


def current_mandates(session: Session, ids: set[int]) -> dict[int, Mandate]:
    """Each mandate id -> the mandate now in force for it: a replaced card is followed to its
    replacement (``billing mandates replace`` / a card update)."""
    found: dict[int, Mandate] = {}
    wanted = set(ids)
    while wanted:
        rows = session.exec(select(Mandate).where(col(Mandate.id).in_(wanted))).all()
        for row in rows:
            found[row.id or 0] = row
        wanted = {r.replaced_by_id for r in rows if r.replaced_by_id} - set(found)
    result = {}
    for mandate_id in ids:
        mandate = found.get(mandate_id)
        seen = 0
        while mandate is not None and mandate.replaced_by_id and seen < 20:
            mandate, seen = found.get(mandate.replaced_by_id, mandate), seen + 1
        if mandate is not None:
            result[mandate_id] = mandate
    return result


def notices_sent(
    session: Session, release_id: int, membership_ids: set[int]
) -> dict[int, datetime]:
    """Membership id -> when its release notice email was accepted by the relay."""
    if not membership_ids:
        return {}
    keys = {charge_key(release_id, m): m for m in membership_ids}
    query = (
        select(Notice.key, Message.sent_at)
        .join(Message, col(Message.event_id) == col(Notice.event_id))
        .where(Notice.kind == NOTICE_KIND, col(Notice.key).in_(list(keys)),
               Message.channel == "email", Message.status == "sent")
    )  # fmt: skip
    return {keys[key]: at for key, at in session.exec(query).all() if at is not None}
