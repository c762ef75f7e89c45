"""UNSCHEDULED charges: a no-show or reservation fee, charged once against a mandate."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session, col, select

from billing.domain import money, purpose
from billing.domain.states import ChargeStatus, MandateStatus, PlanKind
from billing.errors import DomainError
from billing.manage.members import get_customer, get_mandate
from billing.store import events
from billing.store.tables import Charge, Mandate


def create(
    session: Session,
    *,
    mandate_id: int,
    amount_cents: int,
    reason: str,
    due_at: datetime,
    now: datetime,
    request_key: str | None = None,
    check_item: str = "Fee",
) -> Charge:
    """Due at ``due_at`` (now for an immediate fee).

    A repeated ``request_key`` returns the charge created first instead of a second one."""
    if request_key is not None:
        existing = session.exec(select(Charge).where(Charge.request_key == request_key)).first()
        if existing is not None:
            return existing
    money.validate_amount(amount_cents, field="amount")
    mandate = get_mandate(session, mandate_id)
    if mandate.status != MandateStatus.ACTIVE:
        raise DomainError(f"mandate {mandate_id} is {mandate.status}", field="mandate")
    purpose.require(mandate.standing_instruction, PlanKind.UNSCHEDULED, mandate_id=mandate_id)
    charge = Charge(
        mandate_id=mandate_id,
        kind=PlanKind.UNSCHEDULED,
        amount_cents=amount_cents,
        location_guid=mandate.location_guid,
        check_item=check_item,
        reason=reason[:200],
        request_key=request_key,
        status=ChargeStatus.SCHEDULED,
        due_at=due_at,
        next_attempt_at=due_at,
        created_at=now,
    )
    session.add(charge)
    session.flush()
    events.emit(session, at=now, entity="charge", entity_id=charge.id or 0, type="created",
                reason=reason[:200])  # fmt: skip
    return charge


def fee_mandate_of(session: Session, ref: str, describe: Callable[[Mandate], str]) -> Mandate:
    """The customer's one active mandate for one-off fees (standing instruction UNSCHEDULED).

    Refused when there is none, or more than one (``describe`` names each candidate)."""
    customer = get_customer(session, ref)
    query = select(Mandate).where(Mandate.customer_id == customer.id)
    query = query.where(Mandate.status == MandateStatus.ACTIVE)
    query = query.where(Mandate.standing_instruction == PlanKind.UNSCHEDULED)
    found = list(session.exec(query.order_by(col(Mandate.id))).all())
    who = customer.email
    if not found:
        raise DomainError(
            f"--customer: {who} has no active card-on-file for one-off fees; enroll them for "
            "a fee plan first (billing enroll --customer REF --plan FEE_PLAN)",
            field="--customer",
        )
    if len(found) > 1:
        listed = "; ".join(describe(m) for m in found[:5])
        more = f" and {len(found) - 5} more" if len(found) > 5 else ""
        raise DomainError(
            f"--customer: {who} has {len(found)} cards-on-file for fees: {listed}{more}; "
            "choose one with --mandate ID",
            field="--customer",
        )
    return found[0]
