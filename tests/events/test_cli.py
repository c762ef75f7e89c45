"""`billing events` and `billing schedules` end to end in the real CLI (in process, on a SQLite
file): every command, and bad input refused with one line naming the option, nothing written."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import create_engine, text

from billing.manage import members
from billing.store.db import Store
from tests.cli.conftest import LOC_A, Cli, cli, cli_sandbox

__all__ = ["cli", "cli_sandbox"]
EVENT_TABLES = ("catering_event", "event_milestone", "guest_count_change", "charge",
                "schedule_template")  # fmt: skip


def _counts(c: Cli) -> dict[str, int]:
    engine = create_engine(c.url)
    try:
        with engine.connect() as conn:
            return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                    for t in EVENT_TABLES}  # fmt: skip
    finally:
        engine.dispose()


def _refused(c: Cli, *args: str, says: str) -> None:
    before = _counts(c)
    done = c.run(*args, spawn=False)
    assert done.returncode == 1, (args, done.stdout)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert says in lines[0], lines[0]
    assert _counts(c) == before


def _guest(c: Cli) -> tuple[str, int]:
    store = Store.from_url(c.url)
    now = datetime.now(UTC)
    try:
        with store.transaction() as session:
            customer = members.create_customer(session, email="ana@example.com", now=now)
            mandate = members.add_active_mandate(
                session, customer=customer, location_guid=LOC_A,
                standing_instruction="INSTALLMENT", toast_mandate_id=str(uuid.uuid4()),
                payment_method_id=None, now=now,
            )  # fmt: skip
            return "ana@example.com", mandate.id or 0
    finally:
        store.dispose()


def test_the_events_commands_end_to_end(cli: Cli) -> None:
    year = datetime.now(UTC).year + 1
    cli.ok("locations", "add", LOC_A, "--name", "Downtown", "--timezone", "America/Chicago",
           spawn=False)  # fmt: skip
    made = cli.json("schedules", "create", "standard", "--name", "25/50/rest",
                    "--milestone", "deposit=25%@signing", "--milestone", "second=50%@30",
                    "--milestone", "balance=rest@3", "--tier", "30:deposit", "--tier", "0:all",
                    spawn=False)  # fmt: skip
    assert made[0]["milestones"][0] == "deposit: 25% at signing"
    _refused(cli, "schedules", "create", "bad", "--name", "x", "--milestone", "a=25%@signing",
             says="--milestone")  # fmt: skip
    _refused(cli, "schedules", "create", "bad", "--name", "x", "--milestone", "a=rest@3",
             "--tier", "30:deposit", says="--tier")  # fmt: skip
    customer, mandate = _guest(cli)
    create = ("events", "create", "--title", "Smith wedding", "--location", "Downtown",
              "--date", f"{year}-06-12", "--guests", "120", "--per-guest", "85",
              "--fixed", "1500.01", "--schedule", "standard", "--customer", customer)  # fmt: skip
    _refused(cli, *create[:-2], "--customer", "nobody@example.com", says="customer")
    _refused(cli, *create, "--mandate", "999", says="--mandate")
    _refused(cli, *create, "--guests", "0", says="--guests")
    _refused(cli, *create[:7], f"{year - 2}-06-12", *create[8:], says="--date")
    event = cli.json(*create, "--mandate", str(mandate), spawn=False)
    assert (event["status"], event["total_cents"]) == ("booked", 120 * 8500 + 150_001)
    # 25% of $11,700.01 = 292500.25 -> 292500; 50% = 585000.5 -> 585001; the rest 292500
    assert [m["amount_cents"] for m in event["schedule"]] == [292_500, 585_001, 292_500]
    assert event["timezone"] == "America/Chicago"
    event_id = str(event["id"])
    moved = cli.json("events", "move", event_id, "--date", f"{year}-06-19", spawn=False)
    assert moved["schedule"][2]["due_at"].startswith(f"{year}-06-16T14:00")  # 09:00 CDT
    more = cli.json("events", "guests", event_id, "130", spawn=False)
    # nothing paid yet (no engine ran): every milestone follows the new total, $12,550.01
    assert [m["amount_cents"] for m in more["schedule"]] == [313_750, 627_501, 313_750]
    edited = cli.json("events", "schedule", event_id, "--set", "second=40%@45",
                      "--add", "tasting=$500@60", spawn=False)  # fmt: skip
    # $12,550.01: 25% = 313750.25 -> 313750; tasting $500; 40% = 502000.4 -> 502000; the rest
    assert [(m["milestone"], m["amount_cents"]) for m in edited["schedule"]] == [
        ("deposit", 313_750), ("tasting", 50_000), ("second", 502_000), ("balance", 389_251)]
    _refused(cli, "events", "schedule", event_id, "--add", "x=rest@1", says="--add/--set")
    _refused(cli, "events", "schedule", event_id, "--remove", "nope", says="--remove")
    _refused(cli, "events", "schedule", event_id, "--set", "second=90%@45", says="100%")
    waived = cli.json("events", "waive", event_id, "tasting", "--reason", "goodwill", "--yes",
                      spawn=False)  # fmt: skip
    assert (waived["written_off_cents"], waived["schedule"][1]["state"]) == (50_000, "waived")
    assert waived["schedule"][3]["amount_cents"] == 389_251  # not rolled into the balance
    _refused(cli, "events", "waive", event_id, "tasting", "--reason", "x", "--yes",
             says="no longer open")  # fmt: skip
    _refused(cli, "events", "link", event_id, says="is booked")
    priced = cli.json("events", "price", event_id, "--total", "12000", spawn=False)
    assert priced["total_cents"] == 1_200_000
    assert sum(m["amount_cents"] for m in priced["schedule"]) == 1_200_000  # 50_000 waived
    _refused(cli, "events", "price", event_id, "--per-guest", "-5", says="--per-guest")
    listed = cli.ok("events", "list", spawn=False)
    assert "Smith wedding" in listed
    assert "balance" in cli.ok("events", "show", event_id, spawn=False)
    cancelled = cli.json("events", "cancel", event_id, "--yes", spawn=False)
    assert cancelled["status"] == "cancelled"
    assert cancelled["refund_owed_cents"] == 0  # nothing was collected (no engine ran)
    _refused(cli, "events", "close", event_id, "--yes", says="already cancelled")
    _refused(cli, "events", "guests", event_id, "140", says="cancelled")
    assert cli.json("events", "list", "--refunds-owed", spawn=False) == []
