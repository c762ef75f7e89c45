"""One customer per email address through the enrollment API (issue 14, item 8): a second
enrollment without a reference is the same customer; with another reference it is refused."""

from __future__ import annotations

import pytest
from sqlmodel import select

from billing.store.tables import Customer
from tests.enroll.conftest import AUTH, Harness

pytestmark = pytest.mark.anyio


async def test_an_email_identifies_one_customer(harness: Harness) -> None:
    harness.plan(code="book-club", name="Book club", kind="RECURRING", amount_cents=1500)
    # Given a member who joined the wine club with their reference
    first = await harness.enroll("k-1", customer={"email": "ann@example.com", "reference": "c-1"})
    assert first.status_code == 201, first.text
    # When they join another plan without the reference, the address in another case
    again = await harness.enroll("k-2", plan="book-club", customer={"email": "ANN@example.com"})
    # Then it is the same customer, and a lookup by email shows both subscriptions
    assert again.status_code == 201, again.text
    assert again.json()["customer_id"] == first.json()["customer_id"]
    account = await harness.http.get("/v1/customers/Ann@Example.com/subscriptions", headers=AUTH)
    assert account.status_code == 200, account.text
    assert sorted(s["plan"] for s in account.json()["subscriptions"]) == ["book-club",
                                                                          "wine-club"]  # fmt: skip


async def test_a_taken_email_with_another_reference_is_refused(harness: Harness) -> None:
    first = await harness.enroll("k-1", customer={"email": "ann@example.com", "reference": "c-1"})
    assert first.status_code == 201, first.text
    intents = len(await harness.control.items("setup-intents"))
    # When another reference arrives with the same address
    other = await harness.enroll("k-2", customer={"email": "ann@EXAMPLE.com", "reference": "c-2"})
    # Then 409 names customer.email, and nothing was written or sent to Toast
    assert other.status_code == 409, other.text
    assert other.json()["field"] == "customer.email"
    assert other.json()["fields"] == ["customer.email"]
    with harness.store.transaction() as session:
        assert len(session.exec(select(Customer)).all()) == 1
    assert len(await harness.control.items("setup-intents")) == intents
