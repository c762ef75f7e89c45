"""The narrow door: how a business package (clubs, events, reservations) makes charges.

The engine collects charges; it does not know why they exist. A package describes the charge
it wants (``ChargeSpec``) under its own name (``source``) and a key of its own choosing (a
release and member, an event milestone, a reservation); ``put`` creates that charge, or updates
it while nothing has been sent for it, in the caller's transaction. (source, key) is unique in
the store, so a re-run, a restart or a second worker never makes a second charge.

Once the engine has started a charge (claimed it, or an attempt exists), its amount and date are
fixed: ``put`` then changes nothing and says so (``Put.outcome == "started"``), and the package
decides what that means (a paid milestone never changes). ``withdraw`` cancels a charge that has
not been started; one in flight finishes.

The engine calls back the package, in the same transaction as its own change, through the hook
module named in ``HOOKS``. A hook module may define:

- ``policy(session, charge, default) -> DunningPolicy``: the retry schedule for this charge;
- ``changed(session, charge, what, now) -> None``: after the engine moved the charge to
  ``what`` (``paid``, ``retry_scheduled``, ``failed``, ``needs_attention``);
- ``veto(session, charge, now) -> str | None``: asked when the engine has claimed the charge,
  before anything is sent: a reason holds it for a human (``needs_attention``) unsent;
- ``mandates_in_use(session, ids) -> set[int]``: those mandates the package still charges
  under a live consent (a club membership): the engine keeps them when another purpose ends;
- ``materialize(store, now) -> int``: called once per pass of the engine's materialize lane
  (``materialize_sources``), in the package's own transactions: where a package turns its
  business objects into charges when they fall due (a club release at its cutoff).

A package ends a consent with ``end_purpose``: the engine revokes the mandate at Toast once
nothing is in flight on it (``hot.ENDED_MANDATES``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from types import ModuleType
from typing import Any, Literal

from sqlalchemy import update
from sqlmodel import Session, col, select

from billing.domain import money, purpose
from billing.domain.dunning import DunningPolicy
from billing.domain.states import ChargeStatus, MandateStatus, PlanKind
from billing.errors import DomainError
from billing.store import events
from billing.store.tables import Charge, Mandate

# source -> the module the engine calls back (see the module docstring). One line per package.
HOOKS: dict[str, str] = {
    "club": "billing.clubs.hooks",
    "event": "billing.events.hooks",
    "reservation": "billing.reservations.hooks",
}

# A charge in one of these states, with no lease, has nothing in flight: it may still change.
OPEN_UNSTARTED = (ChargeStatus.SCHEDULED, ChargeStatus.RETRY_SCHEDULED)
WITHDRAWABLE = (*OPEN_UNSTARTED, ChargeStatus.NEEDS_ATTENTION)

Outcome = Literal["created", "updated", "unchanged", "started"]


@dataclass(frozen=True)
class ChargeSpec:
    """The charge a package wants. ``kind`` is the standing instruction the charge is made
    under: it must be the mandate's own type (a mandate is consent for one purpose)."""

    source: str
    key: str
    mandate_id: int
    kind: PlanKind
    amount_cents: int
    due_at: datetime
    check_item: str
    reason: str | None = None
    currency: str = "USD"


@dataclass(frozen=True)
class Put:
    charge: Charge
    outcome: Outcome


def find(session: Session, source: str, key: str) -> Charge | None:
    query = select(Charge).where(Charge.source == source, Charge.source_key == key)
    return session.exec(query).first()


def of_source(session: Session, source: str, keys: list[str]) -> dict[str, Charge]:
    """The charges of ``source`` under ``keys``, by key (keys without one are absent)."""
    if not keys:
        return {}
    query = select(Charge).where(Charge.source == source, col(Charge.source_key).in_(keys))
    return {c.source_key or "": c for c in session.exec(query).all()}


