"""From the fee decision to the one door charge of a reservation, in the caller's transaction.

At most one charge per reservation: the door's (source, key) is unique ("reservation:{id}").
A fee is put due at the decision's earliest charge instant, so a no-show reverted inside the
confirmation delay withdraws it before the engine starts it. When the reservation closes
without a fee pending (seated, cancelled in time, waived, honoured after the last moment) or
its fee is settled (hooks), the consent ends: ``door.end_purpose``.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from billing.domain.states import ChargeStatus, MandateStatus, PlanKind
from billing.errors import InvalidTransition
from billing.reservations import policies, rules
from billing.store import door, events
from billing.store.tables import (
    Charge,
    Event,
    FeeAdjustment,
    FeeDecision,
    FeePolicy,
    Mandate,
    Reservation,
    ReservationReport,
)

SOURCE = "reservation"
# Charge states after which a fee can no longer be changed by staff.
STARTED = (ChargeStatus.PROCESSING, ChargeStatus.PAID, ChargeStatus.FAILED)


def key(reservation: Reservation) -> str:
    return f"reservation:{reservation.id}"


def policy_of(session: Session, reservation: Reservation) -> FeePolicy:
    row = session.get(FeePolicy, reservation.policy_id)
    assert row is not None
    return row


def history(session: Session, reservation: Reservation) -> list[ReservationReport]:
    query = (select(ReservationReport)
             .where(ReservationReport.reservation_id == reservation.id)
             .order_by(col(ReservationReport.id)))  # fmt: skip
    return list(session.exec(query).all())


def last_adjustment(session: Session, reservation: Reservation) -> FeeAdjustment | None:
    query = (select(FeeAdjustment).where(FeeAdjustment.reservation_id == reservation.id)
             .order_by(col(FeeAdjustment.id).desc()))  # fmt: skip
    return session.exec(query).first()


def reports(rows: list[ReservationReport]) -> list[rules.Report]:
    return [rules.Report(status=rules.Status(r.status), at=r.at, reported_at=r.reported_at)
            for r in rows]  # fmt: skip


def base_decision(session: Session, reservation: Reservation, now: datetime) -> rules.Decision:
    """The policy's decision before staff adjustments."""
    return rules.decide(
        policies.to_rules(policy_of(session, reservation)), party_size=reservation.party_size,
        slot=reservation.slot_at, history=reports(history(session, reservation)), now=now,
    )  # fmt: skip


def decision(session: Session, reservation: Reservation, now: datetime) -> rules.Decision:
    adj = last_adjustment(session, reservation)
    staff = None if adj is None else rules.Adjustment(
        amount_cents=adj.amount_cents, reason=adj.reason, staff=adj.staff)  # fmt: skip
    return rules.adjusted(base_decision(session, reservation, now), staff)


def recorded(session: Session, reservation: Reservation) -> rules.Decision | None:
    """The last decision taken (what was charged, or not, and why)."""
    query = (select(FeeDecision).where(FeeDecision.reservation_id == reservation.id)
             .order_by(col(FeeDecision.id).desc()))  # fmt: skip
    row = session.exec(query).first()
    if row is None:
        return None
    return rules.Decision(amount_cents=row.amount_cents, reason=row.reason,
                          charge_at=row.charge_at, last_moment=row.last_moment_at,
                          closed=reservation.closed_at is not None)  # fmt: skip


def charge_of(session: Session, reservation: Reservation) -> Charge | None:
    return door.find(session, SOURCE, key(reservation))


def apply(session: Session, reservation: Reservation, *, trigger: str, now: datetime
          ) -> rules.Decision:  # fmt: skip
    """Decide now, record the decision, and bring the charge (and the consent) in line."""
    made = decision(session, reservation, now)
    session.add(FeeDecision(
        reservation_id=reservation.id or 0, decided_at=now, trigger=trigger,
        amount_cents=made.amount_cents, reason=made.reason[:300], charge_at=made.charge_at,
        last_moment_at=made.last_moment,
    ))  # fmt: skip
    events.emit(session, at=now, entity="reservation", entity_id=reservation.id or 0,
                type="fee_decided", amount_cents=made.amount_cents, reason=made.reason[:200],
                trigger=trigger)  # fmt: skip
    if made.amount_cents is not None and made.charge_at is not None:
        _put(session, reservation, made, now)
    elif _withdrawn(session, reservation, made.reason, now):
        if made.closed:
            close(session, reservation, why=made.reason, now=now)
    elif _refund_due(session, reservation):
        # Charged, and now no fee is due (a no-show reverted after the delay): Toast has no
        # refund API, so staff are told what is owed back (once).
        charge = charge_of(session, reservation)
        assert charge is not None
        events.emit(session, at=now, entity="reservation", entity_id=reservation.id or 0,
                    type="refund_due", charge_id=charge.id, amount_cents=charge.amount_cents,
                    reason=made.reason[:200])  # fmt: skip
    return made


