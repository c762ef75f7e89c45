"""Every path that puts a charge on a mandate refuses one outside the mandate's consent (its
standing instruction type), with one error naming both types and nothing written; on SQLite
and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlmodel import Session, func, select

from billing.errors import DomainError
from billing.manage import cards, members, one_off, plans
from billing.store.db import Store
from billing.store.tables import Charge, Customer, Mandate, Subscription
from tests.factories import T0

LOCATION = "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a01"


def _customer(session: Session) -> Customer:
    return members.create_customer(session, email=f"c{uuid.uuid4().hex[:6]}@example.com", now=T0)


def _mandate(session: Session, customer: Customer, kind: str) -> Mandate:
    return members.add_active_mandate(
        session, customer=customer, location_guid=LOCATION, standing_instruction=kind,
        toast_mandate_id=str(uuid.uuid4()), payment_method_id=None, now=T0,
    )  # fmt: skip


def _count(store: Store, table: type[Charge] | type[Subscription]) -> int:
    with store.transaction() as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


def _refused(excinfo: pytest.ExceptionInfo[DomainError], has: str, wants: str) -> None:
    message = str(excinfo.value)
    assert excinfo.value.field == "mandate"
    assert has in message
    assert wants in message
    assert "\n" not in message


def test_a_no_show_fee_is_refused_on_an_installment_mandate(store: Store) -> None:
    with store.transaction() as session:
        mandate_id = _mandate(session, _customer(session), "INSTALLMENT").id or 0
    with pytest.raises(DomainError) as info, store.transaction() as session:
        one_off.create(session, mandate_id=mandate_id, amount_cents=2500, reason="no-show",
                       due_at=T0, now=T0)  # fmt: skip
    _refused(info, "INSTALLMENT", "UNSCHEDULED")
    assert _count(store, Charge) == 0


def test_a_fee_on_an_unscheduled_mandate_is_accepted(store: Store) -> None:
    with store.transaction() as session:
        mandate = _mandate(session, _customer(session), "UNSCHEDULED")
        charge = one_off.create(session, mandate_id=mandate.id or 0, amount_cents=2500,
                                reason="no-show", due_at=T0, now=T0)  # fmt: skip
        assert charge.kind == "UNSCHEDULED"


@pytest.mark.parametrize(("plan_kind", "mandate_kind"),
                         [("RECURRING", "UNSCHEDULED"), ("INSTALLMENT", "RECURRING")])
def test_a_subscription_is_refused_on_a_mandate_of_another_type(
    store: Store, plan_kind: str, mandate_kind: str
) -> None:
    spec = {"amount_cents": 4500} if plan_kind == "RECURRING" else {
        "total_cents": 90000, "installments": 3}  # fmt: skip
    with store.transaction() as session:
        plan = plans.create(session, plans.PlanCreate(
            code="p", name="P", kind=plan_kind, interval_unit="month", location_guid=LOCATION,
            **spec), now=T0)  # fmt: skip
        customer = _customer(session)
        mandate = _mandate(session, customer, mandate_kind)
    with pytest.raises(DomainError) as info, store.transaction() as session:
        members.subscribe(session, customer=session.merge(customer), plan=session.merge(plan),
                          mandate=session.merge(mandate), start=date(2027, 2, 1),
                          now=T0)  # fmt: skip
    _refused(info, mandate_kind, plan_kind)
    assert _count(store, Subscription) == 0


def test_replacing_a_card_refuses_a_mandate_of_another_type(store: Store) -> None:
    with store.transaction() as session:
        plan = plans.create(session, plans.PlanCreate(
            code="wine", name="Wine", kind="RECURRING", amount_cents=4500,
            interval_unit="month", location_guid=LOCATION), now=T0)  # fmt: skip
        customer = _customer(session)
        old = _mandate(session, customer, "RECURRING")
        sub = members.subscribe(session, customer=customer, plan=plan, mandate=old,
                                start=date(2027, 2, 1), now=T0)  # fmt: skip
        fee_card = _mandate(session, customer, "UNSCHEDULED")
        ids = (old.id, fee_card.id, sub.id)
    with pytest.raises(DomainError) as info, store.transaction() as session:
        cards.replace_mandate(session, old=members.get_mandate(session, ids[0] or 0),
                              new=members.get_mandate(session, ids[1] or 0), now=T0)  # fmt: skip
    _refused(info, "UNSCHEDULED", "RECURRING")
    with store.transaction() as session:
        assert session.get(Subscription, ids[2]).mandate_id == ids[0]  # type: ignore[union-attr]
        assert session.get(Mandate, ids[0]).replaced_by_id is None  # type: ignore[union-attr]
