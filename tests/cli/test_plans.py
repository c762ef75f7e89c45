"""`billing plans ...` end to end, bad input included."""

from __future__ import annotations

from tests.cli.conftest import LOC_B, Cli


def test_plans_lifecycle(cli: Cli) -> None:
    wine = cli.json(
        "plans", "create", "wine", "--kind", "recurring", "--name", "Wine club",
        "--amount", "45.00", "--interval", "month", "--anchor-day", "31", "--max-cycles", "12",
        "--timezone", "America/Chicago", "--local-time", "09:30", "--check-item", "Wine club",
        "--location", LOC_B,
    )  # fmt: skip
    assert (wine["amount_cents"], wine["version"], wine["anchor_day"]) == (4500, 1, 31)
    assert (wine["location_guid"], wine["timezone"], wine["local_time"]) == (
        LOC_B, "America/Chicago", "09:30",
    )  # fmt: skip
    deposit = cli.json(
        "plans", "create", "deposit", "--kind", "INSTALLMENT", "--total", "$1,000.01",
        "--payments", "3", "--interval", "week", spawn=False,
    )  # fmt: skip
    assert (deposit["total_cents"], deposit["installments"]) == (100001, 3)
    fee = cli.json("plans", "create", "noshow", "--kind", "UNSCHEDULED", "--amount", "25",
                   "--check-item", "No-show fee", spawn=False)  # fmt: skip
    assert fee["amount_cents"] == 2500

    v2 = cli.json("plans", "update", "wine", "--amount", "49.5", spawn=False)
    assert (v2["version"], v2["amount_cents"], v2["check_item"]) == (2, 4950, "Wine club")
    shown = cli.json("plans", "show", "wine")
    assert [v["amount_cents"] for v in shown["versions"]] == [4500, 4950]
    assert "versions" in shown
    assert shown["version"] == 2

    cli.ok("plans", "archive", "deposit", "--yes", spawn=False)
    assert {p["code"] for p in cli.json("plans", "list")} == {"wine", "noshow"}
    assert {p["code"] for p in cli.json("plans", "list", "--archived", spawn=False)} == {
        "wine", "noshow", "deposit",
    }  # fmt: skip
    assert "wine" in cli.ok("plans", "list", spawn=False)  # the Rich table


def test_plans_bad_input(cli: Cli) -> None:
    cli.ok("plans", "create", "wine", "--kind", "RECURRING", "--amount", "45", spawn=False)
    create = ("plans", "create", "x", "--kind", "RECURRING")
    cli.refused(*create, "--amount", "-5", says="--amount must be positive", spawn=True)
    cli.refused(*create, "--amount", "1000000.00", says="--amount must be between", spawn=True)
    cli.refused(*create, "--amount", "4.999", says="more than 2 decimals")
    cli.refused(*create, says="needs --amount")
    cli.refused(*create, "--amount", "4", "--timezone", "Mars/Base", says="--timezone")
    cli.refused(*create, "--amount", "4", "--interval", "fortnight", says="--interval")
    cli.refused(*create, "--amount", "4", "--anchor-day", "32", says="--anchor-day")
    cli.refused("plans", "create", "y", "--kind", "WEEKLY", "--amount", "4", says="--kind")
    cli.refused("plans", "create", "wine", "--kind", "RECURRING", "--amount", "4",
                says="already exists")  # fmt: skip
    cli.refused("plans", "show", "nope", says="unknown plan 'nope'", spawn=True)
    cli.refused("plans", "update", "nope", "--amount", "5", says="unknown plan")
    cli.refused("plans", "update", "wine", says="nothing to change")
    cli.refused("plans", "archive", "nope", "--yes", says="unknown plan")


def test_a_trial_and_the_plans_message_settings(cli: Cli) -> None:
    # Given a club with a 14-day trial
    wine = cli.json("plans", "create", "wine", "--kind", "RECURRING", "--amount", "45",
                    "--trial-days", "14", spawn=False)  # fmt: skip
    assert wine["trial_days"] == 14
    assert cli.json("plans", "update", "wine", "--trial-days", "0", spawn=False)["trial_days"] == 0
    create = ("plans", "create", "x", "--kind", "RECURRING", "--amount", "4")
    cli.refused(*create, "--trial-days", "-1", says="--trial-days: Input should be greater")
    cli.refused(*create, "--trial-days", "two", says="'--trial-days'")
    cli.refused("plans", "create", "fee", "--kind", "UNSCHEDULED", "--amount", "4",
                "--trial-days", "3", says="no --trial-days")  # fmt: skip
    # When staff set its messages: receipts off, reminders 7 days before
    shown = cli.json("plans", "messages", "wine", "--receipt", "off", "--reminder-days", "7",
                     spawn=False)  # fmt: skip
    # Then they are stored over the configuration's defaults, and `plans show` tells them
    assert shown["kinds"]["receipt"] is False
    assert shown["kinds"]["decline"] is True
    assert (shown["reminder_days"], shown["from"]["receipt"], shown["from"]["decline"]) == (
        7, "plan", "config (notify)")
    again = cli.json("plans", "show", "wine", spawn=False)["messages"]
    assert again["kinds"] == shown["kinds"]
    assert again["reminder_days"] == 7
    assert "reminder days" in cli.ok("plans", "messages", "wine", spawn=False)
    back = cli.json("plans", "messages", "wine", "--receipt", "default", "--reminder-days",
                    "default", spawn=False)  # fmt: skip
    assert (back["kinds"]["receipt"], back["reminder_days"]) == (True, 3)
    # And bad input is one line naming the option, nothing written
    cli.refused("plans", "messages", "wine", "--decline", "maybe", says="--decline: must be on")
    cli.refused("plans", "messages", "wine", "--reminder-days", "61", says="--reminder-days")
    cli.refused("plans", "messages", "nope", "--receipt", "on", says="unknown plan 'nope'",
                spawn=True)  # fmt: skip
