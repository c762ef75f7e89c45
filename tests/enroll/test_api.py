"""The enrollment API: every endpoint, and every bad-input case of issue 7."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from billing import wiring
from billing.enroll import completer
from billing.store.tables import Customer, Enrollment, Mandate, Subscription
from tests.enroll.conftest import AUTH, Harness

pytestmark = pytest.mark.anyio


async def _enrolled(h: Harness, key: str = "k-1", **body: Any) -> dict[str, Any]:
    started = await h.enroll(key, **body)
    assert started.status_code == 201, started.text
    assert (await h.checkout(started.json()["session_secret"])).status_code == 200
    return dict(started.json())


async def test_join_the_wine_club(harness: Harness) -> None:
    # Given a RECURRING plan; When the website starts an enrollment
    started = await harness.enroll(customer={"email": "ann@example.com", "name": "Ann",
                                             "reference": "crm-1"})  # fmt: skip
    assert started.status_code == 201, started.text
    body = started.json()
    assert body["status"] == "pending"
    assert body["session_secret"].startswith("SI_")
    assert body["intent_type"] == "setup_intent"
    assert body["intent_id"]
    assert body["expires_at"]
    # And the customer authorizes the card in the iframe, and the website completes it
    assert (await harness.checkout(body["session_secret"])).status_code == 200
    card = {"brand": "VISA", "last_four": "1111", "exp_month": 12, "exp_year": 2030}
    done = await harness.http.post(f"/v1/enrollments/{body['id']}/complete",
                                   json={"card": card}, headers=AUTH)  # fmt: skip
    # Then the mandate is active with the card's details and the subscription is active
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed"
    assert done.json()["session_secret"] is None
    assert done.json()["card"] == {**card}
    with harness.store.transaction() as session:
        sub = session.get(Subscription, body["subscription_id"])
        mandate = session.get(Mandate, body["mandate_id"])
    assert sub is not None
    assert sub.status == "active"
    assert sub.next_charge_at is not None
    assert mandate is not None
    assert mandate.status == "active"
    assert mandate.toast_mandate_id
    toast_mandate = (await harness.control.find("mandates", id=mandate.toast_mandate_id))[0]
    assert toast_mandate["status"] == "ACTIVE"
    assert toast_mandate["standingInstructionType"] == "RECURRING"
    # And the customer's account lists the subscription and its next charge
    for ref in ("crm-1", "ann@example.com", str(body["customer_id"])):
        account = await harness.http.get(f"/v1/customers/{ref}/subscriptions", headers=AUTH)
        assert account.status_code == 200, account.text
        assert account.json()["subscriptions"][0]["status"] == "active"
        upcoming = account.json()["upcoming_charges"]
        assert upcoming[0]["amount_cents"] == 4500


async def test_get_reads_the_intent_back_and_completes(harness: Harness) -> None:
    body = await _enrolled(harness)
    got = await harness.http.get(f"/v1/enrollments/{body['id']}", headers=AUTH)
    assert got.status_code == 200
    assert got.json()["status"] == "completed"


async def test_pending_enrollment_keeps_giving_the_iframe_its_secret(harness: Harness) -> None:
    body = (await harness.enroll()).json()
    got = await harness.http.get(f"/v1/enrollments/{body['id']}", headers=AUTH)
    assert got.json()["status"] == "pending"
    assert got.json()["session_secret"] == body["session_secret"]


async def test_scheduled_job_completes_an_abandoned_tab(harness: Harness) -> None:
    # Given a customer who authorized the card and closed the tab before "complete"
    body = await _enrolled(harness)
    # When the scheduled job runs
    async with wiring.toast_client(harness.settings, harness.store) as toast:
        counts = await completer.complete_pending(harness.context(toast))
    # Then the enrollment is completed
    assert counts == {"completed": 1}
    with harness.store.transaction() as session:
        row = session.get(Enrollment, body["id"])
    assert row is not None
    assert row.status == "completed"


async def test_same_idempotency_key_twice_is_one_enrollment(harness: Harness) -> None:
    first, second = await harness.enroll("same"), await harness.enroll("same")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["session_secret"] == second.json()["session_secret"]
    with harness.store.transaction() as session:
        assert len(session.exec(select(Enrollment)).all()) == 1
    assert len(await harness.control.items("setup-intents")) == 1


async def test_same_key_sent_concurrently_is_one_enrollment_with_one_live_intent(
    harness: Harness,
) -> None:
    # When the website sends the same request 8 times at once (a double-clicked button)
    answers = await asyncio.gather(*(harness.enroll("burst", save_card=True) for _ in range(8)))
    # Then every answer is the same enrollment with the same, stored intent
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert len({a.json()["intent_id"] for a in answers}) == 1
    assert len({a.json()["session_secret"] for a in answers}) == 1
    with harness.store.transaction() as session:
        rows = session.exec(select(Enrollment)).all()
    assert len(rows) == 1
    assert rows[0].intent_id == answers[0].json()["intent_id"]
    # And the customer record at Toast that the card is saved to is the one we stored
    intents = {i["id"]: i for i in await harness.control.items("setup-intents")}
    with harness.store.transaction() as session:
        customer = session.exec(select(Customer)).one()
    assert intents[rows[0].intent_id]["customerId"] == customer.toast_customer_id
    # And completing it works with the secret every answer carried
    await harness.checkout(answers[-1].json()["session_secret"])
    done = await harness.http.get(f"/v1/enrollments/{rows[0].id}", headers=AUTH)
    assert done.json()["status"] == "completed"


async def test_same_key_with_another_body_is_a_conflict(harness: Harness) -> None:
    await harness.enroll("same")
    other = await harness.enroll("same", customer={"email": "bob@example.com"})
    assert other.status_code == 409
    assert other.json()["field"] == "Idempotency-Key"


async def test_expired_intent_gets_a_clear_status_and_a_new_one_can_start(
    harness: Harness,
) -> None:
    body = (await harness.enroll("first")).json()
    await harness.advance(timedelta(minutes=31))
    got = await harness.http.get(f"/v1/enrollments/{body['id']}", headers=AUTH)
    assert got.json()["status"] == "expired"
    assert "30 minutes" in got.json()["message"]
    assert got.json()["session_secret"] is None
    with harness.store.transaction() as session:
        sub = session.get(Subscription, body["subscription_id"])
    assert sub is not None
    assert sub.status == "cancelled"
    again = await harness.enroll("second")
    assert again.status_code == 201
    assert again.json()["status"] == "pending"
    assert (await harness.checkout(again.json()["session_secret"])).status_code == 200
    done = await harness.http.get(f"/v1/enrollments/{again.json()['id']}", headers=AUTH)
    assert done.json()["status"] == "completed"


async def test_declined_card_stays_pending_with_a_message(harness: Harness) -> None:
    body = (await harness.enroll()).json()
    result = await harness.checkout(body["session_secret"], card="4000000000000002")
    assert result.json()["error"]["code"] == "generic_decline"
    got = (await harness.http.get(f"/v1/enrollments/{body['id']}", headers=AUTH)).json()
    assert got["status"] == "pending"
    assert "declined" in got["message"]


async def test_checkout_needs_the_authorization_box(harness: Harness) -> None:
    body = (await harness.enroll()).json()
    refused = await harness.checkout(body["session_secret"], authorize=False)
    assert refused.status_code == 400
    assert "authorize" in refused.json()["message"]


async def test_saved_card_creates_then_reuses_the_toast_customer(harness: Harness) -> None:
    customer = {"email": "cy@example.com", "reference": "crm-9"}
    first = await harness.enroll("a", customer=customer, save_card=True)
    await harness.checkout(first.json()["session_secret"], rememberCard=True)
    done = await harness.http.get(f"/v1/enrollments/{first.json()['id']}", headers=AUTH)
    # the card's details come from the customer's saved cards at Toast (no hint needed)
    assert done.json()["card"] == {"brand": "VISA", "last_four": "1111", "exp_month": 12,
                                   "exp_year": 2030}  # fmt: skip
    second = await harness.enroll("b", customer=customer, save_card=True)
    assert second.json()["customer_id"] == first.json()["customer_id"]
    assert len(await harness.control.items("customers")) == 1


async def test_fee_enrollment_is_an_unscheduled_card_on_file(harness: Harness) -> None:
    body = await _enrolled(harness, fee_purpose="reservation no-show fee")
    got = (await harness.http.get(f"/v1/enrollments/{body['id']}", headers=AUTH)).json()
    assert got["status"] == "completed"
    assert got["subscription_id"] is None
    assert got["purpose"] == "fee"
    with harness.store.transaction() as session:
        mandate = session.get(Mandate, got["mandate_id"])
    assert mandate is not None
    assert mandate.standing_instruction == "UNSCHEDULED"
    assert mandate.status == "active"


async def test_cancel_revokes_the_mandate(harness: Harness) -> None:
    body = await _enrolled(harness)
    await harness.http.get(f"/v1/enrollments/{body['id']}", headers=AUTH)
    cancelled = await harness.http.post(
        f"/v1/subscriptions/{body['subscription_id']}/cancel", headers=AUTH
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    with harness.store.transaction() as session:
        mandate = session.get(Mandate, body["mandate_id"])
    assert mandate is not None
    assert mandate.status == "revoked"
    toast = await harness.control.find("mandates", id=mandate.toast_mandate_id)
    assert toast[0]["status"] == "INACTIVE"
    again = await harness.http.post(
        f"/v1/subscriptions/{body['subscription_id']}/cancel", headers=AUTH
    )
    assert again.status_code == 409


async def test_replace_the_card(harness: Harness) -> None:
    body = await _enrolled(harness)
    await harness.http.get(f"/v1/enrollments/{body['id']}", headers=AUTH)
    path = f"/v1/subscriptions/{body['subscription_id']}/card"
    started = await harness.http.post(path, headers={**AUTH, "Idempotency-Key": "new-card"})
    assert started.status_code == 201, started.text
    assert started.json()["purpose"] == "replace_card"
    repeat = await harness.http.post(path, headers={**AUTH, "Idempotency-Key": "new-card"})
    assert repeat.json()["id"] == started.json()["id"]
    await harness.checkout(started.json()["session_secret"], card="5555555555554444")
    done = await harness.http.get(f"/v1/enrollments/{started.json()['id']}", headers=AUTH)
    assert done.json()["status"] == "completed"
    with harness.store.transaction() as session:
        sub = session.get(Subscription, body["subscription_id"])
        old = session.get(Mandate, body["mandate_id"])
    assert sub is not None
    assert sub.mandate_id == started.json()["mandate_id"]
    assert sub.status == "active"
    assert old is not None
    assert old.status == "revoked"
    assert old.replaced_by_id == started.json()["mandate_id"]
    toast_old = await harness.control.find("mandates", id=old.toast_mandate_id)
    assert toast_old[0]["status"] == "INACTIVE"


# Bad input -----------------------------------------------------------------------------

ENDPOINTS = [
    ("POST", "/v1/enrollments"),
    ("GET", "/v1/enrollments/x"),
    ("POST", "/v1/enrollments/x/complete"),
    ("GET", "/v1/customers/x/subscriptions"),
    ("POST", "/v1/subscriptions/1/cancel"),
    ("POST", "/v1/subscriptions/1/card"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize("auth", [None, "Bearer wrong-key", "Basic abc", "Bearer "])
async def test_wrong_or_missing_api_key_is_401(
    harness: Harness, method: str, path: str, auth: str | None
) -> None:
    headers = {"Idempotency-Key": "k"} | ({"Authorization": auth} if auth else {})
    response = await harness.http.request(method, path, headers=headers, json={})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("body", "headers", "field"),
    [
        ({"plan": "wine-club"}, {}, "customer"),
        ({"plan": "wine-club", "customer": {"email": "not an email"}}, {}, "customer.email"),
        ({"plan": "wine-club", "customer": {"email": "a@b.co"}, "start_date": "soon"}, {},
         "start_date"),
        ({"plan": "Wine Club!", "customer": {"email": "a@b.co"}}, {}, "plan"),
        ({"customer": {"email": "a@b.co"}}, {}, ""),
        ({"plan": "wine-club", "fee_purpose": "x", "customer": {"email": "a@b.co"}}, {}, ""),
        ({"plan": "wine-club", "customer": {"email": "a@b.co"}, "extra": 1}, {}, "extra"),
        ({"plan": "wine-club", "customer": {"email": "a@b.co"}}, None, "Idempotency-Key"),
        ({"plan": "wine-club", "customer": {"email": "a@b.co"}, "anchor_day": 32}, {},
         "anchor_day"),
    ],
)  # fmt: skip
async def test_malformed_body_is_422_naming_the_field(
    harness: Harness, body: dict[str, Any], headers: dict[str, str] | None, field: str
) -> None:
    sent = AUTH if headers is None else {**AUTH, "Idempotency-Key": "k"}
    response = await harness.http.post("/v1/enrollments", json=body, headers=sent)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid request"
    assert any(f == field or f.startswith(field) for f in response.json()["fields"])


async def test_body_that_is_not_json_is_422(harness: Harness) -> None:
    response = await harness.http.post(
        "/v1/enrollments", content=b"{nope", headers={**AUTH, "Idempotency-Key": "k",
                                                      "Content-Type": "application/json"},
    )  # fmt: skip
    assert response.status_code == 422


async def test_unknown_plan_is_404(harness: Harness) -> None:
    response = await harness.enroll(plan="no-such-plan")
    assert response.status_code == 404
    assert response.json()["field"] == "plan"
    assert await harness.control.items("setup-intents") == []


async def test_anchor_day_sets_the_billing_day(harness: Harness) -> None:
    # Given an enrollment starting on Mar 5 that bills on the 31st of each month
    body = await _enrolled(harness, start_date="2027-03-05", anchor_day=31)
    await harness.http.get(f"/v1/enrollments/{body['id']}", headers=AUTH)
    with harness.store.transaction() as session:
        sub = session.get(Subscription, body["subscription_id"])
    assert sub is not None
    assert sub.anchor_day == 31
    assert sub.next_charge_at is not None
    assert sub.next_charge_at.date().isoformat() == "2027-03-31"


async def test_unscheduled_plan_is_a_card_on_file_at_the_plans_location(
    harness: Harness,
) -> None:
    harness.plan(code="no-show", name="No-show fee", kind="UNSCHEDULED", amount_cents=2500)
    body = await _enrolled(harness, plan="no-show")
    got = (await harness.http.get(f"/v1/enrollments/{body['id']}", headers=AUTH)).json()
    assert (got["status"], got["purpose"], got["plan"]) == ("completed", "fee", "no-show")
    assert got["fee_purpose"] == "No-show fee"
    assert got["subscription_id"] is None
    toast = await harness.control.items("mandates")
    assert [m["standingInstructionType"] for m in toast] == ["UNSCHEDULED"]


async def test_start_date_in_the_past_is_refused(harness: Harness) -> None:
    response = await harness.enroll(start_date="2020-01-01")
    assert response.status_code == 422
    assert response.json()["field"] == "start_date"


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/enrollments/nope"), ("POST", "/v1/enrollments/nope/complete"),
     ("GET", "/v1/customers/nobody@example.com/subscriptions"),
     ("GET", "/v1/customers/99999999999999999999999/subscriptions"),
     ("POST", "/v1/subscriptions/999/cancel")],
)  # fmt: skip
async def test_unknown_things_are_404(harness: Harness, method: str, path: str) -> None:
    response = await harness.http.request(method, path, headers=AUTH)
    assert response.status_code == 404, response.text


async def test_openapi_schema_is_served_at_docs(harness: Harness) -> None:
    schema = (await harness.http.get("/openapi.json")).json()
    assert "/v1/enrollments" in schema["paths"]
    assert (await harness.http.get("/docs")).status_code == 200


async def test_billing_run_schedules_the_completer_and_it_completes(harness: Harness) -> None:
    from billing.engine import runner

    body = await _enrolled(harness)
    async with wiring.engine(harness.settings, clock=harness.clock,
                             store=harness.store) as engine:  # fmt: skip
        scheduler = runner.build_scheduler(engine)
        assert {job.id for job in scheduler.get_jobs()} == {
            "heartbeat", "materialize", "sweep", "reconcile", "maintain", "dispatch",
            "enrollments",
        }
        await completer.run(engine)
    with harness.store.transaction() as session:
        row = session.get(Enrollment, body["id"])
    assert row is not None
    assert row.status == "completed"
