"""`billing customers ...`, `billing enroll` and `billing mandates ...` end to end."""

from __future__ import annotations

import httpx

from tests.cli.conftest import Cli

APPROVE = "4111111111111111"
DECLINE = "4000000000000002"


def setup_plans(cli: Cli) -> None:
    cli.ok("plans", "create", "wine", "--kind", "RECURRING", "--amount", "45", spawn=False)
    cli.ok("plans", "create", "noshow", "--kind", "UNSCHEDULED", "--amount", "25", spawn=False)


def test_customers_and_enrollment(cli: Cli) -> None:
    setup_plans(cli)
    ann = cli.json("customers", "create", "--email", "ann@example.com", "--name", "Ann",
                   "--ref", "m-1")  # fmt: skip
    assert ann["external_ref"] == "m-1"
    done = cli.json("enroll", "--customer", "m-1", "--plan", "wine", "--start", "2030-01-31",
                    "--test-card", APPROVE, "--save-card")  # fmt: skip
    assert done["enrollment_status"] == "completed"
    assert (done["mandate_status"], done["subscription_status"]) == ("active", "active")
    assert done["next_charge_at"].startswith("2030-01-31T")
    assert done["card"].startswith("VISA ****1111")
    assert "session_secret" not in done  # completed at once: nothing for an iframe

    pending = cli.json("enroll", "--customer", "ann@example.com", "--plan", "wine")
    assert pending["mandate_status"] == "pending_setup"
    assert pending["subscription_status"] == "pending_mandate"
    assert pending["session_secret"].startswith(f"SI_{pending['setup_intent_id']}")
    assert pending["enrollment_status"] == "pending"
    assert pending["expires_at"]

    fee = cli.json("enroll", "--customer", "m-1", "--plan", "noshow", "--test-card", APPROVE,
                   spawn=False)  # fmt: skip
    assert fee["subscription_id"] is None
    assert fee["mandate_status"] == "active"

    shown = cli.json("customers", "show", "m-1", spawn=False)
    assert shown["toast_customer_id"]
    assert [m["status"] for m in shown["mandates"]] == ["active", "pending_setup", "active"]
    assert [m["standing_instruction"] for m in shown["mandates"]] == [
        "RECURRING", "RECURRING", "UNSCHEDULED",
    ]  # fmt: skip
    assert [s["status"] for s in shown["subscriptions"]] == ["active", "pending_mandate"]
    assert all("session_secret" not in str(m) for m in shown["mandates"])
    assert [c["email"] for c in cli.json("customers", "list", spawn=False)] == ["ann@example.com"]
    assert "ann@example.com" in cli.ok("customers", "show", "1", spawn=False)


def test_enrollment_bad_input(cli: Cli) -> None:
    setup_plans(cli)
    cli.ok("customers", "create", "--email", "ann@example.com", spawn=False)
    enroll = ("enroll", "--customer", "ann@example.com")
    cli.refused("enroll", "--customer", "bob@example.com", "--plan", "wine",
                says="unknown customer 'bob@example.com'", spawn=True)  # fmt: skip
    cli.refused(*enroll, "--plan", "beer", says="unknown plan 'beer'")
    cli.refused(*enroll, "--plan", "wine", "--start", "2027-02-30", says="--start")
    cli.refused(*enroll, "--plan", "wine", "--anchor-day", "0", says="anchor")
    cli.refused(*enroll, "--plan", "wine", "--test-card", "4111111111111112", says="Luhn")
    cli.refused(*enroll, "--plan", "wine", "--test-card", "4111", says="--test-card")
    cli.refused("customers", "create", "--email", "not-an-email", says="email")
    cli.refused("customers", "show", "nobody", says="unknown customer")


def test_declined_test_card_closes_the_enrollment(cli: Cli) -> None:
    # Given a customer; When staff enroll them with a card Toast declines
    setup_plans(cli)
    cli.ok("customers", "create", "--email", "ann@example.com", spawn=False)
    done = cli.run("enroll", "--customer", "1", "--plan", "wine", "--test-card", DECLINE)
    # Then the command fails naming the card, and the enrollment is closed, not left pending
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "error: --test-card: the card was refused (CARD_DECLINED/generic_decline)"
    ]
    shown = cli.json("customers", "show", "1", spawn=False)
    assert [m["status"] for m in shown["mandates"]] == ["setup_failed"]
    assert [s["status"] for s in shown["subscriptions"]] == ["cancelled"]


def test_mandates(cli: Cli) -> None:
    setup_plans(cli)
    cli.ok("customers", "create", "--email", "ann@example.com", spawn=False)
    sub = cli.json("enroll", "--customer", "1", "--plan", "wine", "--test-card", APPROVE,
                   spawn=False)  # fmt: skip
    fee = cli.json("enroll", "--customer", "1", "--plan", "noshow", "--test-card", APPROVE,
                   spawn=False)  # fmt: skip
    listed = cli.json("mandates", "list", "--status", "active")
    assert [m["id"] for m in listed] == [sub["mandate_id"], fee["mandate_id"]]
    shown = cli.json("mandates", "show", str(sub["mandate_id"]), spawn=False)
    assert shown["live_subscriptions"] == [sub["subscription_id"]]
    assert shown["card_last4"] == "1111"
    assert shown["card_exp_year"] >= 2029

    cli.refused("mandates", "revoke", str(sub["mandate_id"]), "--yes", says="cancel them first")
    cli.refused("mandates", "revoke", "99", "--yes", says="unknown mandate 99")
    cli.refused("mandates", "list", "--status", "happy", says="--status")
    revoked = cli.json("mandates", "revoke", str(fee["mandate_id"]), "--yes")
    assert revoked["status"] == "revoked"
    assert revoked["revoked_at"]
    cli.refused("mandates", "revoke", str(fee["mandate_id"]), "--yes", says="revoked")
    at_toast = httpx.get(cli.env["BILLING_TOAST__BASE_URL"] + "/__sandbox__/mandates").json()
    status = {m["id"]: m["status"] for m in at_toast["items"]}
    assert status[revoked["toast_mandate_id"]] == "INACTIVE"
    assert status[shown["toast_mandate_id"]] == "ACTIVE"
