"""Processing a release: the snapshot at the cutoff, the charge of each chargeable member
through the narrow door, and the release's completion.

Runs from the engine's materialize lane (``billing.clubs.hooks.materialize``: the engine calls
every registered source's ``materialize`` once per pass, and knows nothing of clubs) and from
``billing releases process`` (the same use case, for one release, at once). Both are safe to
repeat and to run in several workers at the same time: a release moves open -> processing in
one conditional UPDATE with its charges in the same transaction, and each charge is unique per
(source "club", key "release:{id}:member:{membership_id}") in the store.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from billing.clubs import notices, preview, rules, service
from billing.clubs import store as clubs_store
from billing.domain.states import ChargeStatus, MandateStatus
from billing.errors import DomainError
from billing.manage import cards
from billing.store import door, events
from billing.store.db import Store
from billing.store.tables import Charge, Club, Mandate, Release, Shipment

log = logging.getLogger(__name__)
SETTLED = (ChargeStatus.PAID, ChargeStatus.FAILED, ChargeStatus.CANCELLED,
           ChargeStatus.NEEDS_ATTENTION)  # fmt: skip
RETRYABLE = (ChargeStatus.RETRY_SCHEDULED, ChargeStatus.NEEDS_ATTENTION)
NOT_CHARGED = ("skipped", "on_hold", "blocked", "cancelled")


@dataclass
class Outcome:
    release_id: int
    processed: bool
    charges: int = 0
    differences: list[str] = field(default_factory=list)
    why: str = ""


def take_snapshot(session: Session, release: Release, *, now: datetime) -> None:
    release.snapshot = preview.rows(session, release, now=now)
    release.snapshot_at = now
    events.emit(session, at=now, entity="release", entity_id=release.id or 0, type="snapshot",
                members=len(release.snapshot))  # fmt: skip


def process(session: Session, release: Release, *, now: datetime) -> Outcome:
    """Charge the release as previewed at the cutoff, or say why not (nothing charged)."""
    rid = release.id or 0
    if release.status != "open":
        return Outcome(rid, False, why=f"the release is {release.status}")
    if now < release.cutoff_at:
        return Outcome(rid, False, why=f"before the cutoff ({release.cutoff_at.isoformat()})")
    club = session.get(Club, release.club_id)
    assert club is not None
    if release.snapshot is None:
        take_snapshot(session, release, now=now)
    if release.approved_at is None and not club.auto_approve:
        return Outcome(rid, False, why="not approved (billing releases approve)")
    fresh = preview.rows(session, release, now=now)
    diffs = rules.differences(release.snapshot or [], fresh)
    if diffs:
        text = "; ".join(diffs)
        if release.refused != text[:2000]:
            release.refused = text[:2000]
            events.emit(session, at=now, entity="release", entity_id=rid, type="refused",
                        differences=len(diffs))  # fmt: skip
        return Outcome(rid, False, differences=diffs,
                       why="the preview changed since the cutoff")  # fmt: skip
    moved = session.execute(
        update(Release).where(col(Release.id) == rid, col(Release.status) == "open")
        .values(status="processing", refused=None)
    )  # fmt: skip
    if int(moved.rowcount) != 1:  # type: ignore[attr-defined]
        return Outcome(rid, False, why="another worker is processing it")
    session.refresh(release)
    shipments = clubs_store.shipments(session, rid)
    # Held here so the session's (weak) identity map keeps them: the door reads each mandate.
    mandates = clubs_store.current_mandates(
        session, {int(r["mandate_id"]) for r in fresh if r["mandate_id"] is not None}
    )
    charges = 0
    for row in fresh:
        charges += _settle_row(session, release, row, shipments, now)
    events.emit(session, at=now, entity="release", entity_id=rid, type="processing",
                charges=charges, mandates=len(mandates))  # fmt: skip
    return Outcome(rid, True, charges=charges)


def _settle_row(
    session: Session, release: Release, row: dict[str, Any], shipments: dict[int, Shipment],
    now: datetime,
) -> int:  # fmt: skip
    category, member_id = row["category"], int(row["membership_id"])
    if category in ("not_eligible", "shipped_now"):
        return 0
    ship = shipments.get(member_id)
    if ship is None:
        ship = Shipment(release_id=release.id or 0, membership_id=member_id, updated_at=now)
        session.add(ship)
    ship.updated_at = now
    if category in NOT_CHARGED:
        ship.status, ship.reason = category, (row["reason"] or "")[:200] or None
        return 0
    put = door.put(session, service._spec(release, row, due_at=release.process_at), now=now)
    ship.status, ship.amount_cents, ship.charge_id = "charging", row["amount_cents"], put.charge.id
    return 1


def process_ref(session: Session, release_id: int, *, now: datetime) -> Outcome:
    """``billing releases process``: refuse with the reason when the release cannot process."""
    release = clubs_store.release(session, release_id)
    outcome = process(session, release, now=now)
    if not outcome.processed and not outcome.differences:
        raise DomainError(f"release {release_id} not processed: {outcome.why}", field="release")
    return outcome


def complete(session: Session, release: Release, *, now: datetime) -> bool:
    """processing -> processed once no charge of it is open."""
    if release.status != "processing":
        return False
    keys = select(Shipment.charge_id).where(
        Shipment.release_id == release.id, col(Shipment.charge_id).is_not(None)
    )
    open_count = session.exec(
        select(func.count()).select_from(Charge).where(
            col(Charge.id).in_(keys), col(Charge.status).not_in(SETTLED)
        )
    ).one()
    if int(open_count) > 0:
        return False
    release.status = rules.release_move(release.status, "processed")
    release.processed_at = now
    events.emit(session, at=now, entity="release", entity_id=release.id or 0, type="processed")
    return True


def run(store: Store, *, now: datetime) -> int:
    """One pass (the engine's materialize lane): snapshot releases whose cutoff has passed,
    process the approved ones, complete the finished ones. Returns charges created. The
    release notices now due are created first (``billing.clubs.notices``)."""
    notices.scan(store, now=now)
    with store.transaction() as session:
        due = session.exec(
            select(Release.id).where(
                col(Release.status).in_(("open", "processing")),
                col(Release.cutoff_at) <= now,
            )
        ).all()
    made = 0
    for release_id in due:
        try:
            with store.transaction() as session:
                release = session.get(Release, release_id)
                if release is None:
                    continue
                if release.status == "open":
                    made += process(session, release, now=now).charges
                else:
                    complete(session, release, now=now)
        except Exception:  # one release's fault must not stop the lane (nothing committed)
            log.exception("club release %s: processing pass failed", release_id)
    follow_card_updates(store, now=now)
    return made


def follow_card_updates(store: Store, *, now: datetime) -> int:
    """A member replaced their card (any path that sets ``replaced_by_id``: the enrollment
    API's card replacement, ``cards.replace_mandate``): their club charges in rebilling or held
    for an expired card move to the new card and are re-attempted at once, once (the moved
    charge no longer points at a replaced mandate). Archived releases are never re-attempted
    (their charges were withdrawn). Returns how many moved."""
    with store.transaction() as session:
        query = (
            select(Charge)
            .join(Mandate, col(Mandate.id) == Charge.mandate_id)
            .where(Charge.source == clubs_store.SOURCE)
            .where(col(Charge.status).in_(RETRYABLE), col(Charge.lease_owner).is_(None))
            .where(col(Mandate.replaced_by_id).is_not(None))
        )
        charges = list(session.exec(query).all())
        if not charges:
            return 0
        current = clubs_store.current_mandates(session, {c.mandate_id for c in charges})
        moved = 0
        for charge in charges:
            ids = clubs_store.parse_key(charge.source_key or "")
            release = clubs_store.release_state(session, ids[0]) if ids else None
            new = current.get(charge.mandate_id)
            if release is None or release[2] == "archived" or new is None:
                continue
            if new.id == charge.mandate_id or new.status != MandateStatus.ACTIVE:
                continue
            moved += cards.move_charges(session, [charge], new, now=now)
        return moved
