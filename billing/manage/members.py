"""Customers, their mandates (cards-on-file) and their subscriptions."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlmodel import Session, col, func, select

from billing.domain import inputs, lifecycle, purpose
from billing.domain.states import MandateStatus, PlanKind, SubscriptionStatus
from billing.engine import materialize
from billing.errors import AmbiguousLookup, DomainError, DuplicateEmail, NotFound
from billing.store import events
from billing.store.tables import Customer, Mandate, Plan, Subscription


def create_customer(
    session: Session, *, email: str, name: str = "", external_ref: str | None = None,
    now: datetime,
) -> Customer:  # fmt: skip
    """One customer per email address (case-insensitive): a second one is refused, naming
    the customer who has it (the database's uq_customer_email_key is the backstop)."""
    email = inputs.email(email, field="email")  # the rules of billing.domain.inputs
    name = inputs.text(name, field="name", allow_empty=True)
    if external_ref is not None:
        external_ref = inputs.text(external_ref, field="ref")
    taken = by_email(session, email)
    if taken:
        owner = taken[0]
        message = f"email {_short(owner.email)!r} already belongs to customer {owner.id}"
        raise DuplicateEmail(message=f"{message} (emails are unique, in any case)")
    customer = Customer(email=email, email_key=email.lower(), name=name,
                        external_ref=external_ref, created_at=now)  # fmt: skip
    session.add(customer)
    session.flush()
    return customer


def by_email(session: Session, email: str) -> list[Customer]:
    """Customers with this address in any case (more than one only for rows older than
    uq_customer_email_key)."""
    query = select(Customer).where(func.lower(Customer.email) == email.lower())
    return list(session.exec(query.order_by(col(Customer.id))).all())


def get_customer(session: Session, ref: str) -> Customer:
    """By local id, email (any case) or the merchant's own reference; a reference that
    matches more than one customer is refused rather than answered with the first."""
    local_id = int(ref) if ref.isdigit() and len(ref) <= 9 else -1
    query = select(Customer).where(
        (func.lower(Customer.email) == ref.lower()) | (Customer.external_ref == ref)
        | (Customer.id == local_id)
    ).order_by(col(Customer.id))  # fmt: skip
    found = session.exec(query).all()
    if not found:
        raise NotFound(f"unknown customer {_short(ref)!r}", field="customer")
    if len(found) > 1:
        ids = ", ".join(str(c.id) for c in found)
        raise AmbiguousLookup(f"{_short(ref)!r} matches customers {ids}: use the customer id",
                              field="customer")  # fmt: skip
    return found[0]


def _short(value: str, limit: int = 80) -> str:
    return value if len(value) <= limit else value[:limit] + "..."


def add_active_mandate(
    session: Session,
    *,
    customer: Customer,
    location_guid: str,
    standing_instruction: str,
    toast_mandate_id: str,
    payment_method_id: str | None,
    card_brand: str | None = None,
    card_last4: str | None = None,
    card_exp: tuple[int, int] | None = None,
    now: datetime,
) -> Mandate:
    mandate = Mandate(
        customer_id=customer.id,  # type: ignore[arg-type]
        location_guid=location_guid,
        standing_instruction=standing_instruction,
        status=MandateStatus.ACTIVE,
        toast_mandate_id=toast_mandate_id,
        toast_payment_method_id=payment_method_id,
        card_brand=card_brand,
        card_last4=card_last4,
        card_exp_month=card_exp[0] if card_exp else None,
        card_exp_year=card_exp[1] if card_exp else None,
        created_at=now,
    )
    session.add(mandate)
    session.flush()
    events.emit(session, at=now, entity="mandate", entity_id=mandate.id or 0, type="active")
    return mandate


def subscribe(
    session: Session,
    *,
    customer: Customer,
    plan: Plan,
    mandate: Mandate | None,
    start: date,
    anchor_day: int | None = None,
    now: datetime,
) -> Subscription:
    """A customer on a plan; active at once when the mandate is, else pending the mandate.
    A plan's trial moves the schedule's start: the first charge falls on the first billing
    date on or after ``start`` + the trial (exactly then without an anchor day)."""
    if plan.kind == PlanKind.UNSCHEDULED:
        raise DomainError("an UNSCHEDULED plan has no schedule: create charges", field="plan")
    if not plan.active:
        raise DomainError(f"plan {plan.code!r} is archived", field="plan")
    if mandate is not None:
        purpose.require(mandate.standing_instruction, plan.kind, mandate_id=mandate.id)
    first = trial_end(plan, start)
    sub = Subscription(
        customer_id=customer.id,  # type: ignore[arg-type]
        plan_id=plan.id,  # type: ignore[arg-type]
        mandate_id=mandate.id if mandate else None,
        anchor_date=first,
        anchor_day=anchor_day or plan.anchor_day or first.day,
        timezone=plan.timezone,
        created_at=now,
    )
    session.add(sub)
    session.flush()
    if mandate is not None and mandate.status == MandateStatus.ACTIVE:
        activate(session, sub, plan, now=now)
    return sub


def trial_end(plan: Plan, start: date) -> date:
    """The first day a subscription starting on ``start`` may be charged."""
    return start + timedelta(days=plan.trial_days)


def activate(session: Session, sub: Subscription, plan: Plan, *, now: datetime) -> None:
    sub.status = lifecycle.transition(
        "subscription", SubscriptionStatus(sub.status), SubscriptionStatus.ACTIVE
    )
    sub.next_charge_at = materialize.first_charge_at(plan, sub)
    events.emit(session, at=now, entity="subscription", entity_id=sub.id or 0, type="active")


def get_mandate(session: Session, mandate_id: int) -> Mandate:
    mandate = session.get(Mandate, mandate_id)
    if mandate is None:
        raise NotFound(f"unknown mandate {mandate_id}", field="mandate")
    return mandate


def add_pending_mandate(
    session: Session, *, customer: Customer, location_guid: str, standing_instruction: str,
    now: datetime,
) -> Mandate:  # fmt: skip
    """A mandate waiting for the customer to authorize a card (an enrollment in progress)."""
    mandate = Mandate(
        customer_id=customer.id,  # type: ignore[arg-type]
        location_guid=location_guid,
        standing_instruction=standing_instruction,
        status=MandateStatus.PENDING_SETUP,
        created_at=now,
    )
    session.add(mandate)
    session.flush()
    return mandate


def activate_mandate(
    session: Session,
    mandate: Mandate,
    *,
    toast_mandate_id: str,
    payment_method_id: str | None,
    card_brand: str | None = None,
    card_last4: str | None = None,
    card_exp: tuple[int, int] | None = None,
    now: datetime,
) -> Mandate:
    """pending_setup -> active, with Toast's ids and the card's display details."""
    mandate.status = lifecycle.transition(
        "mandate", MandateStatus(mandate.status), MandateStatus.ACTIVE
    )
    mandate.toast_mandate_id = toast_mandate_id
    mandate.toast_payment_method_id = payment_method_id
    mandate.card_brand, mandate.card_last4 = card_brand, card_last4
    mandate.card_exp_month, mandate.card_exp_year = card_exp if card_exp else (None, None)
    session.flush()
    events.emit(session, at=now, entity="mandate", entity_id=mandate.id or 0, type="active")
    return mandate