def put(session: Session, spec: ChargeSpec, *, now: datetime) -> Put:
    """Create the charge for (source, key), or bring an unstarted one up to ``spec``."""
    _check(spec)
    mandate = _chargeable_mandate(session, spec)
    existing = find(session, spec.source, spec.key)
    if existing is None:
        return Put(_create(session, spec, mandate, now), "created")
    values = _values(spec, mandate)
    current = {name: getattr(existing, name) for name in values}
    if current == values:
        return Put(existing, "unchanged")
    if not _update_unstarted(session, existing, values):
        return Put(existing, "started")
    session.refresh(existing)
    changed = {k: str(v) for k, v in values.items() if current[k] != v}
    events.emit(
        session, at=now, entity="charge", entity_id=existing.id or 0, type="updated",
        source=spec.source, key=spec.key, **changed,
    )  # fmt: skip
    return Put(existing, "updated")


def withdraw(session: Session, source: str, key: str, *, reason: str, now: datetime) -> bool:
    """Cancel the charge for (source, key) unless it is in flight or settled. True when it was
    cancelled here (or there was none to cancel: nothing will be collected)."""
    charge = find(session, source, key)
    if charge is None:
        return True
    if charge.status == ChargeStatus.CANCELLED:
        return True
    statement = (
        update(Charge)
        .where(col(Charge.id) == charge.id, col(Charge.status).in_(WITHDRAWABLE))
        .where(col(Charge.lease_owner).is_(None))
        .values(status=ChargeStatus.CANCELLED, settled_at=now, next_attempt_at=now)
    )
    if _rowcount(session.execute(statement)) != 1:
        return False
    session.refresh(charge)
    events.emit(
        session, at=now, entity="charge", entity_id=charge.id or 0, type="cancelled",
        source=source, key=key, reason=reason[:200],
    )  # fmt: skip
    return True


def hold(session: Session, charge: Charge, *, why: str, now: datetime) -> bool:
    """Hold an unstarted charge for a human (``billing attention``); False if in flight."""
    statement = (
        update(Charge)
        .where(col(Charge.id) == charge.id, col(Charge.status).in_(OPEN_UNSTARTED))
        .where(col(Charge.lease_owner).is_(None))
        .values(status=ChargeStatus.NEEDS_ATTENTION)
    )
    if _rowcount(session.execute(statement)) != 1:
        return False
    session.refresh(charge)
    events.emit(
        session, at=now, entity="charge", entity_id=charge.id or 0, type="needs_attention",
        reason=why[:200],
    )  # fmt: skip
    return True


def end_purpose(session: Session, mandate_id: int, *, now: datetime) -> None:
    """The consent behind this mandate has served its purpose: revoke it once nothing is in
    flight on it. Idempotent."""
    mandate = session.get(Mandate, mandate_id)
    if mandate is None or mandate.purpose_ended_at is not None:
        return
    mandate.purpose_ended_at = now
    session.add(mandate)
    events.emit(session, at=now, entity="mandate", entity_id=mandate_id, type="purpose_ended")


def policy(session: Session, charge: Charge, default: DunningPolicy) -> DunningPolicy:
    """The retry policy the charge's package chooses (``default`` when it has none)."""
    hook = _hook(charge.source)
    chooser = getattr(hook, "policy", None) if hook is not None else None
    return default if chooser is None else chooser(session, charge, default)


def changed(session: Session, charge: Charge, what: str, *, now: datetime) -> None:
    """Tell the charge's package the engine moved it to ``what``."""
    hook = _hook(charge.source)
    callback = getattr(hook, "changed", None) if hook is not None else None
    if callback is not None:
        session.flush()
        callback(session, charge, what, now)
        session.flush()


def veto(session: Session, charge_id: int, source: str, *, now: datetime) -> str | None:
    """Why the charge's package refuses to have it sent now (None: send it)."""
    hook = _hook(source)
    judge = getattr(hook, "veto", None) if hook is not None else None
    charge = session.get(Charge, charge_id) if judge is not None else None
    if judge is None or charge is None:
        return None
    why: str | None = judge(session, charge, now)
    session.flush()
    return why
