"""A charge in flight when its installment plan defaulted finishes; if it then declines it is
not retried: it fails (``on_default = "cancel"``) or waits for a human (``"hold"``). On
SQLite and PostgreSQL, through the engine's own phase."""

from __future__ import annotations

import uuid

import pytest

from billing.domain import dunning
from billing.domain.states import AttemptStatus, ChargeStatus
from billing.engine import phases
from billing.engine.jobs import ChargeJob
from billing.store.db import Store
from billing.store.tables import Attempt, Charge, Plan, Subscription
from tests import factories
from tests.factories import T0


def _in_flight_on_a_defaulted_plan(store: Store) -> ChargeJob:
    with store.transaction() as session:
        sub = factories.subscription(session)
        plan = session.get(Plan, sub.plan_id)
        assert plan is not None
        plan.kind, plan.total_cents, plan.installments = "INSTALLMENT", 90000, 3
        charge = factories.charge(session, sub, 1)
        charge.kind, charge.status, charge.attempt_count = "INSTALLMENT", "processing", 1
        attempt = factories.attempt(session, charge.id or 0, 1)
        attempt.status, attempt.toast_intent_id = AttemptStatus.CONFIRM_SENT, "pi-1"
        sub.status = "defaulted"  # part 1 defaulted while this part was on the wire
        session.flush()
        return ChargeJob(
            charge_id=charge.id or 0, attempt_id=attempt.id or 0, attempt_number=1,
            external_reference_id=attempt.external_reference_id, amount_cents=30000,
            location_guid=charge.location_guid, toast_mandate_id=str(uuid.uuid4()),
            payment_method_id=None, toast_customer_id=None, email="ann@example.com",
            check_item="Deposit", attempt_status=AttemptStatus.CONFIRM_SENT, intent_id="pi-1",
        )  # fmt: skip


@pytest.mark.parametrize(("on_default", "expected"), [
    ("cancel", ChargeStatus.FAILED), ("hold", ChargeStatus.NEEDS_ATTENTION)])  # fmt: skip
def test_a_charge_declined_after_its_plan_defaulted_is_not_retried(
    store: Store, on_default: dunning.OnDefault, expected: ChargeStatus
) -> None:
    job = _in_flight_on_a_defaulted_plan(store)
    # the default policy cancels
    policy = (
        dunning.DunningPolicy()
        if on_default == "cancel"
        else dunning.DunningPolicy(on_default=on_default)
    )
    phases.declined(store, job, decline_type="CARD_DECLINED", decline_code="insufficient_funds",
                    now=T0, policy=policy)  # fmt: skip
    with store.transaction() as session:
        charge = session.get(Charge, job.charge_id)
        attempt = session.get(Attempt, job.attempt_id)
        assert charge is not None
        assert attempt is not None
        assert charge.status == expected  # a plain decline would be retry_scheduled
        assert attempt.status == AttemptStatus.DECLINED
        sub = session.get(Subscription, charge.subscription_id)
        assert sub is not None
        assert sub.status == "defaulted"
