"""Processing a release: the snapshot at the cutoff, the check that nothing changed, the
charge of each chargeable member through the narrow door, and the release's completion.

Runs from the engine's materialize lane (``billing.clubs.hooks.materialize``: the engine calls
every registered source's ``materialize`` once per pass, and knows nothing of clubs) and from
``billing releases process`` (the same use case, for one release, at once). Everything goes in
batches of members, each its own short transaction (``billing.clubs.batches``): a release of
10,000 members never holds the store's write lock for long. Both are safe to repeat, to
interrupt and to run in several workers at the same time: the release moves open ->
processing in one conditional UPDATE, each batch moves the release's cursor by a
compare-and-set in the transaction that charges it, and each charge is unique per (source
"club", key "release:{id}:member:{membership_id}") in the store.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from billing.clubs import batches, notices, rules
from billing.clubs import store as clubs_store
from billing.domain.states import ChargeStatus, MandateStatus
from billing.errors import DomainError
from billing.manage import cards
from billing.store import events
from billing.store.db import Store
from billing.store.tables import Charge, Club, Mandate, Release, Shipment

log = logging.getLogger(__name__)
SETTLED = (ChargeStatus.PAID, ChargeStatus.FAILED, ChargeStatus.CANCELLED,
           ChargeStatus.NEEDS_ATTENTION)  # fmt: skip
RETRYABLE = (ChargeStatus.RETRY_SCHEDULED, ChargeStatus.NEEDS_ATTENTION)


@dataclass
class Outcome:
    """``processed``: the release is processing (its batches charged by this call: ``charges``;
    ``done``: every batch is charged); else ``why`` (and ``differences`` when refused)."""

    release_id: int
    processed: bool
    charges: int = 0
    differences: list[str] = field(default_factory=list)
    why: str = ""
    done: bool = False


def process(
    store: Store, release_id: int, *, now: datetime, size: int = batches.BATCH_MEMBERS,
    fault: batches.Fault | None = None,
) -> Outcome:  # fmt: skip
    """Charge the release as previewed at the cutoff (resuming after the last batch charged),
    or say why not (nothing charged). ``fault``: tests interrupt it between batches."""
    with store.transaction() as session:
        release = batches.light(session, release_id)
        status = release.status
    if status == "open":
        started = _start(store, release_id, now=now, size=size)
        if not started.processed:
            return started
    elif status != "processing":
        return Outcome(release_id, False, why=f"the release is {status}")
    step = batches.charge_all(store, release_id, now=now, size=size, fault=fault)
    if step.differences:
        return Outcome(release_id, False, charges=step.charges, differences=step.differences,
                       why="the preview changed since the cutoff")  # fmt: skip
    return Outcome(release_id, True, charges=step.charges, done=step.done)


def _start(store: Store, release_id: int, *, now: datetime, size: int) -> Outcome:
    """open -> processing, once the snapshot exists, the release is approved and a fresh
    preview of every member equals the snapshot."""
    with store.transaction() as session:
        release = batches.light(session, release_id)
        if now < release.cutoff_at:
            return Outcome(release_id, False,
                           why=f"before the cutoff ({release.cutoff_at.isoformat()})")  # fmt: skip
        taken = release.snapshot_at
    if taken is None:
        batches.take_snapshot(store, release_id, now=now, size=size)
    with store.transaction() as session:
        release = clubs_store.release(session, release_id)
        club = session.get(Club, release.club_id)
        assert club is not None
        if release.approved_at is None and not club.auto_approve:
            return Outcome(release_id, False, why="not approved (billing releases approve)")
        snapshot, taken = list(release.snapshot or []), release.snapshot_at
    diffs = batches.check(store, release_id, snapshot, now=now, size=size)
    with store.transaction() as session:
        release = batches.light(session, release_id)
        if release.status != "open" or release.snapshot_at != taken:
            return Outcome(release_id, False, why="another worker is processing it")
        if diffs:
            batches.refuse(session, release, diffs, now=now)
            return Outcome(release_id, False, differences=diffs,
                           why="the preview changed since the cutoff")  # fmt: skip
        moved = session.execute(
            update(Release).where(col(Release.id) == release_id, col(Release.status) == "open",
                                  col(Release.snapshot_at) == taken)
            .values(status="processing", refused=None, charged_through=0)
        )  # fmt: skip
        if int(moved.rowcount) != 1:  # type: ignore[attr-defined]
            return Outcome(release_id, False, why="another worker is processing it")
        events.emit(session, at=now, entity="release", entity_id=release_id, type="processing",
                    members=len(snapshot))  # fmt: skip
    return Outcome(release_id, True)


def process_ref(store: Store, release_id: int, *, now: datetime) -> Outcome:
    """``billing releases process``: refuse with the reason when the release cannot process
    (a refusal with differences is recorded and returned, not raised). A release interrupted
    part-way is resumed; one whose every batch is charged is refused."""
    with store.transaction() as session:
        before = batches.light(session, release_id).status
    outcome = process(store, release_id, now=now)
    if before == "processing" and outcome.done and outcome.charges == 0:
        outcome = Outcome(release_id, False, why="the release is processing (every batch is "
                          "charged; the engine collects them)")  # fmt: skip
    if not outcome.processed and not outcome.differences:
        raise DomainError(f"release {release_id} not processed: {outcome.why}", field="release")
    return outcome


def complete(session: Session, release: Release, *, now: datetime) -> bool:
    """processing -> processed once every batch is charged and no charge of it is open."""
    if release.status != "processing" or release.charged_through != batches.ALL:
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
    process the approved ones batch by batch (resuming an interrupted one), complete the
    finished ones. Returns charges created. The release notices now due are created first
    (``billing.clubs.notices``)."""
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
            outcome = process(store, release_id or 0, now=now)
            made += outcome.charges
            if outcome.done:
                with store.transaction() as session:
                    complete(session, batches.light(session, release_id or 0), now=now)
        except Exception:  # one release's fault must not stop the lane (its batch rolled back)
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
