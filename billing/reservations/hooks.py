"""What the engine tells the reservations package about its fee charges (``door.HOOKS``).

Paid, or failed for good: the reservation closes and its consent ends. A retry may never land
after the last moment: the retry schedule is cut there, and a retry that still would is withdrawn.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlmodel import Session

from billing.domain.dunning import DunningPolicy
from billing.reservations import fees, policies, rules
from billing.store import door, events
from billing.store.db import Store
from billing.store.tables import Charge, Reservation


def _reservation(session: Session, charge: Charge) -> Reservation | None:
    prefix = f"{fees.SOURCE}:"
    ref = (charge.source_key or "").removeprefix(prefix)
    return session.get(Reservation, int(ref)) if ref.isdigit() else None


def _last_moment(session: Session, reservation: Reservation) -> datetime:
    return rules.last_moment(policies.to_rules(fees.policy_of(session, reservation)),
                             reservation.slot_at)  # fmt: skip


def policy(session: Session, charge: Charge, default: DunningPolicy) -> DunningPolicy:
    """The configured retry days that still fall before the last moment."""
    reservation = _reservation(session, charge)
    if reservation is None:
        return default
    last = _last_moment(session, reservation)
    first = charge.first_declined_at or charge.due_at
    days = tuple(d for d in default.retry_days if first + timedelta(days=d) <= last)
    return replace(default, retry_days=days)


def changed(session: Session, charge: Charge, what: str, now: datetime) -> None:
    reservation = _reservation(session, charge)
    if reservation is None:
        return
    events.emit(session, at=now, entity="reservation", entity_id=reservation.id or 0,
                type=f"fee_{what}", charge_id=charge.id,
                amount_cents=charge.amount_cents)  # fmt: skip
    if what in ("paid", "failed"):
        fees.close(session, reservation, why=f"fee {what}", now=now)
        return
    too_late = charge.next_attempt_at > _last_moment(session, reservation)
    if what == "retry_scheduled" and too_late and door.withdraw(
        session, fees.SOURCE, fees.key(reservation), reason="no retry after the last moment",
        now=now,
    ):  # fmt: skip
        fees.close(session, reservation, why="fee declined; no retry after the last moment",
                   now=now)  # fmt: skip


def materialize(store: Store, now: datetime) -> int:
    """Once per pass of the engine's materialize lane: close the reservations past their last
    moment (an unstarted fee withdrawn, the consent ended), so a reservation system that goes
    quiet after a no-show never leaves a fee or a card-on-file behind. It
    makes no charge, so it returns 0."""
    from billing.reservations import service  # the API's use cases: only when the lane runs

    with store.transaction() as session:
        service.close_overdue(session, now)
    return 0
