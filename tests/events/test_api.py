"""The event-booking routes over the enrollment API (in-process ASGI, the sandbox on loopback):
an event created with its deposit checkout, paid in the iframe with an INSTALLMENT standing
instruction, then its later milestones charged off-session by the engine; the schedule and the
guest's view; errors in the API's shape, nothing written."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import select

from billing import wiring
from billing.events import rules, schedules
from billing.store.tables import CateringEvent, Charge
from tests.enroll.conftest import AUTH, LOCATION, Harness, harness, sandbox

__all__ = ["harness", "sandbox"]
pytestmark = pytest.mark.anyio
STANDARD = [
    rules.Milestone(name="deposit", kind="percent", value=2500),
    rules.Milestone(name="second", kind="percent", value=5000, days_before=30),
    rules.Milestone(name="balance", kind="remainder", days_before=3),
]
BODY: dict[str, Any] = {
    "title": "Lee anniversary", "location": LOCATION, "timezone": "America/New_York",
    "date": "2027-05-20", "time": "19:00", "guests": 40, "schedule": "standard",
    "customer": {"email": "lee@example.com", "name": "Lee"}, "per_guest_cents": 12_345,
}  # fmt: skip


def _template(h: Harness) -> None:
    with h.store.transaction() as session:
        schedules.create(session, schedules.TemplateSpec(
            code="standard", name="Standard", milestones=STANDARD), now=h.clock.now())  # fmt: skip


def _count(h: Harness) -> int:
    with h.store.transaction() as session:
        return int(session.exec(select(func.count()).select_from(CateringEvent)).one())


async def _tick_until(h: Harness, days: int) -> None:
    async with wiring.engine(h.settings, clock=h.clock, store=h.store) as engine:
        for _ in range(days):
            await h.advance(timedelta(days=1))
            await engine.tick()


async def test_an_event_booked_with_a_deposit_checkout_then_charged_by_the_engine(
    harness: Harness,
) -> None:
    _template(harness)
    created = await harness.http.post("/v1/events", json=BODY,
                                      headers={**AUTH, "Idempotency-Key": "ev-1"})  # fmt: skip
    assert created.status_code == 201, created.text
    body = created.json()
    # 40 x $123.45 = $4,938.00: 25% = $1,234.50 now, 50% at 30 days, the rest at 3 days
    assert body["enrollment"]["first_payment_cents"] == 123_450
    assert body["enrollment"]["purpose"] == "event"
    assert "all payments of this event" in body["consent"]
    assert body["event"]["status"] == "tentative"
    again = await harness.http.post("/v1/events", json=BODY,
                                    headers={**AUTH, "Idempotency-Key": "ev-1"})  # fmt: skip
    assert again.json()["enrollment"]["id"] == body["enrollment"]["id"]
    assert _count(harness) == 1
    paid = await harness.checkout(body["enrollment"]["session_secret"])
    assert paid.json()["mandateId"], paid.text
    toast = await harness.control.items("mandates")
    assert [m["standingInstructionType"] for m in toast] == ["INSTALLMENT"]
    done = await harness.http.get(f"/v1/enrollments/{body['enrollment']['id']}", headers=AUTH)
    assert done.json()["status"] == "completed", done.text
    event_id = body["event"]["id"]
    staff = (await harness.http.get(f"/v1/events/{event_id}", headers=AUTH)).json()
    assert staff["status"] == "booked"
    assert [(m["milestone"], m["state"], m["amount_cents"]) for m in staff["schedule"]] == [
        ("deposit", "paid", 123_450), ("second", "open", 246_900), ("balance", "open", 123_450)
    ]
    await _tick_until(harness, 85)  # to 2027-05-25: past the event
    guest = (await harness.http.get(f"/v1/events/{event_id}/guest", headers=AUTH)).json()
    assert guest["status"] == "closed"
    assert (guest["paid_cents"], guest["balance_cents"]) == (493_800, 0)
    assert "charge_id" not in guest["schedule"][0]
    assert "mandate_id" not in guest
    ledger = await harness.control.items("order-payments")
    assert sorted((e["offSession"], e["amount"]) for e in ledger) == [
        (False, 123_450), (True, 123_450), (True, 246_900)
    ]
    with harness.store.transaction() as session:
        charges = session.exec(select(Charge).where(Charge.source == "event")).all()
    assert sorted(c.status for c in charges) == ["paid", "paid", "paid"]


async def test_bad_event_requests_name_the_field_and_write_nothing(harness: Harness) -> None:
    _template(harness)
    headers = {**AUTH, "Idempotency-Key": "ev-bad"}
    no_schedule = await harness.http.post("/v1/events", json={**BODY, "schedule": "nope"},
                                          headers=headers)  # fmt: skip
    assert no_schedule.status_code == 404
    assert no_schedule.json()["field"] == "schedule"
    past = await harness.http.post("/v1/events", json={**BODY, "date": "2026-01-01"},
                                   headers={**AUTH, "Idempotency-Key": "ev-past"})  # fmt: skip
    assert (past.status_code, past.json()["field"]) == (422, "date")
    guests = await harness.http.post("/v1/events", json={**BODY, "guests": 0},
                                     headers={**AUTH, "Idempotency-Key": "ev-g"})  # fmt: skip
    assert (guests.status_code, guests.json()["fields"]) == (422, ["guests"])
    no_key = await harness.http.post("/v1/events", json=BODY, headers=AUTH)
    assert no_key.status_code == 422
    unauthorized = await harness.http.get("/v1/events/1")
    assert unauthorized.status_code == 401
    missing = await harness.http.get("/v1/events/999", headers=AUTH)
    assert (missing.status_code, missing.json()["field"]) == (404, "event")
    assert _count(harness) == 0