def in_use(session: Session, mandate_ids: set[int]) -> set[int]:
    """Those of ``mandate_ids`` a package still charges under a live consent of its own (its
    hook's ``mandates_in_use``): the engine does not revoke them."""
    live: set[int] = set()
    for source in sorted(HOOKS):
        ask = getattr(_hook(source), "mandates_in_use", None)
        if ask is not None and mandate_ids:
            live |= set(ask(session, mandate_ids))
    return live


def materialize_sources(store: Any, *, now: datetime) -> int:
    """Run each registered package's ``materialize`` (the engine's materialize lane)."""
    made = 0
    for source in sorted(HOOKS):
        callback = getattr(_hook(source), "materialize", None)
        if callback is not None:
            made += int(callback(store, now))
    return made


def _hook(source: str | None) -> ModuleType | None:
    if source is None or source not in HOOKS:
        return None
    return _import(HOOKS[source])


@cache
def _import(name: str) -> ModuleType:
    return importlib.import_module(name)


def _check(spec: ChargeSpec) -> None:
    if not spec.source or len(spec.source) > 16:
        raise DomainError("source must be 1 to 16 characters", field="source")
    if not spec.key or len(spec.key) > 128:
        raise DomainError("key must be 1 to 128 characters", field="key")
    money.validate_amount(spec.amount_cents, field="amount")


def _chargeable_mandate(session: Session, spec: ChargeSpec) -> Mandate:
    mandate = session.get(Mandate, spec.mandate_id)
    if mandate is None:
        raise DomainError(f"no mandate {spec.mandate_id}", field="mandate")
    if mandate.status != MandateStatus.ACTIVE:
        raise DomainError(f"mandate {spec.mandate_id} is {mandate.status}", field="mandate")
    purpose.require(mandate.standing_instruction, spec.kind, mandate_id=spec.mandate_id)
    return mandate


def _values(spec: ChargeSpec, mandate: Mandate) -> dict[str, Any]:
    return {
        "mandate_id": spec.mandate_id,
        "amount_cents": spec.amount_cents,
        "currency": spec.currency,
        "location_guid": mandate.location_guid,
        "check_item": spec.check_item[:200],
        "reason": None if spec.reason is None else spec.reason[:200],
        "due_at": spec.due_at,
    }


def _create(session: Session, spec: ChargeSpec, mandate: Mandate, now: datetime) -> Charge:
    charge = Charge(
        source=spec.source,
        source_key=spec.key,
        kind=PlanKind(spec.kind),
        status=ChargeStatus.SCHEDULED,
        next_attempt_at=spec.due_at,
        created_at=now,
        **_values(spec, mandate),
    )
    session.add(charge)
    session.flush()
    events.emit(
        session, at=now, entity="charge", entity_id=charge.id or 0, type="created",
        source=spec.source, key=spec.key, amount_cents=spec.amount_cents,
    )  # fmt: skip
    return charge


def _update_unstarted(session: Session, charge: Charge, values: dict[str, Any]) -> bool:
    """One conditional UPDATE: it re-checks, under the row lock, that the engine has not
    claimed the charge since it was read (READ COMMITTED re-evaluates the WHERE). A charge
    retrying after a decline keeps the retry date dunning chose."""
    if charge.status not in OPEN_UNSTARTED or charge.lease_owner is not None:
        return False
    moved = dict(values)
    if charge.status == ChargeStatus.SCHEDULED:  # a retry keeps dunning's date
        moved["next_attempt_at"] = values["due_at"]
    statement = (
        update(Charge)
        .where(col(Charge.id) == charge.id, col(Charge.status) == charge.status)
        .where(col(Charge.lease_owner).is_(None))
        .values(**moved)
    )
    session.flush()
    return _rowcount(session.execute(statement)) == 1


def _rowcount(result: Any) -> int:
    return int(result.rowcount)
