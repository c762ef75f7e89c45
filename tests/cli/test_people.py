"""An admin CLI for people: members, plans, cards and locations by name; destructive commands
that say what they will do and ask; checkouts never completed kept out of the lists."""

from __future__ import annotations

import contextlib
import sys
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text

from tests.cli.conftest import LOC_A, LOC_B, Cli
from tests.cli.terminal import on_terminal
from tests.cli.test_members import APPROVE, DECLINE

MASTERCARD = "5555555555554444"


def one_line(text_out: str) -> str:
    return " ".join(text_out.split())


def people(cli: Cli, *, named: bool = True) -> dict[str, int]:
    """Downtown named (unless not ``named``); Ann on the wine club and a fee card; Bob on wine
    only."""
    if named:
        cli.ok("locations", "add", LOC_A, "--name", "Downtown", spawn=False)
    cli.ok("plans", "create", "wine", "--kind", "RECURRING", "--amount", "45", "--name",
           "Wine club", spawn=False)  # fmt: skip
    cli.ok("plans", "create", "noshow", "--kind", "UNSCHEDULED", "--amount", "25", spawn=False)
    cli.ok("customers", "create", "--email", "ann@example.com", "--name", "Ann Lee", "--ref",
           "m-1", spawn=False)  # fmt: skip
    cli.ok("customers", "create", "--email", "bob@example.com", "--ref", "m-2", spawn=False)
    wine = cli.json("enroll", "--customer", "m-1", "--plan", "wine", "--start", "2030-01-15",
                    "--test-card", APPROVE, spawn=False)  # fmt: skip
    fee = cli.json("enroll", "--customer", "m-1", "--plan", "noshow", "--test-card", MASTERCARD,
                   spawn=False)  # fmt: skip
    bob = cli.json("enroll", "--customer", "m-2", "--plan", "wine", "--start", "2030-01-20",
                   "--test-card", APPROVE, spawn=False)  # fmt: skip
    return {"sub": wine["subscription_id"], "wine_mandate": wine["mandate_id"],
            "fee_mandate": fee["mandate_id"], "bob_sub": bob["subscription_id"]}  # fmt: skip


def column_values(table: str, row_start: str) -> str:
    return next(line for line in table.splitlines() if line.strip("│ ").startswith(row_start))


# --- item 12: business objects, by name -------------------------------------------------------


def test_lists_name_the_member_plan_amount_card_and_location(cli: Cli) -> None:
    ids = people(cli)
    subs = cli.ok("subscriptions", "list", spawn=False)
    ann = column_values(subs, str(ids["sub"]))
    for shown in ("Ann Lee <ann@example.com>", "Wine club (wine)", "$45.00 every month",
                  "VISA ****1111", "Downtown"):  # fmt: skip
        assert shown in ann, (shown, subs)
    assert "bob@example.com" in column_values(subs, str(ids["bob_sub"]))

    mandates = cli.ok("mandates", "list", spawn=False)
    fee = column_values(mandates, str(ids["fee_mandate"]))
    for shown in ("Ann Lee <ann@example.com>", "MASTERCARD ****4444", "one-off fees",
                  "UNSCHEDULED", "Downtown"):  # fmt: skip
        assert shown in fee, (shown, mandates)
    assert LOC_A not in mandates  # the name, not the GUID

    cli.ok("charges", "create", "--mandate", str(ids["fee_mandate"]), "--amount", "25",
           "--reason", "no-show 03-01", spawn=False)  # fmt: skip
    charges = one_line(cli.ok("charges", "list", spawn=False))
    assert "Ann Lee <ann@example.com>" in charges
    assert "fee: no-show 03-01" in charges
    assert "Downtown" in charges

    data = cli.json("subscriptions", "list", spawn=False)
    assert {(s["customer_email"], s["plan_name"], s["cycle_amount_cents"], s["location_name"])
            for s in data} == {("ann@example.com", "Wine club", 4500, "Downtown"),
                               ("bob@example.com", "Wine club", 4500, "Downtown")}  # fmt: skip


