"""The narrow door in the store: one charge per (source, key), updated only while the engine
has not started it, withdrawn only when nothing is in flight; on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlmodel import func, select

from billing.domain.states import ChargeStatus, PlanKind
from billing.errors import DomainError
from billing.manage import members
from billing.store import door
from billing.store.db import Store
from billing.store.tables import Charge
from tests.factories import T0

LOCATION = "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a01"


def _mandate(store: Store, kind: str = "INSTALLMENT") -> int:
    with store.transaction() as session:
        customer = members.create_customer(
            session, email=f"d{uuid.uuid4().hex[:6]}@example.com", now=T0
        )
        mandate = members.add_active_mandate(
            session, customer=customer, location_guid=LOCATION, standing_instruction=kind,
            toast_mandate_id=str(uuid.uuid4()), payment_method_id=None, now=T0,
        )  # fmt: skip
        return mandate.id or 0


def _spec(mandate_id: int, amount: int = 5000, **over: object) -> door.ChargeSpec:
    values: dict[str, object] = {
        "source": "event", "key": "event:1:milestone:deposit", "mandate_id": mandate_id,
        "kind": PlanKind.INSTALLMENT, "amount_cents": amount, "due_at": T0 + timedelta(days=3),
        "check_item": "Deposit",
    }  # fmt: skip
    values.update(over)
    return door.ChargeSpec(**values)  # type: ignore[arg-type]


def _charges(store: Store) -> int:
    with store.transaction() as session:
        return int(session.exec(select(func.count()).select_from(Charge)).one())


def test_put_creates_once_then_updates_an_unstarted_charge(store: Store) -> None:
    mandate_id = _mandate(store)
    with store.transaction() as session:
        assert door.put(session, _spec(mandate_id), now=T0).outcome == "created"
    with store.transaction() as session:
        assert door.put(session, _spec(mandate_id), now=T0).outcome == "unchanged"
    later = T0 + timedelta(days=5)
    with store.transaction() as session:
        put = door.put(session, _spec(mandate_id, 6250, due_at=later), now=T0)
        assert put.outcome == "updated"
        assert (put.charge.amount_cents, put.charge.next_attempt_at) == (6250, later)
    assert _charges(store) == 1


def test_a_started_charge_never_changes(store: Store) -> None:
    mandate_id = _mandate(store)
    with store.transaction() as session:
        charge_id = door.put(session, _spec(mandate_id), now=T0).charge.id
    with store.transaction() as session:  # the engine claims it
        charge = session.get(Charge, charge_id)
        assert charge is not None
        charge.status, charge.lease_owner = ChargeStatus.PROCESSING, "worker-1"
    with store.transaction() as session:
        put = door.put(session, _spec(mandate_id, 9999), now=T0)
        assert put.outcome == "started"
        assert not door.withdraw(session, "event", "event:1:milestone:deposit", reason="x",
                                 now=T0)  # fmt: skip
    with store.transaction() as session:
        charge = session.get(Charge, charge_id)
        assert charge is not None
        assert (charge.amount_cents, charge.status) == (5000, ChargeStatus.PROCESSING)


def test_a_retrying_charge_keeps_the_date_dunning_chose(store: Store) -> None:
    mandate_id = _mandate(store)
    retry_at = T0 + timedelta(days=1)
    with store.transaction() as session:
        charge = door.put(session, _spec(mandate_id), now=T0).charge
        charge.status, charge.next_attempt_at = ChargeStatus.RETRY_SCHEDULED, retry_at
    with store.transaction() as session:
        put = door.put(session, _spec(mandate_id, 7000), now=T0)
        assert put.outcome == "updated"
        assert (put.charge.amount_cents, put.charge.next_attempt_at) == (7000, retry_at)


def test_withdraw_cancels_an_unstarted_charge(store: Store) -> None:
    mandate_id = _mandate(store)
    with store.transaction() as session:
        door.put(session, _spec(mandate_id), now=T0)
    with store.transaction() as session:
        assert door.withdraw(session, "event", "event:1:milestone:deposit", reason="cancelled",
                             now=T0)  # fmt: skip
        assert door.withdraw(session, "event", "no-such-key", reason="cancelled", now=T0)
    with store.transaction() as session:
        charge = door.find(session, "event", "event:1:milestone:deposit")
        assert charge is not None
        assert charge.status == ChargeStatus.CANCELLED


def test_a_charge_outside_the_mandates_consent_is_refused_and_nothing_written(
    store: Store,
) -> None:
    mandate_id = _mandate(store, "RECURRING")
    with pytest.raises(DomainError) as info, store.transaction() as session:
        door.put(session, _spec(mandate_id), now=T0)
    assert info.value.field == "mandate"
    assert "RECURRING" in str(info.value)
    assert "INSTALLMENT" in str(info.value)
    with pytest.raises(DomainError) as bad, store.transaction() as session:
        door.put(session, _spec(_mandate(store), -5), now=T0)
    assert bad.value.field == "amount"
    assert _charges(store) == 0


def test_a_webhook_names_the_business_object_a_door_charge_is_for(store: Store) -> None:
    """A reservation system or an event-booking site ties ``charge.paid`` to its own object."""
    from billing.notify import hook_payload
    from billing.store import events

    mandate_id = _mandate(store)
    with store.transaction() as session:
        charge = door.put(session, _spec(mandate_id), now=T0).charge
        event = events.emit(session, at=T0, entity="charge", entity_id=charge.id or 0,
                            type="charge_paid")  # fmt: skip
        session.flush()
        body = hook_payload.body(session, event, "charge.paid")
    assert body is not None
    assert (body["data"]["charge"]["source"], body["data"]["charge"]["source_key"]) == (
        "event", "event:1:milestone:deposit")  # fmt: skip
