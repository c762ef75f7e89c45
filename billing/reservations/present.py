"""A reservation as the API and the CLI show it: status, policy snapshot, decision, charge."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from billing.enroll import present as enroll_present
from billing.enroll import service as enroll
from billing.reservations import fees
from billing.reservations.models import (
    DecisionPublic,
    FeeChargePublic,
    PolicyPublic,
    ReportPublic,
    ReservationPublic,
)
from billing.store.tables import FeePolicy, Mandate, Reservation


def policy(row: FeePolicy) -> PolicyPublic:
    return PolicyPublic(
        code=row.code, version=row.version, name=row.name, per=row.per,
        amount_cents=row.amount_cents, cap_cents=row.cap_cents,
        free_cancel_hours=row.free_cancel_hours, confirm_delay_minutes=row.confirm_delay_minutes,
        last_moment_hours=row.last_moment_hours, consent_text=row.consent_text,
        timezone=row.timezone,
    )  # fmt: skip


def reservation(
    session: Session, row: Reservation, *, now: datetime, checkout: enroll.View | None = None
) -> ReservationPublic:
    made = fees.recorded(session, row) or fees.decision(session, row, now)
    charge = fees.charge_of(session, row)
    mandate = session.get(Mandate, row.mandate_id)
    return ReservationPublic(
        reference=row.external_ref, location=row.location_guid, status=row.status,
        slot=row.slot_at, party_size=row.party_size, service=row.service,
        customer_id=row.customer_id, mandate_id=row.mandate_id,
        mandate_status=mandate.status if mandate else "unknown",
        policy=policy(fees.policy_of(session, row)), accepted_at=row.accepted_at,
        decision=DecisionPublic(amount_cents=made.amount_cents, reason=made.reason,
                                charge_at=made.charge_at, last_moment=made.last_moment),
        charge=None if charge is None else FeeChargePublic(
            id=charge.id or 0, status=charge.status, amount_cents=charge.amount_cents,
            due_at=charge.due_at, check_item=charge.check_item),
        reports=[ReportPublic(report_id=r.report_id, status=r.status, at=r.at,
                              reported_at=r.reported_at, reported_by=r.reported_by)
                 for r in fees.history(session, row)],
        closed_at=row.closed_at,
        enrollment=None if checkout is None else enroll_present.enrollment(checkout),
    )  # fmt: skip
