"""Enrollment with the first payment taken at signup (``pay_now``): a customer-initiated
payment intent carrying ``standingInstructionType`` pays cycle 0 and yields the mandate; the
engine charges the later cycles off-session with it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from billing import wiring
from billing.domain import calendar
from billing.engine import materialize
from billing.enroll import completer, first_payment
from billing.store.tables import Attempt, Charge, Enrollment, Mandate, Plan, Subscription
from billing.toast import errors as toast_errors
from billing.toast.models.orders import OrderPayment
from tests.enroll.conftest import AUTH, LOCATION, Harness

pytestmark = pytest.mark.anyio


async def _started(h: Harness, key: str = "k-1", **body: Any) -> dict[str, Any]:
    started = await h.enroll(key, pay_now=True, **body)
    assert started.status_code == 201, started.text
    return dict(started.json())


async def _get(h: Harness, enrollment_id: str) -> dict[str, Any]:
    got = await h.http.get(f"/v1/enrollments/{enrollment_id}", headers=AUTH)
    assert got.status_code == 200, got.text
    return dict(got.json())


def _charges(h: Harness, sub_id: int) -> list[Charge]:
    with h.store.transaction() as session:
        query = select(Charge).where(Charge.subscription_id == sub_id).order_by(col(Charge.cycle))
        return list(session.exec(query).all())


async def _tick(h: Harness) -> None:
    async with wiring.engine(h.settings, clock=h.clock, store=h.store) as engine:
        await engine.tick()


async def test_pay_now_charges_cycle_0_then_the_engine_charges_cycle_1(harness: Harness) -> None:
    # Given a pay_now enrollment on the $45 monthly wine club
    body = await _started(harness)
    assert body["intent_type"] == "payment_intent"
    assert body["first_payment_cents"] == 4500
    assert body["session_secret"]
    # When the customer pays in the iframe, ticking the authorization box
    paid = await harness.checkout(body["session_secret"])
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "REQUIRES_CAPTURE"
    assert paid.json()["mandateId"]
    done = await _get(harness, body["id"])
    # Then the enrollment is completed: the mandate active, cycle 0 paid and on a check
    assert done["status"] == "completed"
    assert done["card"]["last_four"] == "1111"
    assert done["message"] is None
    charges = _charges(harness, body["subscription_id"])
    assert [(c.cycle, c.status, c.amount_cents) for c in charges] == [(0, "paid", 4500)]
    with harness.store.transaction() as session:
        sub = session.get(Subscription, body["subscription_id"])
        mandate = session.get(Mandate, body["mandate_id"])
        attempt = session.exec(select(Attempt).where(Attempt.charge_id == charges[0].id)).one()
        plan = session.get(Plan, sub.plan_id if sub else 0)
    assert mandate is not None
    assert mandate.status == "active"
    assert mandate.toast_mandate_id == paid.json()["mandateId"]
    assert attempt.status == "succeeded"
    assert attempt.external_reference_id == body["id"]
    assert sub is not None
    assert plan is not None
    assert (sub.status, sub.next_cycle, sub.cycles_paid) == ("active", 1, 1)
    assert sub.next_charge_at == calendar.due_at(materialize.rule_for(plan, sub), 1)
    ledger = await harness.control.items("order-payments")
    assert len(ledger) == 1
    assert ledger[0]["orderGuid"] == attempt.order_guid
    assert ledger[0]["offSession"] is False
    assert ledger[0]["amount"] == 4500
    # When the engine runs at cycle 1's due time
    await harness.advance(sub.next_charge_at - harness.clock.now() + timedelta(seconds=1))
    await _tick(harness)
    # Then cycle 1 is charged off-session with the mandate, and cycle 0 is not charged again
    charges = _charges(harness, body["subscription_id"])
    assert [(c.cycle, c.status) for c in charges] == [(0, "paid"), (1, "paid")]
    ledger = await harness.control.items("order-payments")
    assert len(ledger) == 2
    mit = [entry for entry in ledger if entry["offSession"]]
    assert len(mit) == 1
    assert mit[0]["mandateId"] == mandate.toast_mandate_id
    assert mit[0]["amount"] == 4500


async def test_installment_plan_first_installment_now(harness: Harness) -> None:
    harness.plan(code="deposit", name="Deposit", kind="INSTALLMENT", total_cents=100_000,
                 installments=3, interval_unit="week")  # fmt: skip
    body = await _started(harness, plan="deposit")
    assert body["first_payment_cents"] == 33_334  # the remainder goes to the first installment
    await harness.checkout(body["session_secret"])
    assert (await _get(harness, body["id"]))["status"] == "completed"
    charges = _charges(harness, body["subscription_id"])
    assert [(c.cycle, c.amount_cents, c.kind) for c in charges] == [(0, 33_334, "INSTALLMENT")]
    toast = await harness.control.items("mandates")
    assert [m["standingInstructionType"] for m in toast] == ["INSTALLMENT"]


async def test_declined_first_payment_stays_pending_then_another_card_pays(
    harness: Harness,
) -> None:
    body = await _started(harness)
    declined = await harness.checkout(body["session_secret"], card="4000000000009995")
    assert declined.json()["error"]["code"] == "insufficient_funds"
    pending = await _get(harness, body["id"])
    assert pending["status"] == "pending"
    assert "declined (insufficient_funds)" in pending["message"]
    assert pending["session_secret"] == body["session_secret"]
    assert _charges(harness, body["subscription_id"]) == []
    await harness.checkout(body["session_secret"])
    assert (await _get(harness, body["id"]))["status"] == "completed"


async def test_checkout_needs_the_authorization_box_to_create_the_mandate(
    harness: Harness,
) -> None:
    body = await _started(harness)
    refused = await harness.checkout(body["session_secret"], authorize=False)
    assert refused.status_code == 400
    assert "authorize" in refused.json()["message"]
    assert (await _get(harness, body["id"]))["status"] == "pending"


async def test_checkout_page_is_told_what_it_charges(harness: Harness) -> None:
    body = await _started(harness)
    async with httpx.AsyncClient(base_url=harness.sandbox.base_url) as browser:
        told = await browser.post("/__sandbox__/checkout/describe",
                                  json={"sessionSecret": body["session_secret"]})  # fmt: skip
    assert told.json() == {"kind": "payment", "amount": 4500, "currency": "USD",
                           "consentRequired": True}  # fmt: skip


async def test_voided_authorization_falls_back_to_an_off_session_charge(
    harness: Harness,
) -> None:
    # Given a first payment authorized but not applied to a check within Toast's 5 minutes
    body = await _started(harness)
    await harness.checkout(body["session_secret"])
    await harness.advance(timedelta(minutes=6))
    # When the enrollment is read back
    done = await _get(harness, body["id"])
    # Then it is completed (the mandate stands) and says the payment will be taken off-session
    assert done["status"] == "completed"
    assert "voided" in done["message"]
    assert _charges(harness, body["subscription_id"]) == []
    with harness.store.transaction() as session:
        sub = session.get(Subscription, body["subscription_id"])
    assert sub is not None
    assert sub.next_charge_at is not None
    assert sub.next_charge_at <= harness.clock.now()
    # And the engine charges cycle 0 off-session
    await _tick(harness)
    assert [(c.cycle, c.status) for c in _charges(harness, body["subscription_id"])] == [
        (0, "paid")
    ]
    ledger = await harness.control.items("order-payments")
    assert sorted((e["offSession"], e["status"]) for e in ledger)[0] == (False, "VOIDED")
    assert [e["offSession"] for e in ledger if e["status"] != "VOIDED"] == [True]


async def test_completion_after_a_crash_does_not_apply_the_payment_twice(
    harness: Harness,
) -> None:
    # Given a completion that applied the payment to a check, then died before recording it
    body = await _started(harness)
    await harness.checkout(body["session_secret"])
    async with wiring.toast_client(harness.settings, harness.store) as toast:
        intent = await toast.payment_intents.get(body["intent_id"], location=LOCATION)
        order = await first_payment.apply_to_check(toast, intent, location=LOCATION)
    # When the enrollment is completed again
    done = await _get(harness, body["id"])
    # Then the payment found on the check is recorded; no second order was created
    assert done["status"] == "completed"
    with harness.store.transaction() as session:
        attempt = session.exec(select(Attempt)).one()
    assert attempt.order_guid == order
    creates = await harness.control.requests(path="/orders/v2/orders", method="POST")
    assert len(creates) == 1


async def test_the_completer_job_finishes_a_paid_enrollment(harness: Harness) -> None:
    # Given a customer who paid and closed the tab before the website called complete
    body = await _started(harness)
    await harness.checkout(body["session_secret"])
    # When the scheduled job runs
    async with wiring.toast_client(harness.settings, harness.store) as toast:
        counts = await completer.complete_pending(harness.context(toast))
    # Then the enrollment is completed and cycle 0 recorded as paid
    assert counts == {"completed": 1}
    assert [c.status for c in _charges(harness, body["subscription_id"])] == ["paid"]


async def test_repeated_key_reuses_the_payment_intent(harness: Harness) -> None:
    first = await _started(harness, "same")
    again = await _started(harness, "same")
    assert again["id"] == first["id"]
    assert again["intent_id"] == first["intent_id"]
    assert len(await harness.control.items("payment-intents")) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"fee_purpose": "no-show fee", "pay_now": True}, None),
        ({"pay_now": True, "start_date": "2027-03-09"}, "start_date"),
        ({"pay_now": True, "plan": "tasting"}, "pay_now"),
        ({"pay_now": True, "plan": "trial"}, "pay_now"),  # the first payment follows a trial
    ],
)
async def test_bad_pay_now_requests_are_refused_naming_the_field(
    harness: Harness, body: dict[str, Any], field: str | None
) -> None:
    harness.plan(code="tasting", name="Tasting", kind="INSTALLMENT", total_cents=9000,
                 installments=1, interval_unit="month")  # fmt: skip
    harness.plan(code="trial", name="Trial", kind="RECURRING", amount_cents=4500,
                 interval_unit="month", trial_days=14)  # fmt: skip
    refused = await harness.enroll(**body)
    assert refused.status_code == 422, refused.text
    assert "pay_now" in refused.text or refused.json()["field"] == field
    if field is not None:
        assert refused.json()["field"] == field
    with harness.store.transaction() as session:
        assert session.exec(select(Enrollment)).all() == []
    assert await harness.control.items("payment-intents") == []


async def test_concurrent_completions_apply_the_payment_once(harness: Harness) -> None:
    # Given a paid enrollment; When the website and the completer job finish it at once
    body = await _started(harness)
    await harness.checkout(body["session_secret"])
    async with wiring.toast_client(harness.settings, harness.store) as toast:
        ctx = harness.context(toast)
        answers = await asyncio.gather(
            *(_get(harness, body["id"]) for _ in range(4)), completer.complete_pending(ctx)
        )
    # Then every answer says completed, and one charge, one check payment exist
    assert {a["status"] for a in answers[:4]} == {"completed"}
    assert [c.cycle for c in _charges(harness, body["subscription_id"])] == [0]
    ledger = await harness.control.items("order-payments")
    assert len(ledger) == 1
    assert ledger[0]["orderGuid"] is not None


async def test_losing_the_race_to_the_check_reads_the_winners_order(harness: Harness) -> None:
    # Given a payment another completion put on a check just after our lookup missed it
    body = await _started(harness)
    await harness.checkout(body["session_secret"])
    async with wiring.toast_client(harness.settings, harness.store) as toast:
        intent = await toast.payment_intents.get(body["intent_id"], location=LOCATION)
        lookup = toast.orders.get_payment
        misses = []

        async def missed_once(guid: Any, *, location: str) -> Any:
            if not misses:  # the race: our lookup runs before the winner's order exists
                misses.append(guid)
                won = await toast.orders.create_order(
                    location=location, payments=[OrderPayment.for_intent(intent)]
                )
                winners.append(won.guid)
                raise toast_errors.ToastNotFound("not found", status=404)
            return await lookup(guid, location=location)

        winners: list[str] = []
        toast.orders.get_payment = missed_once  # type: ignore[method-assign]
        # When we try to apply it ourselves, Toast refuses (already applied)
        order = await first_payment.apply_to_check(toast, intent, location=LOCATION)
    # Then we answer with the winner's order, and the payment is on one check only
    assert order == winners[0]
    creates = await harness.control.requests(path="/orders/v2/orders", method="POST")
    assert sorted(r["status"] for r in creates) == [200, 400]
