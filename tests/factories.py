"""Rows for store tests, built through the real tables."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlmodel import Session

from billing.settings import DEFAULT_LOCATION
from billing.store.tables import Attempt, Charge, Customer, Mandate, Plan, Subscription

T0 = datetime(2027, 1, 1, 15, 0, tzinfo=UTC)


def subscription(session: Session) -> Subscription:
    email = f"ann-{uuid.uuid4().hex[:8]}@example.com"  # one customer per email
    customer = Customer(email=email, email_key=email, name="Ann", created_at=T0)
    session.add(customer)
    session.flush()
    mandate = Mandate(
        customer_id=customer.id,  # type: ignore[arg-type]
        location_guid=DEFAULT_LOCATION,
        standing_instruction="RECURRING",
        status="active",
        toast_mandate_id=str(uuid.uuid4()),
        created_at=T0,
    )
    plan = Plan(
        code="wine",
        name="Wine club",
        kind="RECURRING",
        amount_cents=4500,
        interval_unit="month",
        location_guid=DEFAULT_LOCATION,
        created_at=T0,
    )
    session.add_all([mandate, plan])
    session.flush()
    sub = Subscription(
        customer_id=customer.id,  # type: ignore[arg-type]
        plan_id=plan.id,  # type: ignore[arg-type]
        mandate_id=mandate.id,
        status="active",
        anchor_date=date(2027, 1, 1),
        timezone="America/New_York",
        created_at=T0,
    )
    session.add(sub)
    session.flush()
    return sub


def charge(session: Session, sub: Subscription, cycle: int, *, due: datetime = T0) -> Charge:
    row = Charge(
        subscription_id=sub.id,
        cycle=cycle,
        mandate_id=sub.mandate_id,  # type: ignore[arg-type]
        kind="RECURRING",
        amount_cents=4500,
        location_guid=DEFAULT_LOCATION,
        due_at=due,
        next_attempt_at=due,
        created_at=T0,
    )
    session.add(row)
    session.flush()
    return row


def attempt(session: Session, charge_id: int, number: int) -> Attempt:
    row = Attempt(
        charge_id=charge_id,
        number=number,
        external_reference_id=str(uuid.uuid4()),
        created_at=T0,
        updated_at=T0,
    )
    session.add(row)
    session.flush()
    return row
