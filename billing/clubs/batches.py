"""A release's snapshot, its check and its charges in batches of members: each batch is its
own short transaction, so the store's write lock (SQLite's one writer) is held for one batch,
never for the whole release, and the engine's lanes go on between batches.

- **Snapshot**: the preview computed a batch of members at a time, stored in one short write
  (only if none was stored meanwhile: ``snapshot_at IS NULL``).
- **Check**: before anything is charged, every member's fresh row is compared with the
  snapshot, a batch at a time (reads only); any difference refuses the release.
- **Charge**: batch after batch in membership-id order. A batch re-reads its members' fresh
  rows and compares them with the snapshot *in the transaction that charges them*, so every
  charge made equals the snapshot to the cent. ``club_release.charged_through`` (the last
  membership id done) moves forward by a compare-and-set in the same transaction: a crash
  rolls the batch back whole and the next pass resumes after the last committed batch; a
  second worker that planned the same batch finds the cursor moved and charges nothing (and
  the door's unique (source, key) stands behind it). A difference found in a batch halts the
  release in ``processing`` with the refusal recorded (``billing releases approve`` accepts
  what the preview shows for the members not charged yet).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import update
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from billing.clubs import preview, rules, service
from billing.clubs import store as clubs_store
from billing.errors import NotFound
from billing.store import door, events
from billing.store.db import Store
from billing.store.tables import Membership, Release, Shipment

BATCH_MEMBERS = 200  # members per transaction (about 1 s of SQLite's write lock here)
ALL = 2**31 - 1  # ``charged_through`` once every batch is charged
NOT_CHARGED = ("skipped", "on_hold", "blocked", "cancelled")
T = TypeVar("T")
Fault = Callable[[str, int], None]  # (point, batch number): tests inject a crash there


@dataclass
class Step:
    """One batch's result: ``charges`` made; ``done`` when no member is left; ``halted`` when
    the release cannot go on (not processing, or a refusal to look at)."""

    charges: int = 0
    done: bool = False
    halted: bool = False
    differences: list[str] = field(default_factory=list)


def chunks(items: Sequence[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def light(session: Session, release_id: int) -> Release:
    """The release without its snapshot column (what ``preview.rows`` needs)."""
    query = select(Release).options(defer(Release.snapshot)).where(Release.id == release_id)  # type: ignore[arg-type]
    row = session.exec(query).first()
    if row is None:
        raise NotFound(f"unknown release {release_id}", field="release")
    return row


def take_snapshot(store: Store, release_id: int, *, now: datetime,
                  size: int = BATCH_MEMBERS) -> bool:  # fmt: skip
    """Store the preview of every member of the club as the release's snapshot; False when
    one was already stored (by another worker meanwhile)."""
    with store.transaction() as session:
        release = light(session, release_id)
        if release.snapshot_at is not None or release.status != "open":
            return False
        query = select(Membership.id).where(Membership.club_id == release.club_id)
        ids = sorted(int(m or 0) for m in session.exec(query).all())
    rows: list[dict[str, Any]] = []
    for part in chunks(ids, size):
        with store.transaction() as session:
            rows += preview.rows(session, light(session, release_id), only=set(part), now=now)
    with store.transaction() as session:
        moved = session.execute(
            update(Release).where(col(Release.id) == release_id,
                                  col(Release.snapshot_at).is_(None),
                                  col(Release.status) == "open")
            .values(snapshot=rows, snapshot_at=now)
        )  # fmt: skip
        if int(moved.rowcount) != 1:  # type: ignore[attr-defined]
            return False
        events.emit(session, at=now, entity="release", entity_id=release_id, type="snapshot",
                    members=len(rows))  # fmt: skip
        return True


def _keyed(snapshot: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(snapshot, key=lambda r: int(r["membership_id"]))


def check(store: Store, release_id: int, snapshot: Sequence[dict[str, Any]], *,
          now: datetime, size: int = BATCH_MEMBERS) -> list[str]:  # fmt: skip
    """The differences between the snapshot and a fresh preview of its members, a batch at a
    time (members who joined after the cutoff are in no release: not compared)."""
    found: list[str] = []
    for part in chunks(_keyed(snapshot), size):
        with store.transaction() as session:
            release = light(session, release_id)
            fresh = preview.rows(session, release, only={int(r["membership_id"]) for r in part},
                                 now=now)  # fmt: skip
        found += rules.differences(part, fresh)
    return found


def remaining(release: Release) -> list[dict[str, Any]]:
    """The snapshot's rows not charged yet (after the cursor), in membership-id order."""
    done = release.charged_through
    if done == ALL:
        return []
    return [r for r in _keyed(release.snapshot or []) if int(r["membership_id"]) > done]


