"""UNSCHEDULED charges: a no-show or reservation fee, charged once against a mandate."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from billing.domain import money, purpose
from billing.domain.states import ChargeStatus, MandateStatus, PlanKind
from billing.errors import DomainError
from billing.manage.members import get_mandate
from billing.store import events
from billing.store.tables import Charge


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
