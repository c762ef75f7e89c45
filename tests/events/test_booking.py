"""Event use cases on the store (SQLite and PostgreSQL, no engine): closure ends the mandate's
purpose, a milestone whose amount falls to zero is withdrawn and comes back under a new key,
bad input writes nothing."""

from __future__ import annotations

import uuid
from datetime import date, time, timedelta

import pytest
from sqlmodel import select

from billing.domain.states import ChargeStatus
from billing.errors import DomainError
from billing.events import booking, rules, schedules
from billing.events import store as ev_store
from billing.manage import members
from billing.store.db import Store
from billing.store.tables import CateringEvent, Charge, Mandate
from tests.factories import T0

LOCATION = "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a01"
FIXED_DEPOSIT = [
    rules.Milestone(name="deposit", kind="fixed", value=50_000),
    rules.Milestone(name="balance", kind="remainder", days_before=3),
]


def _booked(store: Store, total: int) -> tuple[int, int]:
    with store.transaction() as session:
        schedules.create(session, schedules.TemplateSpec(
            code="fixed", name="Fixed deposit", milestones=FIXED_DEPOSIT), now=T0)  # fmt: skip
        customer = members.create_customer(session, email="b@example.com", now=T0)
        mandate = members.add_active_mandate(
            session, customer=customer, location_guid=LOCATION,
            standing_instruction="INSTALLMENT", toast_mandate_id=str(uuid.uuid4()),
            payment_method_id=None, now=T0,
        )  # fmt: skip
        ev = booking.create(session, booking.EventCreate(
            title="Dinner", location=LOCATION, timezone="America/New_York",
            local_date=(T0 + timedelta(days=60)).date(), local_time=time(19, 0), guests=10,
            schedule="fixed", customer=str(customer.id), total_cents=total,
            mandate_id=mandate.id,
        ), now=T0)  # fmt: skip
        return ev.id or 0, mandate.id or 0


def _charges(store: Store) -> dict[str, tuple[int, str]]:
    with store.transaction() as session:
        rows = session.exec(select(Charge).where(Charge.source == "event")).all()
        return {c.source_key or "": (c.amount_cents, c.status) for c in rows}


def test_a_zero_milestone_is_not_charged_and_comes_back_under_a_new_key(store: Store) -> None:
    event_id, _ = _booked(store, total=50_000)  # the deposit is everything: balance 0
    deposit, balance = f"event:{event_id}:milestone:deposit", f"event:{event_id}:milestone:balance"
    assert _charges(store) == {deposit: (50_000, ChargeStatus.SCHEDULED)}
    with store.transaction() as session:
        booking.price(session, event_id, total_cents=80_000, now=T0)
    assert _charges(store)[balance] == (30_000, ChargeStatus.SCHEDULED)
    with store.transaction() as session:
        booking.price(session, event_id, total_cents=50_000, now=T0)
    assert _charges(store)[balance] == (30_000, ChargeStatus.CANCELLED)
    with store.transaction() as session:
        booking.price(session, event_id, total_cents=90_000, now=T0)
    assert _charges(store)[f"{balance}:r1"] == (40_000, ChargeStatus.SCHEDULED)
    with store.transaction() as session:
        keys = [ev_store.key(event_id, m) for m in ev_store.milestones(session, event_id)]
    assert keys == [deposit, f"{balance}:r1"]


def test_closing_withdraws_open_milestones_and_ends_the_mandates_purpose(store: Store) -> None:
    event_id, mandate_id = _booked(store, total=120_000)
    with store.transaction() as session:
        booking.close(session, event_id, now=T0)
    assert {status for _, status in _charges(store).values()} == {ChargeStatus.CANCELLED}
    with store.transaction() as session:
        mandate = session.get(Mandate, mandate_id)
        ev = session.get(CateringEvent, event_id)
        assert mandate is not None
        assert ev is not None
        assert mandate.purpose_ended_at == T0  # the maintain lane revokes it at Toast
        assert ev.status == "closed"
    with pytest.raises(DomainError) as info, store.transaction() as session:
        booking.guests(session, event_id, 12, now=T0)
    assert info.value.field == "event"


def test_bad_changes_write_nothing(store: Store) -> None:
    event_id, _ = _booked(store, total=120_000)
    before = _charges(store)
    with pytest.raises(DomainError) as past, store.transaction() as session:
        booking.move(session, event_id, local_date=date(2026, 1, 1), local_time=None, now=T0)
    assert past.value.field == "date"
    with pytest.raises(DomainError) as price, store.transaction() as session:
        booking.price(session, event_id, per_guest_cents=-1, now=T0)
    assert price.value.field == "per_guest"
    assert _charges(store) == before
    with store.transaction() as session:
        ev = session.get(CateringEvent, event_id)
        assert ev is not None
        assert ev.local_date == (T0 + timedelta(days=60)).date()


def test_moved_closer_than_a_milestone_its_charge_is_due_at_once(store: Store) -> None:
    event_id, _ = _booked(store, total=120_000)
    tomorrow = (T0 + timedelta(days=1)).date()
    with store.transaction() as session:
        booking.move(session, event_id, local_date=tomorrow, local_time=None, now=T0)
        balance = session.exec(select(Charge).where(
            Charge.source_key == f"event:{event_id}:milestone:balance")).one()  # fmt: skip
        assert (balance.amount_cents, balance.next_attempt_at) == (70_000, T0)
