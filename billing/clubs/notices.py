"""Release notices: before a release is charged each chargeable member is told (club, release,
their amount as previewed, the edit cutoff in the location's zone, how to skip or customize).

The scan runs in the clubs' materialize lane (``billing.clubs.process.run``): for each open
release inside its notice window it commits one ``release_notice`` event per chargeable member,
with a ``notice`` row whose (kind, key) is unique, so however many workers scan, a member is
told once per release. Only the members not told yet are previewed, in batches (each its
own short transaction: the store's write lock is never held for a whole club). The outbox
(``billing.notify``) turns the event into the email. The
preview asks ``store.notices_sent`` whether the email went out by the cutoff
(``rules.notice_blocks``).

A member who skips the release is not charged, so a notice of theirs that has not left yet is
**withdrawn** (``withdraw``): its email, if made, never goes (status ``withdrawn``: a
dispatcher holding it loses its claim), and its ``notice`` row is removed, so an event not
dispatched yet yields no email either (``billing.notify.facts``). Should they take the skip
back before the cutoff, they are chargeable again and are told again: the next scan makes a
new notice with the amount as it is then (within the window, at once). A notice already sent
(or on the wire) stands: the member was told. A hold that covers the release, or a
cancellation, withdraws the same way (``withdraw_not_chargeable``); a hold that ends before
the release is charged leaves the notice standing.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session, col, select

from billing.clubs import preview, rules
from billing.clubs import store as clubs_store
from billing.errors import DuplicateKey
from billing.notify.rules import EMAIL, Status
from billing.store import events
from billing.store.db import Store
from billing.store.tables import Club, Event, Membership, Message, Notice, Release

log = logging.getLogger(__name__)
KIND = clubs_store.NOTICE_KIND
BATCH_MEMBERS = 200  # members previewed per transaction
WITHDRAWABLE = (Status.PENDING, Status.CLAIMED, Status.FAILED)  # nothing of it has left


def scan(store: Store, *, now: datetime, size: int = BATCH_MEMBERS) -> int:
    """Create the release notices now due; returns how many were created. Only the members
    not told yet are previewed, ``size`` at a time, each batch its own transaction: a pass
    over a release whose members were all told reads two lists of ids."""
    with store.transaction() as session:
        query = select(Release.id).join(Club, col(Club.id) == col(Release.club_id)).where(
            Release.status == "open", col(Release.cutoff_at) > now, col(Club.notice_days) > 0
        )
        due = list(session.exec(query).all())
    created = 0
    for release_id in due:
        with store.transaction() as session:
            todo = _untold(session, release_id or 0, now)
        for start in range(0, len(todo), size):
            try:
                with store.transaction() as session:
                    created += _tell(session, release_id or 0, todo[start : start + size], now)
            except DuplicateKey:  # another worker told these members first: nothing committed
                log.info("release %s: notices created by another worker", release_id)
    return created


def _untold(session: Session, release_id: int, now: datetime) -> list[int]:
    """The members of the release's club not told yet, when its notice window is open."""
    release = clubs_store.release(session, release_id)
    club = clubs_store.club(session, str(release.club_id))
    if not rules.notice_due(now, cutoff_at=release.cutoff_at, days=club.notice_days):
        return []
    members = select(Membership.id).where(Membership.club_id == club.id,
                                          col(Membership.status) != "cancelled")  # fmt: skip
    prefix = clubs_store.charge_key(release_id, 0)[:-1]
    told = select(Notice.key).where(Notice.kind == KIND, col(Notice.key).startswith(prefix))
    done = {clubs_store.parse_key(k) for k in session.exec(told).all()}
    return sorted(int(m or 0) for m in session.exec(members).all()
                  if (release_id, int(m or 0)) not in done)  # fmt: skip


def _tell(session: Session, release_id: int, ids: list[int], now: datetime) -> int:
    release = clubs_store.release(session, release_id)
    club = clubs_store.club(session, str(release.club_id))
    rows = [r for r in preview.rows(session, release, only=set(ids), now=now)
            if r["category"] == "chargeable"]  # fmt: skip
    keys = {clubs_store.charge_key(release_id, int(r["membership_id"])): r for r in rows}
    if not keys:
        return 0
    done = set(session.exec(select(Notice.key).where(
        Notice.kind == KIND, col(Notice.key).in_(list(keys)))).all())  # fmt: skip
    created = 0
    for key, row in keys.items():
        if key in done:
            continue
        event = events.emit(
            session, at=now, entity="membership", entity_id=int(row["membership_id"]),
            type=KIND, release_id=release_id, club=club.name, title=release.title,
            amount_cents=int(row["amount_cents"]), cutoff_at=release.cutoff_at.isoformat(),
            process_at=release.process_at.isoformat(), timezone=club.timezone,
            lines=row.get("lines") or [],
        )  # fmt: skip
        session.flush()
        session.add(Notice(kind=KIND, key=key, event_id=event.id or 0, created_at=now))
        created += 1
    return created


def withdraw(
    session: Session, release_id: int, membership_id: int, *, now: datetime,
    why: str = "the member skipped the release",
) -> bool:  # fmt: skip
    """The member is not charged for this release (``why``): withdraw their release notice
    unless it has left (True when one was withdrawn). In the caller's transaction; the notice's
    event row is locked first (PostgreSQL), so a dispatcher enqueuing it either finishes first
    (its email is then withdrawn here) or skips it and later finds the notice gone."""
    key = clubs_store.charge_key(release_id, membership_id)
    notice = session.exec(select(Notice).where(Notice.kind == KIND, Notice.key == key)).first()
    if notice is None:
        return False
    session.exec(select(Event.id).where(Event.id == notice.event_id).with_for_update())
    query = select(Message).where(Message.event_id == notice.event_id, Message.channel == EMAIL)
    emails = list(session.exec(query.with_for_update()).all())
    if any(m.status not in WITHDRAWABLE for m in emails):
        return False  # sent, on the wire or maybe delivered: the member was told
    for email in emails:
        email.status, email.updated_at = Status.WITHDRAWN, now
        email.error = f"withdrawn: {why}"
    session.delete(notice)
    events.emit(session, at=now, entity="membership", entity_id=membership_id,
                type="release_notice_withdrawn", release_id=release_id, why=why,
                emails=len(emails))  # fmt: skip
    return True


def withdraw_not_chargeable(
    session: Session, membership_id: int, *, now: datetime, why: str
) -> int:
    """After a hold or a cancellation: withdraw the member's notices (not left yet) of open
    releases that would no longer charge them. A hold that ends before a release is charged
    leaves its notice standing. Returns how many were withdrawn."""
    told = select(Notice.key).where(Notice.kind == KIND,
                                    col(Notice.key).endswith(f":member:{membership_id}"))
    releases = sorted({k[0] for k in map(clubs_store.parse_key, session.exec(told).all())
                       if k is not None and k[1] == membership_id})  # fmt: skip
    withdrawn = 0
    for release_id in releases:
        release = clubs_store.release(session, release_id)
        if release.status != "open":
            continue  # approved or later: its charges and notices are the release's own affair
        [row] = preview.rows(session, release, only={membership_id}, now=now)
        if row["category"] != "chargeable" and withdraw(
            session, release_id, membership_id, now=now, why=why
        ):
            withdrawn += 1
    return withdrawn