def test_an_unnamed_location_shows_a_short_guid(cli: Cli) -> None:
    cli.ok("plans", "create", "harbor", "--kind", "RECURRING", "--amount", "10", "--location",
           LOC_B, spawn=False)  # fmt: skip
    listed = cli.ok("plans", "list", spawn=False)
    assert LOC_B.split("-")[0] in listed
    assert LOC_B not in listed
    cli.ok("locations", "add", LOC_B, "--name", "Harbor", "--timezone", "America/Chicago",
           spawn=False)  # fmt: skip
    assert "Harbor" in cli.ok("plans", "list", spawn=False)


def test_show_commands_read_in_a_fixed_order_without_internals(cli: Cli) -> None:
    ids = people(cli)
    shown = cli.ok("subscriptions", "show", str(ids["sub"]), spawn=False)
    fields = ["member", "plan", "status", "amount", "card", "location", "time zone",
              "billing anchor", "next charge", "cycles paid"]  # fmt: skip
    where = [shown.index(f"│ {f} ") for f in fields]
    assert where == sorted(where), shown
    assert "Ann Lee <ann@example.com>" in shown
    assert "Wine club (wine v1)" in shown
    for internal in ("next_cycle", "plan_id", "customer_id", "mandate_id"):
        assert internal not in shown

    charge = cli.json("charges", "create", "--mandate", str(ids["fee_mandate"]), "--amount",
                      "25", "--reason", "no-show", spawn=False)  # fmt: skip
    shown = cli.ok("charges", "show", str(charge["id"]), spawn=False)
    where = [shown.index(f"│ {f} ") for f in ("member", "for", "amount", "status", "due")]
    assert where == sorted(where), shown
    for internal in ("lease_owner", "lease_expires_at", "request_key", "mandate_id"):
        assert internal not in shown

    shown = cli.ok("mandates", "show", str(ids["wine_mandate"]), spawn=False)
    where = [shown.index(f"│ {f} ") for f in ("customer", "card", "purpose", "status")]
    assert where == sorted(where), shown
    assert f"{ids['sub']} (Wine club (wine))" in one_line(shown)
    assert "toast_payment_method_id" not in shown
    assert "setup_intent_id" not in shown

    shown = cli.ok("customers", "show", "m-1", spawn=False)
    assert "Wine club (wine)" in shown
    assert "$45.00 every month" in shown
    assert "toast_customer_id" not in shown


def test_a_fee_charge_finds_the_customers_fee_card(cli: Cli) -> None:
    ids = people(cli)
    charge = cli.json("charges", "create", "--customer", "ann@example.com", "--amount", "25",
                      "--reason", "no-show", spawn=False)  # fmt: skip
    assert charge["mandate_id"] == ids["fee_mandate"]  # not the wine club's RECURRING mandate

    # Bob has only a RECURRING card-on-file: a fee is refused, not charged to it
    cli.refused("charges", "create", "--customer", "m-2", "--amount", "25", "--reason", "x",
                says="has no active card-on-file for one-off fees")  # fmt: skip
    cli.refused("charges", "create", "--customer", "nobody", "--amount", "25", "--reason", "x",
                says="unknown customer")  # fmt: skip
    cli.refused("charges", "create", "--amount", "25", "--reason", "x",
                says="--mandate ID or --customer REF")  # fmt: skip
    cli.refused("charges", "create", "--customer", "m-1", "--mandate", "1", "--amount", "25",
                "--reason", "x", says="one of them")  # fmt: skip

    # a second fee card makes the choice ambiguous: refused, naming both briefly
    cli.ok("enroll", "--customer", "m-1", "--plan", "noshow", "--test-card", APPROVE, spawn=False)
    line = cli.refused("charges", "create", "--customer", "m-1", "--amount", "25", "--reason",
                       "x", says="has 2 cards-on-file for fees")  # fmt: skip
    assert f"mandate {ids['fee_mandate']} (MASTERCARD ****4444" in line
    assert "Downtown" in line
    assert "--mandate ID" in line


