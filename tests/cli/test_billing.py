"""`billing subscriptions|charges|upcoming|attention|config` end to end."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlmodel import select

from billing.store.db import Store
from billing.store.tables import Attempt, Charge
from tests.cli.conftest import Cli
from tests.cli.test_members import APPROVE, setup_plans


def member(cli: Cli, plan: str = "wine", start: str = "2030-01-15") -> dict[str, int]:
    email = f"m{uuid.uuid4().hex[:6]}@example.com"
    cli.ok("customers", "create", "--email", email, spawn=False)
    return cli.json("enroll", "--customer", email, "--plan", plan, "--start", start,  # type: ignore[no-any-return]
                    "--test-card", APPROVE, spawn=False)  # fmt: skip


def test_subscriptions(cli: Cli) -> None:
    setup_plans(cli)
    a, b = member(cli), member(cli)
    sub = str(a["subscription_id"])
    assert len(cli.json("subscriptions", "list", "--status", "active")) == 2
    assert cli.json("subscriptions", "change-amount", sub, "--amount", "50.25",
                    spawn=False)["amount_cents"] == 5025  # fmt: skip
    paused = cli.json("subscriptions", "pause", sub, spawn=False)
    assert paused["status"] == "paused"
    resumed = cli.json("subscriptions", "resume", sub)
    assert resumed["status"] == "active"
    assert resumed["next_charge_at"].startswith("2030-01-15")
    shown = cli.json("subscriptions", "show", sub, spawn=False)
    assert shown["plan"]["code"] == "wine"
    assert shown["charges"] == []

    ending = cli.json("subscriptions", "cancel", str(b["subscription_id"]), "--at-period-end",
                      "--yes", spawn=False)  # fmt: skip
    assert ending["cancel_at_period_end"]
    assert ending["status"] == "active"
    cancelled = cli.json("subscriptions", "cancel", sub, "--yes")
    assert cancelled["status"] == "cancelled"
    assert cancelled["next_charge_at"] is None
    mandate = cli.json("mandates", "show", str(a["mandate_id"]), spawn=False)
    assert mandate["status"] == "revoked"  # its only subscription ended

    cli.refused("subscriptions", "pause", sub, says="cannot go from cancelled to paused")
    cli.refused("subscriptions", "resume", "99", says="unknown subscription 99")
    cli.refused("subscriptions", "change-amount", str(b["subscription_id"]), "--amount", "-1",
                says="--amount must be positive", spawn=True)  # fmt: skip
    cli.refused("subscriptions", "change-amount", str(b["subscription_id"]), "--amount",
                "1000000", says="--amount must be between")  # fmt: skip
    cli.refused("subscriptions", "cancel", str(b["subscription_id"]), "--at-period-end", "--yes",
                says="already ends at period end")  # fmt: skip


def needs_attention(url: str, charge_id: int, *, unsettled: bool) -> None:
    store = Store.from_url(url)
    now = datetime.now(UTC)
    try:
        with store.transaction() as session:
            charge = session.get(Charge, charge_id)
            assert charge is not None
            charge.status, charge.attempt_count = "needs_attention", 1
            session.add(Attempt(
                charge_id=charge_id, number=1, external_reference_id=str(uuid.uuid4()),
                status="unknown" if unsettled else "failed", toast_intent_id="pi-123",
                session_secret="PI_SECRET_x", error="Toast said no", created_at=now,
                updated_at=now, settled_at=None if unsettled else now,
            ))  # fmt: skip
    finally:
        store.dispose()


def settle(url: str, charge_id: int) -> None:
    store = Store.from_url(url)
    try:
        with store.transaction() as session:
            for attempt in session.exec(select(Attempt).where(Attempt.charge_id == charge_id)):
                attempt.status, attempt.settled_at = "failed", datetime.now(UTC)
    finally:
        store.dispose()


def test_charges_and_attention(cli: Cli) -> None:
    setup_plans(cli)
    fee = member(cli, "noshow")
    mandate = str(fee["mandate_id"])
    one = cli.json("charges", "create", "--mandate", mandate, "--amount", "25.00", "--reason",
                   "no-show", "--due", "2030-02-01T12:00:00Z")  # fmt: skip
    assert (one["amount_cents"], one["kind"], one["status"]) == (2500, "UNSCHEDULED", "scheduled")
    two = cli.json("charges", "create", "--mandate", mandate, "--amount", "10", "--reason",
                   "late cancel", spawn=False)  # fmt: skip
    listed = cli.json("charges", "list", "--status", "scheduled", "--due-before",
                      "2030-01-01T00:00:00Z", spawn=False)  # fmt: skip
    assert [c["id"] for c in listed] == [two["id"]]
    cancelled = cli.json("charges", "cancel", str(two["id"]), "--yes", spawn=False)
    assert cancelled["status"] == "cancelled"

    create = ("charges", "create", "--mandate", mandate, "--reason", "x")
    cli.refused(*create, "--amount", "-25", says="--amount must be positive")
    cli.refused(*create, "--amount", "25", "--due", "tomorrow", says="--due", spawn=True)
    cli.refused(*create, "--amount", "25", "--due", "2030-02-01T12:00", says="time zone")
    cli.refused("charges", "create", "--mandate", "99", "--reason", "x", "--amount", "5",
                says="unknown mandate 99")  # fmt: skip
    cli.refused("charges", "list", "--status", "lost", says="--status")
    cli.refused("charges", "cancel", str(two["id"]), "--yes", says="only scheduled")
    cli.refused("charges", "retry", str(one["id"]), says="only failed")
    cli.refused("charges", "retry", str(two["id"]), says="only failed")
    cli.refused("charges", "show", "99", says="unknown charge 99")

    assert cli.ok("attention", spawn=False).strip() == "nothing needs attention"
    needs_attention(cli.url, one["id"], unsettled=True)
    [item] = cli.json("attention")
    assert item["id"] == one["id"]
    assert item["last_attempt"]["toast_intent_id"] == "pi-123"
    assert "session_secret" not in item["last_attempt"]
    assert "pi-123" in item["advice"]
    cli.refused("charges", "retry", str(one["id"]), says="unsettled")
    settle(cli.url, one["id"])
    shown = cli.json("charges", "show", str(one["id"]), spawn=False)
    assert [a["status"] for a in shown["attempts"]] == ["failed"]
    assert "PI_SECRET" not in cli.ok("charges", "show", str(one["id"]), spawn=False)
    retried = cli.json("charges", "retry", str(one["id"]), spawn=False)
    assert retried["status"] == "scheduled"
    assert retried["next_attempt_at"] < "2030"


def test_upcoming_and_config(cli: Cli) -> None:
    setup_plans(cli)
    cli.ok("plans", "create", "deposit", "--kind", "INSTALLMENT", "--total", "100.00",
           "--payments", "3", "--interval", "week", spawn=False)  # fmt: skip
    today = datetime.now(UTC).date().isoformat()
    member(cli, "wine", start=today)
    member(cli, "deposit", start=today)
    fee = member(cli, "noshow")
    cli.ok("charges", "create", "--mandate", str(fee["mandate_id"]), "--amount", "5",
           "--reason", "x", spawn=False)  # fmt: skip
    forecast = cli.json("upcoming", "--days", "20")
    assert forecast["by_plan_cents"] == {"wine": 4500, "deposit": 10000, "(one-off)": 500}
    assert forecast["total_cents"] == 15000
    assert sum(forecast["by_location_cents"].values()) == 15000
    assert [i["cycle"] for i in forecast["items"] if i["plan"] == "deposit"] == [0, 1, 2]
    assert "total $150.00" in cli.ok("upcoming", "--days", "20", spawn=False)
    cli.refused("upcoming", "--days", "0", says="--days")

    rows = cli.json("config")
    by_name = {r["setting"]: r for r in rows}
    assert by_name["toast.client_secret"]["default"] == "(secret)"
    text = cli.ok("config", spawn=False)
    assert "BILLING_DATABASE_URL" in text
    assert "sandbox-client-secret" not in text
