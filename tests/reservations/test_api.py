"""The reservations API end to end: booked through the API with a card-saving checkout in the
sandbox, statuses reported, the fee charged once by the engine over HTTP, the consent ended."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, func, select

from billing.domain.states import ChargeStatus, MandateStatus
from billing.reservations import policies
from billing.store.tables import Charge, Event, FeeDecision, Reservation
from tests.engine.conftest import LOC_A
from tests.reservations.conftest import AUTH, SLOT, Harness

pytestmark = pytest.mark.anyio
DECLINES_TWICE = "4000000000000341"


async def _payments(h: Harness) -> list[int]:
    return [p["amount"] for p in await h.w.control.items("order-payments")]


def _charge_count(h: Harness) -> int:
    with h.w.store.transaction() as session:
        return int(session.exec(select(func.count()).select_from(Charge)).one())


async def test_a_no_show_is_charged_once_after_the_delay_and_the_consent_ends(
    harness: Harness,
) -> None:
    h = harness
    h.policy()
    booked = await h.book("R-100", party=3)
    assert booked["status"] == "booked"
    assert booked["policy"]["version"] == 1
    assert booked["enrollment"]["fee_purpose"].startswith("Reservation R-100")
    h.w.clock.set(SLOT + timedelta(minutes=30))
    # Given a no-show reported twice (the reservation system retried)
    first = await h.status("R-100", "no_show", report_id="rep-1")
    again = await h.status("R-100", "no_show", report_id="rep-1")
    assert first.status_code == again.status_code == 200, first.text
    view = first.json()
    assert view["decision"]["amount_cents"] == 7500  # $25 x 3
    assert "no-show" in view["decision"]["reason"]
    reported = h.w.clock.now()
    assert view["charge"]["status"] == "scheduled"
    assert view["charge"]["due_at"].startswith((reported + timedelta(minutes=15)).isoformat()[:16])
    assert view["charge"]["check_item"].startswith("No-show fee, reservation R-100")
    assert "policy dinner v1" in view["charge"]["check_item"]
    # When the engine runs past the confirmation delay
    await h.advance_to(reported + timedelta(hours=1))
    # Then one payment of the fee, and the mandate revoked
    assert await _payments(h) == [7500]
    final = await h.get("R-100")
    assert final["charge"]["status"] == ChargeStatus.PAID
    assert final["closed_at"] is not None
    assert final["mandate_status"] == MandateStatus.REVOKED
    assert len(final["reports"]) == 1


async def test_a_no_show_reverted_inside_the_delay_is_never_charged(harness: Harness) -> None:
    h = harness
    h.policy()
    await h.book("R-200")
    h.w.clock.set(SLOT + timedelta(minutes=20))
    assert (await h.status("R-200", "no_show")).json()["charge"]["status"] == "scheduled"
    h.w.clock.advance(timedelta(minutes=10))  # inside the 15-minute delay
    seated = (await h.status("R-200", "seated")).json()
    assert seated["decision"]["amount_cents"] is None
    assert "reverted" in seated["decision"]["reason"]
    assert seated["charge"]["status"] == ChargeStatus.CANCELLED
    await h.advance_to(h.w.clock.now() + timedelta(hours=1))
    assert await _payments(h) == []
    assert (await h.get("R-200"))["mandate_status"] == MandateStatus.REVOKED


async def test_cancellations_inside_and_outside_the_window(harness: Harness) -> None:
    h = harness
    h.policy()
    await h.book("EARLY")
    await h.book("LATE", party=6)  # 6 x $25 = $150, capped at $100
    h.w.clock.set(SLOT - timedelta(hours=30))
    early = (await h.status("EARLY", "cancelled")).json()
    assert early["decision"]["amount_cents"] is None
    assert early["charge"] is None
    assert early["closed_at"] is not None
    h.w.clock.set(SLOT - timedelta(hours=3))
    late = (await h.status("LATE", "cancelled")).json()
    assert late["decision"]["amount_cents"] == 10_000
    assert "(cap)" in late["decision"]["reason"]
    await h.advance_to(h.w.clock.now() + timedelta(hours=2))
    assert await _payments(h) == [10_000]
    assert (await h.get("EARLY"))["mandate_status"] == MandateStatus.REVOKED


async def test_staff_lower_within_the_cap_or_waive_before_it_is_charged(
    harness: Harness,
) -> None:
    h = harness
    h.policy()
    await h.book("LOW", party=2)
    await h.book("WAIVE", party=2)
    h.w.clock.set(SLOT + timedelta(minutes=30))
    await h.status("LOW", "no_show")
    await h.status("WAIVE", "no_show")
    above = await h.fee("LOW", action="lower", amount_cents=20_000, reason="x", staff="Kim")
    assert above.status_code == 422
    assert above.json()["field"] == "amount"
    assert "cap" in above.json()["error"]
    raised = await h.fee("LOW", action="lower", amount_cents=6000, reason="x", staff="Kim")
    assert raised.status_code == 422  # above the $50 fee: staff may only lower
    lowered = await h.fee("LOW", action="lower", amount_cents=1500, reason="late train",
                          staff="Kim")  # fmt: skip
    assert lowered.status_code == 200, lowered.text
    assert lowered.json()["charge"]["amount_cents"] == 1500
    waived = await h.fee("WAIVE", action="waive", reason="regular guest", staff="Lee")
    assert waived.json()["decision"]["reason"].startswith("waived by Lee")
    assert waived.json()["charge"]["status"] == ChargeStatus.CANCELLED
    await h.advance_to(h.w.clock.now() + timedelta(hours=1))
    assert await _payments(h) == [1500]
    assert (await h.get("WAIVE"))["mandate_status"] == MandateStatus.REVOKED
    late = await h.fee("LOW", key="adj-2", action="waive", reason="too late", staff="Kim")
    assert late.status_code == 422  # already charged


async def test_a_policy_change_never_alters_a_booked_reservations_fee(harness: Harness) -> None:
    h = harness
    h.policy()
    await h.book("BEFORE", party=2)
    with h.w.store.transaction() as session:
        new = policies.update(session, LOC_A, "dinner", now=h.w.clock.now(), amount_cents=4000)
        assert new.version == 2
    await h.book("AFTER", party=2)
    h.w.clock.set(SLOT + timedelta(minutes=30))
    before = (await h.status("BEFORE", "no_show")).json()
    after = (await h.status("AFTER", "no_show")).json()
    assert (before["policy"]["version"], before["decision"]["amount_cents"]) == (1, 5000)
    assert (after["policy"]["version"], after["decision"]["amount_cents"]) == (2, 8000)


async def test_nothing_is_charged_after_the_last_moment(harness: Harness) -> None:
    h = harness
    h.policy(last_moment_hours=2)
    await h.book("LATE-REPORT")
    await h.book("NEVER-REPORTED")
    await h.book("ENGINE-DOWN")
    h.w.clock.set(SLOT + timedelta(minutes=30))
    assert (await h.status("ENGINE-DOWN", "no_show")).json()["charge"]["status"] == "scheduled"
    h.w.clock.set(SLOT + timedelta(hours=2, seconds=1))  # just after the last moment
    view = (await h.status("LATE-REPORT", "no_show")).json()
    assert view["decision"]["amount_cents"] is None
    assert "last moment" in view["decision"]["reason"]
    assert view["charge"] is None
    # That report also closed the reservations past their last moment: ENGINE-DOWN's fee was
    # due after its delay but the engine did not run before the last moment: withdrawn.
    with h.w.store.transaction() as session:
        down_charge = session.exec(select(Charge)).one()
        closed = session.exec(select(Reservation).where(col(Reservation.closed_at).is_not(None))
                              ).all()  # fmt: skip
    assert down_charge.status == ChargeStatus.CANCELLED
    assert {r.external_ref for r in closed} == {"LATE-REPORT", "NEVER-REPORTED", "ENGINE-DOWN"}
    honoured = await h.get("NEVER-REPORTED")
    assert honoured["closed_at"] is not None
    assert "honoured" in honoured["decision"]["reason"]
    down = await h.get("ENGINE-DOWN")
    assert (down["charge"]["status"], down["decision"]["amount_cents"]) == ("cancelled", None)
    await h.advance_to(h.w.clock.now() + timedelta(hours=2))
    assert await _payments(h) == []
    assert honoured["mandate_status"] in (MandateStatus.ACTIVE, MandateStatus.REVOKED)
    assert (await h.get("NEVER-REPORTED"))["mandate_status"] == MandateStatus.REVOKED


async def test_concurrent_identical_reports_make_one_charge(harness: Harness) -> None:
    h = harness
    h.policy()
    await h.book("RACE")
    h.w.clock.set(SLOT + timedelta(minutes=30))
    replies = await asyncio.gather(*(h.status("RACE", "no_show", report_id="same")
                                     for _ in range(6)))  # fmt: skip
    assert {r.status_code for r in replies} == {200}
    # Different report ids for the same no-show: still one charge.
    more = await asyncio.gather(*(h.status("RACE", "no_show", report_id=f"r{i}")
                                  for i in range(3)))  # fmt: skip
    assert {r.status_code for r in more} == {409}  # no-show -> no-show is not a transition
    assert _charge_count(h) == 1
    with h.w.store.transaction() as session:
        decisions = session.exec(select(func.count()).select_from(FeeDecision)).one()
    assert decisions == 1
    await h.advance_to(h.w.clock.now() + timedelta(hours=1))
    assert await _payments(h) == [5000]


async def test_api_errors_name_the_field_and_write_nothing(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    h.policy()
    await h.book("R-1")
    other: dict[str, Any] = {"reference": "R-1", "slot": SLOT.isoformat(), "party_size": 9,
                             "customer": {"email": "x@example.com"}}  # fmt: skip
    reused = await h.http.post("/v1/reservations", json=other,
                               headers={**AUTH, "Idempotency-Key": "R-1"})  # fmt: skip
    assert reused.status_code == 409
    assert reused.json()["field"] == "Idempotency-Key"
    dup = await h.http.post("/v1/reservations", json=other,
                            headers={**AUTH, "Idempotency-Key": "other"})  # fmt: skip
    assert dup.status_code == 409
    past = {**other, "reference": "R-2", "slot": (h.w.clock.now() - timedelta(hours=1)).isoformat()}
    bad = await h.http.post("/v1/reservations", json=past,
                            headers={**AUTH, "Idempotency-Key": "past"})  # fmt: skip
    assert (bad.status_code, bad.json()["field"]) == (422, "slot")
    missing = await h.status("NOPE", "no_show")
    assert (missing.status_code, missing.json()["field"]) == (404, "reference")
    unauth = await h.http.get("/v1/reservations/R-1")
    assert unauth.status_code == 401
    no_fee = await h.fee("R-1", action="waive", reason="x", staff="Kim")
    assert no_fee.status_code == 422
    conflict = await h.status("R-1", "seated", report_id="one")
    assert conflict.status_code == 200
    changed = await h.status("R-1", "completed", report_id="one")
    assert (changed.status_code, changed.json()["field"]) == (409, "report_id")
    assert _charge_count(h) == 0


async def test_a_fee_declined_for_good_closes_and_never_retries_after_the_last_moment(
    sqlite_harness: Harness,
) -> None:
    h = sqlite_harness
    h.policy()
    await h.book("DECLINED", card=DECLINES_TWICE)
    h.w.clock.set(SLOT + timedelta(minutes=30))
    await h.status("DECLINED", "no_show")
    await h.advance_to(SLOT + timedelta(hours=60), step=timedelta(hours=6))
    view = await h.get("DECLINED")
    # One retry a day fits before the last moment (slot + 48 h); the second decline ends it.
    assert view["charge"]["status"] == ChargeStatus.FAILED
    assert view["closed_at"] is not None
    assert view["mandate_status"] == MandateStatus.REVOKED
    with h.w.store.transaction() as session:
        charge = session.exec(select(Charge)).one()
    assert charge.decline_count == 2
    assert await _payments(h) == []


async def test_a_no_show_reverted_after_the_fee_was_charged_is_flagged_for_a_refund(
    sqlite_harness: Harness,
) -> None:
    h = sqlite_harness
    h.policy()
    await h.book("LATE-REVERT")
    h.w.clock.set(SLOT + timedelta(minutes=30))
    await h.status("LATE-REVERT", "no_show")
    await h.advance_to(h.w.clock.now() + timedelta(hours=1))
    seated = (await h.status("LATE-REVERT", "seated")).json()
    assert seated["decision"]["amount_cents"] is None  # a guest who came owes nothing
    assert seated["charge"]["status"] == ChargeStatus.PAID  # ... but it was already collected
    await h.status("LATE-REVERT", "completed")
    with h.w.store.transaction() as session:
        told = session.exec(select(Event).where(Event.type == "refund_due")).all()
    assert [e.data["amount_cents"] for e in told] == [5000]
    assert await _payments(h) == [5000]


async def test_a_slot_too_far_ahead_or_a_report_from_the_future_is_refused(
    sqlite_harness: Harness,
) -> None:
    h = sqlite_harness
    h.policy()
    body = {"reference": "FAR", "slot": "2099-01-01T19:00:00-05:00", "party_size": 2,
            "customer": {"email": "far@example.com"}}  # fmt: skip
    far = await h.http.post("/v1/reservations", json=body,
                            headers={**AUTH, "Idempotency-Key": "far"})  # fmt: skip
    assert (far.status_code, far.json()["field"]) == (422, "slot")
    await h.book("SOON")
    future = (h.w.clock.now() + timedelta(hours=1)).isoformat()
    early = await h.status("SOON", "cancelled", at=future)
    assert (early.status_code, early.json()["field"]) == (422, "at")
    assert (await h.get("SOON"))["reports"] == []


async def test_a_fee_decided_before_the_card_was_saved_is_charged_once_it_is(
    sqlite_harness: Harness,
) -> None:
    h = sqlite_harness
    h.policy()
    booked = await h.book("NO-CARD-YET", card=None)
    h.w.clock.set(SLOT + timedelta(minutes=30))
    early = (await h.status("NO-CARD-YET", "no_show")).json()
    assert (early["decision"]["amount_cents"], early["charge"]) == (5000, None)
    assert early["mandate_status"] == MandateStatus.PENDING_SETUP
    await h.checkout(booked)  # the guest finishes the checkout late
    view = await h.get("NO-CARD-YET")
    assert view["charge"]["status"] == ChargeStatus.SCHEDULED
    await h.advance_to(h.w.clock.now() + timedelta(hours=1))
    assert await _payments(h) == [5000]


async def test_the_engine_closes_a_quiet_reservation_past_its_last_moment(
    sqlite_harness: Harness,
) -> None:
    # Given a no-show whose fee the engine never started (it was down), and no report after it
    h = sqlite_harness
    h.policy(last_moment_hours=2)
    await h.book("QUIET")
    h.w.clock.set(SLOT + timedelta(minutes=30))
    assert (await h.status("QUIET", "no_show")).json()["charge"]["status"] == "scheduled"
    # When the engine runs again just after the last moment, with nobody reading the reservation
    h.w.clock.set(SLOT + timedelta(hours=2, seconds=1))
    await h.w.engine.tick()
    # Then its materialize lane closed it: the fee withdrawn unsent, the consent ended
    with h.w.store.transaction() as session:
        charge = session.exec(select(Charge)).one()
        quiet = session.exec(select(Reservation)).one()
    assert charge.status == ChargeStatus.CANCELLED
    assert quiet.closed_at is not None
    assert await _payments(h) == []
