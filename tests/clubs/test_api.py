"""The member's club routes of the website API (in-process ASGI, the sandbox over loopback):
a member enrolled as today views the upcoming shipment and its amount, skips, customizes and
ships now, with the enrollment API's key and error shape."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import select

from billing.clubs import service
from billing.clubs import store as clubs_store
from billing.manage import locations, members
from billing.store.tables import Charge
from tests.clubs.club_world import SHIPPING, TAX
from tests.enroll.conftest import AUTH, LOCATION, Harness, harness, sandbox

__all__ = ["harness", "sandbox"]
pytestmark = pytest.mark.anyio


async def _member(h: Harness) -> tuple[int, int]:
    started = (await h.enroll()).json()
    assert (await h.checkout(started["session_secret"])).status_code == 200
    card = {"brand": "VISA", "last_four": "1111", "exp_month": 12, "exp_year": 2030}
    done = await h.http.post(f"/v1/enrollments/{started['id']}/complete", json={"card": card},
                             headers=AUTH)  # fmt: skip
    assert done.status_code == 200, done.text
    now = h.clock.now()
    with h.store.transaction() as session:
        locations.add(session, LOCATION, name="Winery", timezone="America/Los_Angeles", now=now)
        club = service.create_club(session, name="Cellar", location="Winery", pickup_region="CA",
                                   shipping=SHIPPING, tax_rates=TAX, notice_days=0,
                                   now=now)  # fmt: skip
        tier = service.add_tier(session, club, name="Six", bottles=6, discount_pct=15)
        customer = members.get_customer(session, "ann@example.com")
        member = service.join(session, club, customer=customer, tier=tier, delivery="ship",
                              region="CA", address="1 Vine St", now=now)  # fmt: skip
        assert member.mandate_id == started["mandate_id"]
        release = service.create_release(session, club, title="Spring",
                                         process_on=date(2027, 3, 20), now=now)  # fmt: skip
        for item, qty, cents in [("Pinot Noir 2024", 2, 4200), ("Chardonnay 2025", 1, 3150)]:
            service.set_line(session, release, item=item, qty=qty, retail_cents=cents, now=now)
        service.open_release(session, release, now=now)
        return member.id or 0, release.id or 0


async def test_a_member_views_skips_customizes_and_ships_now(harness: Harness) -> None:
    mid, rid = await _member(harness)
    base = f"/v1/memberships/{mid}/releases/{rid}"
    upcoming = await harness.http.get(f"/v1/memberships/{mid}/upcoming", headers=AUTH)
    assert upcoming.status_code == 200, upcoming.text
    view = upcoming.json()
    assert (view["release_id"], view["status"], view["editable"]) == (rid, "chargeable", True)
    assert view["amount_cents"] == 9818 + 1500 + 712
    assert view["card"] == "VISA ****1111"
    assert [x["net_cents"] for x in view["lines"]] == [7140, 2678]

    skipped = await harness.http.post(f"{base}/skip", headers=AUTH)
    assert skipped.json()["status"] == "skipped"
    back = await harness.http.post(f"{base}/skip", json={"undo": True}, headers=AUTH)
    assert back.json()["status"] == "chargeable"
    custom = await harness.http.post(f"{base}/customize", headers=AUTH, json={
        "lines": [{"item": "Syrah 2023", "qty": 3, "retail_cents": 3800}], "quantity": 2})
    assert custom.status_code == 200, custom.text
    assert custom.json()["goods_cents"] == 19380  # 6 x 3800 less 15 %
    bad = await harness.http.post(f"{base}/customize", headers=AUTH,
                                  json={"quantity": 0})  # fmt: skip
    assert (bad.status_code, bad.json()["field"]) == (422, "quantity")
    assert (await harness.http.get(base)).status_code == 401

    shipped = await harness.http.post(f"{base}/ship-now", headers=AUTH)
    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["status"] == "shipped_now"
    again = await harness.http.post(f"{base}/ship-now", headers=AUTH)
    assert again.status_code == 409
    with harness.store.transaction() as session:
        [charge] = session.exec(select(Charge).where(Charge.source == "club")).all()
        assert charge.source_key == clubs_store.charge_key(rid, mid)
        assert charge.amount_cents == shipped.json()["amount_cents"]


async def test_edits_after_the_cutoff_are_refused_naming_the_release(harness: Harness) -> None:
    mid, rid = await _member(harness)
    await harness.advance(timedelta(days=30))  # past 20 March's cutoff
    refused = await harness.http.post(f"/v1/memberships/{mid}/releases/{rid}/skip",
                                      headers=AUTH)  # fmt: skip
    assert refused.status_code == 422
    assert refused.json()["field"] == "release"
    assert "cutoff" in refused.json()["error"]
    view = (await harness.http.get(f"/v1/memberships/{mid}/releases/{rid}", headers=AUTH)).json()
    assert view["editable"] is False
    missing = await harness.http.get("/v1/memberships/999/upcoming", headers=AUTH)
    assert (missing.status_code, missing.json()["field"]) == (404, "membership")


async def test_the_member_routes_take_an_idempotency_key(harness: Harness) -> None:
    mid, rid = await _member(harness)
    base = f"/v1/memberships/{mid}/releases/{rid}"
    key = {**AUTH, "Idempotency-Key": "ship-1"}
    # Given ship now sent twice under one key (a website retrying after a lost answer)
    first = await harness.http.post(f"{base}/ship-now", headers=key)
    assert first.status_code == 200, first.text
    second = await harness.http.post(f"{base}/ship-now", headers=key)
    # Then the same answer, and one charge
    assert second.status_code == 200, second.text
    assert second.json() == first.json()
    with harness.store.transaction() as session:
        charges = session.exec(select(Charge).where(Charge.source == "club")).all()
    assert [c.amount_cents for c in charges] == [first.json()["amount_cents"]]
    # Without the key a second ship now is still a conflict
    assert (await harness.http.post(f"{base}/ship-now", headers=AUTH)).status_code == 409
    # The key with another request (another route) is refused, naming the header
    reused = await harness.http.post(f"{base}/skip", headers=key)
    assert reused.status_code == 409
    assert reused.json()["field"] == "Idempotency-Key"
    # A bad key is refused like the enrollment API's
    bad = await harness.http.post(f"{base}/skip", headers={**AUTH, "Idempotency-Key": "a b"})
    assert bad.status_code == 422


async def test_a_customize_repeated_under_its_key_is_done_once(harness: Harness) -> None:
    mid, rid = await _member(harness)
    base = f"/v1/memberships/{mid}/releases/{rid}"
    key = {**AUTH, "Idempotency-Key": "custom-7"}
    body = {"lines": [{"item": "Syrah 2023", "qty": 3, "retail_cents": 3800}]}
    first = await harness.http.post(f"{base}/customize", headers=key, json=body)
    assert first.status_code == 200, first.text
    # Staff change the shipment meanwhile: the repeat answers the first response, redoes nothing
    with harness.store.transaction() as session:
        service.customize(session, clubs_store.release(session, rid),
                          clubs_store.membership(session, mid), quantity=2,
                          now=harness.clock.now())  # fmt: skip
    again = await harness.http.post(f"{base}/customize", headers=key, json=body)
    assert (again.status_code, again.json()) == (200, first.json())
    with harness.store.transaction() as session:
        assert clubs_store.shipment(session, rid, mid).quantity == 2  # type: ignore[union-attr]
    # A different body under the same key is refused, and nothing is written
    other = {"lines": [{"item": "Syrah 2023", "qty": 1, "retail_cents": 3800}]}
    refused = await harness.http.post(f"{base}/customize", headers=key, json=other)
    assert (refused.status_code, refused.json()["field"]) == (409, "Idempotency-Key")
    with harness.store.transaction() as session:
        ship = clubs_store.shipment(session, rid, mid)
        assert ship is not None
        assert ship.override_lines == [{"item": "Syrah 2023", "qty": 3, "retail_cents": 3800}]
    # The schema shows the header on the member's mutating routes
    schema = (await harness.http.get("/openapi.json")).json()
    for route in ("skip", "customize", "ship-now"):
        path = "/v1/memberships/{membership_id}/releases/{release_id}/" + route
        params = schema["paths"][path]["post"]["parameters"]
        [header] = [p for p in params if p["in"] == "header"]
        assert (header["name"], header["required"]) == ("Idempotency-Key", False)
