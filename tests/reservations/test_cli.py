"""`billing policies ...` and `billing reservations ...` on a store filled through the API and
the engine (SQLite file, sandbox over loopback)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from billing.notify import dispatcher
from tests.cli.conftest import Cli
from tests.engine.conftest import LOC_A
from tests.notify import club
from tests.notify.mailbox import Mailbox, running_mailbox
from tests.reservations.conftest import SLOT, Harness

pytestmark = pytest.mark.anyio


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with running_mailbox() as box:
        yield box


async def test_policies_and_reservations_commands_and_the_evidence_export(
    sqlite_harness: Harness, sqlite_url: str, tmp_path: Path, mailbox: Mailbox
) -> None:
    h = sqlite_harness
    h.policy()
    await h.book("PAID", party=2)
    await h.book("OPEN", party=4)
    h.w.clock.set(SLOT + timedelta(minutes=30))
    await h.status("PAID", "no_show", reported_by="host: Sam")
    await h.advance_to(h.w.clock.now() + timedelta(minutes=30), step=timedelta(minutes=5))
    mail = club.settings(h.sandbox, sqlite_url, mailbox)
    assert await dispatcher.dispatch_once(h.w.store, h.w.clock, mail) >= 1  # PAID's receipt
    opened = (await h.status("OPEN", "no_show")).json()  # due in 15 minutes: not started
    assert opened["charge"]["status"] == "scheduled"
    cli = Cli(sqlite_url, tmp_path, {"BILLING_DATABASE_URL": sqlite_url,
                                     "PATH": os.environ.get("PATH", "")})  # fmt: skip

    # Policies: list, a new version, the old one still shown.
    assert [p["version"] for p in cli.json("policies", "list", spawn=False)] == [1]
    cli.ok("policies", "update", "dinner", "--amount", "30", "--location", LOC_A, spawn=False)
    listed = cli.json("policies", "list", "--all", spawn=False)
    assert [(p["version"], p["active"]) for p in listed] == [(1, False), (2, True)]
    old = cli.json("policies", "show", "dinner", "--version", "1", "--location", LOC_A,
                   spawn=False)  # fmt: skip
    assert old["amount_cents"] == 2500
    bad = cli.run("policies", "update", "dinner", "--per", "table", "--location", LOC_A,
                  spawn=False)  # fmt: skip
    assert bad.returncode != 0
    assert "per" in bad.stderr
    both = cli.run("policies", "update", "dinner", "--cap", "10", "--no-cap", "--location",
                   LOC_A, spawn=False)  # fmt: skip
    assert both.returncode != 0
    assert "--no-cap" in both.stderr
    uncapped = cli.json("policies", "update", "dinner", "--no-cap", "--location", LOC_A,
                        spawn=False)  # fmt: skip
    assert (uncapped["version"], uncapped["cap_cents"]) == (3, None)
    assert [p["version"] for p in cli.json("policies", "list", "--all", spawn=False)] == [1, 2, 3]

    # Reservations: list and show; the booked fee keeps version 1 after the update.
    rows = {r["reference"]: r for r in cli.json("reservations", "list", spawn=False)}
    assert rows["PAID"]["charge"]["status"] == "paid"
    assert rows["OPEN"]["decision"]["amount_cents"] == 10_000  # $25 x 4, the v1 cap
    assert "Status history" in cli.ok("reservations", "show", "PAID", spawn=False)

    # Staff: a paid fee cannot be changed; an unpaid one is waived with a reason and name.
    refused = cli.run("reservations", "waive", "PAID", "--reason", "x", "--staff", "Kim",
                      "--yes", spawn=False)  # fmt: skip
    assert refused.returncode != 0
    assert "already" in refused.stderr
    waived = cli.json("reservations", "waive", "OPEN", "--reason", "regular guest",
                      "--staff", "Kim", "--yes", spawn=False)  # fmt: skip
    assert waived["decision"]["reason"] == "waived by Kim: regular guest"

    # Evidence: JSON and a printable page.
    out = tmp_path / "evidence"
    cli.ok("reservations", "evidence", "PAID", "--out", str(out), spawn=False)
    data = json.loads((out / "PAID.json").read_text())
    assert data["policy_accepted"]["version"] == 1
    assert data["policy_accepted"]["consent_text"].startswith("A $25 per guest fee")
    assert data["policy_accepted"]["card_authorized_at"] is not None
    assert [(r["status"], r["reported_by"]) for r in data["status_history"]] == [
        ("no_show", "host: Sam")]
    [receipt] = [m for m in data["messages"] if m["kind"] == "receipt"]
    assert (receipt["recipient"], receipt["status"]) == ("paid@example.com", "sent")
    [attempt] = data["charge"]["attempts"]
    assert attempt["toast_payment_intent_id"]
    assert attempt["toast_order_guid"]
    assert data["card"]["toast_mandate_id"]
    page = (out / "PAID.html").read_text()
    assert "A $25 per guest fee" in page
    assert "paid@example.com" in page
    assert attempt["toast_payment_intent_id"] in page
    assert "4111111111111111" not in page + json.dumps(data)