def test_locations_are_named_in_the_forecast_and_the_report(cli: Cli) -> None:
    ids = people(cli)
    listed = cli.json("locations", "list", spawn=False)
    assert [(r["guid"], r["name"]) for r in listed] == [(LOC_A, "Downtown")]
    cli.ok("locations", "rename", "Downtown", "Main Street", spawn=False)
    cli.refused("locations", "add", "not-a-guid", "--name", "X", says="GUID")
    cli.refused("locations", "add", LOC_B, "--name", "Main Street", says="another location")
    cli.refused("locations", "add", LOC_B, "--name", "X", "--timezone", "America",
                says="--timezone")  # fmt: skip
    cli.refused("locations", "rename", "Nowhere", "Y", says="unknown location")

    today = datetime.now(UTC).date().isoformat()
    cli.ok("enroll", "--customer", "m-2", "--plan", "wine", "--start", today, "--test-card",
           APPROVE, spawn=False)  # fmt: skip
    forecast = cli.ok("upcoming", "--days", "5", spawn=False)
    assert "Main Street" in forecast
    assert LOC_A not in forecast
    data = cli.json("upcoming", "--days", "5", spawn=False)
    assert data["location_names"] == {LOC_A: "Main Street"}

    cli.ok("charges", "create", "--mandate", str(ids["fee_mandate"]), "--amount", "25",
           "--reason", "no-show", spawn=False)  # fmt: skip
    report = cli.ok("report", spawn=False)
    assert "Main Street" in report
    assert LOC_A.split("-")[0] not in report


# --- item 13: destructive commands say what they will do and ask -------------------------------