def charge_next(store: Store, release_id: int, *, now: datetime, size: int = BATCH_MEMBERS,
                number: int = 0, fault: Fault | None = None) -> Step:  # fmt: skip
    """Charge the next batch of a processing release (one transaction)."""
    with store.transaction() as session:
        release = light(session, release_id)
        if release.status != "processing" or release.refused:
            return Step(halted=True)
        if release.charged_through == ALL:
            return Step(done=True)
        left = remaining(release)  # reads the snapshot (deferred) now
        part = left[:size]
        if not part:
            return Step(done=_claim(session, release_id, release.charged_through, ALL))
        if fault is not None:
            fault("planned", number)
        ids = {int(r["membership_id"]) for r in part}
        fresh = preview.rows(session, release, only=ids, now=now)
        diffs = rules.differences(part, fresh)
        if diffs:
            refuse(session, release, diffs, now=now)
            return Step(halted=True, differences=diffs)
        last = ALL if len(left) <= size else max(ids)
        if not _claim(session, release_id, release.charged_through, last):
            return Step()  # another worker charged this batch: go on after it
        charges = _charge(session, release, fresh, now)
        if fault is not None:
            fault("charged", number)
        return Step(charges=charges, done=last == ALL)


def _claim(session: Session, release_id: int, cursor: int, new: int) -> bool:
    """Move the cursor from ``cursor`` to ``new``: on PostgreSQL the row lock makes a second
    worker wait here, then find the cursor moved (zero rows) and charge nothing."""
    moved = session.execute(
        update(Release).where(col(Release.id) == release_id, col(Release.charged_through) == cursor,
                              col(Release.status) == "processing")
        .values(charged_through=new)
    )  # fmt: skip
    return int(moved.rowcount) == 1  # type: ignore[attr-defined]


def _charge(session: Session, release: Release, fresh: list[dict[str, Any]], now: datetime) -> int:
    rid = release.id or 0
    shipments = clubs_store.shipments(session, rid, only={int(r["membership_id"]) for r in fresh})
    # Held here so the session's (weak) identity map keeps them: the door reads each mandate.
    mandates = clubs_store.current_mandates(
        session, {int(r["mandate_id"]) for r in fresh if r["mandate_id"] is not None}
    )
    made = sum(_settle_row(session, release, row, shipments, now) for row in fresh)
    del mandates
    return made


def _settle_row(
    session: Session, release: Release, row: dict[str, Any], shipments: dict[int, Shipment],
    now: datetime,
) -> int:  # fmt: skip
    """The member's shipment follows the snapshot; a chargeable one gets its door charge. Safe
    to repeat: an existing charge is left as it is, and so is its shipment's status."""
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
    if ship.charge_id != put.charge.id or put.outcome in ("created", "updated"):
        ship.status = "charging"
    ship.amount_cents, ship.charge_id = row["amount_cents"], put.charge.id
    return 1 if put.outcome == "created" else 0


def refuse(session: Session, release: Release, diffs: list[str], *, now: datetime) -> None:
    """Record the differences (shown by ``billing releases preview`` and ``process``); one
    ``refused`` event per new set of differences."""
    text = "; ".join(diffs)[:2000]
    if release.refused != text:
        release.refused = text
        events.emit(session, at=now, entity="release", entity_id=release.id or 0,
                    type="refused", differences=len(diffs))  # fmt: skip


def charge_all(store: Store, release_id: int, *, now: datetime, size: int = BATCH_MEMBERS,
               fault: Fault | None = None) -> Step:  # fmt: skip
    """Batches until none is left or the release halts; the charges made by this call."""
    total, number = Step(), 0
    while True:
        step = charge_next(store, release_id, now=now, size=size, number=number, fault=fault)
        total.charges += step.charges
        if step.done or step.halted:
            total.done, total.halted, total.differences = step.done, step.halted, step.differences
            return total
        number += 1