def _put(session: Session, reservation: Reservation, made: rules.Decision, now: datetime) -> None:
    assert made.amount_cents is not None
    assert made.charge_at is not None
    mandate = session.get(Mandate, reservation.mandate_id)
    if mandate is None or mandate.status != MandateStatus.ACTIVE:
        events.emit(session, at=now, entity="reservation", entity_id=reservation.id or 0,
                    type="fee_uncollectable", why="no active card-on-file for this reservation",
                    mandate_status=mandate.status if mandate else None)  # fmt: skip
        return
    policy = policy_of(session, reservation)
    spec = door.ChargeSpec(
        source=SOURCE, key=key(reservation), mandate_id=mandate.id or 0,
        kind=PlanKind.UNSCHEDULED, amount_cents=made.amount_cents, due_at=made.charge_at,
        check_item=f"{_cause(reservation)} fee, reservation {reservation.external_ref} - "
        f"{policies.label(policy)}",
        reason=made.reason,
    )  # fmt: skip
    put = door.put(session, spec, now=now)
    if put.outcome == "started" and put.charge.amount_cents != made.amount_cents:
        raise InvalidTransition("reservation fee", put.charge.status, "changed amount")


def _refund_due(session: Session, reservation: Reservation) -> bool:
    charge = charge_of(session, reservation)
    if charge is None or charge.status != ChargeStatus.PAID:
        return False
    told = select(Event.id).where(Event.entity == "reservation",
                                  Event.entity_id == reservation.id, Event.type == "refund_due")
    return session.exec(told).first() is None


def _cause(reservation: Reservation) -> str:
    return "No-show" if reservation.status == rules.Status.NO_SHOW else "Late-cancellation"


def _withdrawn(session: Session, reservation: Reservation, reason: str, now: datetime) -> bool:
    """Withdraw the pending charge, if any. False when one is in flight or settled (its
    outcome, told through the hooks, closes the reservation)."""
    charge = charge_of(session, reservation)
    if charge is None or charge.status == ChargeStatus.CANCELLED:
        return True
    return door.withdraw(session, SOURCE, key(reservation), reason=reason, now=now)


def close(session: Session, reservation: Reservation, *, why: str, now: datetime) -> None:
    """The reservation's purpose is over: end the consent (the engine revokes the mandate)."""
    if reservation.closed_at is not None:
        return
    reservation.closed_at = now
    session.add(reservation)
    door.end_purpose(session, reservation.mandate_id, now=now)
    events.emit(session, at=now, entity="reservation", entity_id=reservation.id or 0,
                type="closed", why=why[:200])  # fmt: skip


def started(charge: Charge | None) -> bool:
    return charge is not None and (charge.status in STARTED or charge.lease_owner is not None)


def sweep(session: Session, reservation: Reservation, now: datetime) -> None:
    """Past the last moment, an open reservation is decided once more (no fee any more): an
    unstarted charge is withdrawn and the consent ends. A fee decided before the guest's card
    was saved is put once the card is there."""
    if reservation.closed_at is not None:
        return
    last = rules.last_moment(policies.to_rules(policy_of(session, reservation)),
                             reservation.slot_at)  # fmt: skip
    if now > last or _awaiting_card(session, reservation):
        apply(session, reservation, trigger="sweep", now=now)


def _awaiting_card(session: Session, reservation: Reservation) -> bool:
    made = recorded(session, reservation)
    if made is None or made.amount_cents is None or charge_of(session, reservation) is not None:
        return False
    mandate = session.get(Mandate, reservation.mandate_id)
    return mandate is not None and mandate.status == MandateStatus.ACTIVE