def statuses(url: str) -> dict[str, list[str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {t: [r[0] for r in conn.execute(text(f"SELECT status FROM {t} ORDER BY id"))]
                    for t in ("subscription", "mandate", "charge")} | {
                "plan": [str(r[0]) for r in conn.execute(text("SELECT active FROM plan"))]
            }  # fmt: skip
    finally:
        engine.dispose()


def test_destructive_commands_are_refused_without_a_terminal_unless_yes(cli: Cli) -> None:
    ids = people(cli, named=False)  # (on main too: no `billing locations` needed)
    charge = cli.json("charges", "create", "--mandate", str(ids["fee_mandate"]), "--amount",
                      "25", "--reason", "no-show", spawn=False)  # fmt: skip
    spare = cli.json("enroll", "--customer", "m-2", "--plan", "noshow", "--test-card", APPROVE,
                     spawn=False)["mandate_id"]  # fmt: skip
    before = statuses(cli.url)
    for command in (["subscriptions", "cancel", str(ids["sub"])],
                    ["subscriptions", "cancel", str(ids["sub"]), "--at-period-end"],
                    ["mandates", "revoke", str(spare)],
                    ["charges", "cancel", str(charge["id"])],
                    ["plans", "archive", "wine"]):  # fmt: skip
        cli.refused(*command, says="needs confirmation and there is no terminal to ask: add --yes")
        assert statuses(cli.url) == before, command
    # a subprocess with stdin from a pipe is no terminal either
    cli.refused("subscriptions", "cancel", str(ids["bob_sub"]), spawn=True, says="add --yes")
    assert statuses(cli.url) == before
    # what would be refused anyway is refused first, for what it is
    cli.refused("mandates", "revoke", str(ids["wine_mandate"]), says="cancel them first")
    assert cli.json("charges", "cancel", str(charge["id"]), "--yes", spawn=False)["status"] == (
        "cancelled"
    )


def answer(cli: Cli, command: list[str], reply: str, *, shows: list[str]) -> tuple[int, str]:
    """Run ``command`` on a terminal, wait for what it says it will do, answer ``reply``."""
    argv = [sys.executable, "-m", "billing.cli", *command]
    with on_terminal(argv, env=cli.env | {"COLUMNS": "200"}, cwd=cli.cwd) as term:
        said = term.out.wait_for(shows[0])
        term.type(reply + "\n")
        code = term.exit_code()
        with contextlib.suppress(AssertionError):  # read on to the end of the output
            term.out.wait_for("\0never")
    return code, " ".join([said, *term.out.seen])


@pytest.mark.parametrize("reply", ["n", "y"])
def test_subscription_cancel_says_what_it_will_do_and_asks(cli: Cli, reply: str) -> None:
    ids = people(cli, named=False)  # (on main too: no `billing locations` needed)
    code, said = answer(cli, ["subscriptions", "cancel", str(ids["sub"])], reply,
                        shows=["Cancel subscription"])  # fmt: skip
    assert "Ann Lee <ann@example.com> on Wine club (wine v1), $45.00 every month" in said
    assert f"Mandate {ids['wine_mandate']} (VISA ****1111" in said
    assert "[y/N]" in said
    sub_status = statuses(cli.url)["subscription"][0]
    if reply == "n":
        assert (code, sub_status) == (1, "active")
        assert "nothing changed" in said
    else:
        assert (code, sub_status) == (0, "cancelled")


def test_every_destructive_command_asks_on_a_terminal(cli: Cli) -> None:
    ids = people(cli, named=False)  # (on main too: no `billing locations` needed)
    charge = cli.json("charges", "create", "--mandate", str(ids["fee_mandate"]), "--amount",
                      "25", "--reason", "no-show", spawn=False)  # fmt: skip
    code, said = answer(cli, ["charges", "cancel", str(charge["id"])], "y",
                        shows=["Cancel charge"])  # fmt: skip
    assert code == 0
    assert "$25.00 from Ann Lee <ann@example.com> for fee: no-show" in said
    code, said = answer(cli, ["mandates", "revoke", str(ids["fee_mandate"])], "y",
                        shows=["Revoke mandate"])  # fmt: skip
    assert code == 0
    assert "Revoke mandate 2: MASTERCARD ****4444 " in said
    assert "of Ann Lee <ann@example.com>, for one-off fees (UNSCHEDULED) at 6f1e2d3c" in said
    code, said = answer(cli, ["plans", "archive", "wine"], "n", shows=["Archive plan"])
    assert code == 1
    assert "Wine club (wine v1): $45.00 every month" in said
    assert "its 2 live subscription(s) keep billing" in said
    after = statuses(cli.url)
    assert after["charge"] == ["cancelled"]
    assert after["mandate"][ids["fee_mandate"] - 1] == "revoked"
    assert set(after["plan"]) in ({"1"}, {"True"})  # still selling: the answer was no


# --- item 18: checkouts never completed stay out of the lists ----------------------------------


def test_lists_leave_out_checkouts_never_completed(cli: Cli) -> None:
    ids = people(cli, named=False)  # (on main too: no `billing locations` needed)
    setup = cli.json("enroll", "--customer", "m-2", "--plan", "wine")  # abandoned in the iframe
    assert setup["subscription_status"] == "pending_mandate"
    failed = cli.run("enroll", "--customer", "m-2", "--plan", "wine", "--test-card", DECLINE,
                     spawn=False)  # closed: its mandate setup_failed, its subscription cancelled
    assert failed.returncode == 1

    listed = cli.json("subscriptions", "list", spawn=False)
    assert [s["id"] for s in listed] == [ids["sub"], ids["bob_sub"]]
    table = cli.ok("subscriptions", "list", spawn=False)
    assert "2 checkout(s) never completed are not shown: --all lists them" in table
    everything = cli.json("subscriptions", "list", "--all", spawn=False)
    assert [s["status"] for s in everything] == ["active", "active", "pending_mandate",
                                                "cancelled"]  # fmt: skip
    assert [s["id"] for s in cli.json("subscriptions", "list", "--status", "pending_mandate",
                                      spawn=False)] == [setup["subscription_id"]]  # fmt: skip

    mandates = cli.json("mandates", "list", spawn=False)
    assert {m["status"] for m in mandates} == {"active"}
    assert "2 checkout(s) never completed" in cli.ok("mandates", "list", spawn=False)
    assert {m["status"] for m in cli.json("mandates", "list", "--all", spawn=False)} == {
        "active", "pending_setup", "setup_failed"
    }  # fmt: skip
