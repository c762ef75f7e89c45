"""`billing clubs|releases|members ...` end to end on a SQLite file, with members' cards saved
in the sandbox over HTTP: errors name the field and write nothing."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, text

from billing.manage import members
from billing.sandbox.remote import SandboxControl
from billing.store.db import Store
from tests.cli.conftest import LOC_A, Cli, cli, cli_sandbox

__all__ = ["cli", "cli_sandbox"]
APPROVE = "4111111111111111"


def _member_card(cli: Cli, base_url: str, email: str) -> None:
    """A customer with an active RECURRING card-on-file (as an enrollment leaves them)."""
    async def save() -> dict[str, str]:
        control = SandboxControl.at(base_url)
        try:
            return dict(await control.card_on_file(LOC_A, APPROVE, "RECURRING"))
        finally:
            await control.aclose()

    cof = asyncio.run(save())
    store = Store.from_url(cli.url)
    try:
        with store.transaction() as session:
            customer = members.get_customer(session, email)
            members.add_active_mandate(
                session, customer=customer, location_guid=LOC_A, standing_instruction="RECURRING",
                toast_mandate_id=cof["mandateId"], payment_method_id=cof["paymentMethodId"],
                card_brand="VISA", card_last4="1111", card_exp=(12, 2035),
                now=datetime.now(UTC),
            )  # fmt: skip
    finally:
        store.dispose()


def _sql(cli: Cli, statement: str) -> list[tuple[object, ...]]:
    engine = create_engine(cli.url)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement))
            return [tuple(r) for r in result] if result.returns_rows else []
    finally:
        engine.dispose()


def test_a_club_run_from_the_command_line(cli: Cli, cli_sandbox: object) -> None:
    base_url = cli_sandbox.base_url  # type: ignore[attr-defined]
    run = lambda *a: cli.ok(*a, spawn=False)  # noqa: E731
    run("locations", "add", LOC_A, "--name", "Winery", "--timezone", "America/Los_Angeles")
    club = cli.json("clubs", "create", "Cellar Club", "--location", "Winery", "--pickup-region",
                    "CA", "--shipping", "CA=15", "--shipping", "*=25", "--tax",
                    "CA=7.25,NY=8.875", "--notice-days", "0", spawn=False)  # fmt: skip
    assert club["timezone"] == "America/Los_Angeles"
    assert club["tax %"] == {"CA": "7.25", "NY": "8.875"}
    run("clubs", "tiers", "add", "Cellar Club", "Six", "--bottles", "6", "--discount", "15")
    emails = [f"{n}{uuid.uuid4().hex[:6]}@example.com" for n in ("ann", "bob", "cy", "di")]
    ids = []
    for email in emails:
        run("customers", "create", "--email", email)
        _member_card(cli, base_url, email)
        joined = cli.json("clubs", "join", "Cellar Club", email, "--tier", "Six", "--ship", "CA",
                          "--address", "1 Vine St", spawn=False)  # fmt: skip
        assert joined["mandate_id"]
        ids.append(str(joined["membership_id"]))
    cli.refused("clubs", "join", "Cellar Club", emails[0], "--tier", "Six", "--pickup",
                says="already a member")  # fmt: skip
    cli.refused("clubs", "tiers", "add", "Cellar Club", "Big", "--bottles", "6", "--discount",
                "120", says="discount")  # fmt: skip

    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    rel = cli.json("releases", "create", "Cellar Club", "Spring", "--date", tomorrow,
                   spawn=False)  # fmt: skip
    rid = str(rel["id"])
    cli.refused("releases", "lines", rid, "--item", "Pinot", "--qty", "0", "--price", "42",
                says="qty")  # fmt: skip
    cli.refused("releases", "open", rid, says="no package lines")
    run("releases", "lines", rid, "--item", "Pinot Noir 2024", "--qty", "2", "--price", "42.00")
    run("releases", "lines", rid, "--item", "Chardonnay 2025", "--qty", "1", "--price", "31.50")
    cli.refused("members", "ship-now", ids[0], rid, says="open it first")
    run("releases", "open", rid)
    run("members", "skip", ids[1], rid)
    run("members", "customize", ids[2], rid, "--amount", "99.00", "--reason", "comp shipping")
    cli.refused("members", "customize", ids[2], rid, "--amount", "99.00", says="reason")
    run("members", "hold", ids[3], "--until", "2099-01-01")
    now_charge = cli.json("members", "ship-now", ids[0], rid, spawn=False)
    assert now_charge["amount_cents"] == 9818 + 1500 + 712

    shown = cli.json("releases", "preview", rid, spawn=False)
    by_id = {str(r["membership_id"]): r for r in shown["rows"]}
    assert [by_id[i]["category"] for i in ids] == ["shipped_now", "skipped", "chargeable",
                                                   "on_hold"]  # fmt: skip
    assert by_id[ids[2]]["amount_cents"] == 9900
    assert by_id[ids[2]]["card"] == "VISA ****1111"
    assert shown["totals"]["chargeable_cents"] == 9900
    page = cli.cwd / "preview.html"
    terminal = cli.ok("releases", "preview", rid, "--html", str(page), spawn=False)
    html = page.read_text()
    assert "comp shipping" in html
    assert "$99.00" in html
    assert emails[2] in html
    assert "NOT approved" in terminal
    assert "comp shipping" in terminal

    cli.refused("releases", "process", rid, says="before the cutoff")
    # The clock reaches the cutoff (the release's own cutoff moved to this instant: after
    # every member joined, before the commands below run).
    passed = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    _sql(cli, f"UPDATE club_release SET cutoff_at = '{passed}' WHERE id = {rid}")
    cli.refused("members", "skip", ids[2], rid, says="cutoff")
    refused = cli.run("releases", "process", rid, spawn=False)
    assert refused.returncode == 1
    assert "not approved" in refused.stderr
    run("releases", "approve", rid)
    done = cli.json("releases", "process", rid, spawn=False)
    assert (done["processed"], done["charges"]) == (True, 1)
    cli.refused("releases", "process", rid, says="the release is processing")
    charges = _sql(cli, "SELECT source_key, amount_cents FROM charge WHERE source = 'club' "
                        "ORDER BY amount_cents")  # fmt: skip
    assert charges == [(f"release:{rid}:member:{ids[2]}", 9900),
                       (f"release:{rid}:member:{ids[0]}", 12030)]  # fmt: skip
    report = cli.json("releases", "report", rid, spawn=False)
    assert report["counts"]["skipped"] == 1
    assert report["counts"]["on_hold"] == 1
    assert cli.json("clubs", "failed-billing", spawn=False) == []
    assert "withdrawn" in cli.ok("releases", "archive", rid, "--yes", spawn=False)
    statuses = _sql(cli, "SELECT status FROM charge WHERE source = 'club' ORDER BY amount_cents")
    # No engine ran here: nothing was collected, so archiving withdrew both (ship-now too).
    assert statuses == [("cancelled",), ("cancelled",)]
    assert "Cellar Club" in cli.ok("clubs", "show", "Cellar Club", spawn=False)
    assert len(cli.json("clubs", "members", "Cellar Club", spawn=False)) == 4


def test_staff_make_a_card_update_link_for_a_member(cli: Cli, cli_sandbox: object) -> None:
    base_url = cli_sandbox.base_url  # type: ignore[attr-defined]
    run = lambda *a: cli.ok(*a, spawn=False)  # noqa: E731
    run("locations", "add", LOC_A, "--name", "Winery", "--timezone", "America/Los_Angeles")
    run("clubs", "create", "Cellar Club", "--location", "Winery", "--shipping", "*=25",
        "--tax", "CA=7.25", "--notice-days", "0")  # fmt: skip
    run("clubs", "tiers", "add", "Cellar Club", "Six", "--bottles", "6", "--discount", "15")
    ann, bob = (f"{n}{uuid.uuid4().hex[:6]}@example.com" for n in ("ann", "bob"))
    for email in (ann, bob):
        run("customers", "create", "--email", email)
    _member_card(cli, base_url, ann)
    with_card = cli.json("clubs", "join", "Cellar Club", ann, "--tier", "Six", "--pickup",
                         spawn=False)["membership_id"]  # fmt: skip
    no_card = cli.json("clubs", "join", "Cellar Club", bob, "--tier", "Six", "--pickup",
                       spawn=False)["membership_id"]  # fmt: skip
    # A member without a card on file, or an unknown one: one line naming it, nothing written
    cli.refused("members", "update-card", str(no_card), says="membership")
    cli.refused("members", "update-card", "999", says="membership")
    # Given a member whose card was replaced (their club charges the new one)
    _member_card(cli, base_url, ann)
    [(old, new)] = _sql(cli, "SELECT min(id), max(id) FROM mandate")
    _sql(cli, f"UPDATE mandate SET replaced_by_id = {new} WHERE id = {old}")
    # When staff ask for a link: its URL first, for the card now in force
    printed = cli.ok("members", "update-card", str(with_card), spawn=False)
    url, detail = printed.splitlines()[:2]
    assert "/card/" in url
    assert f"mandate {new} (VISA 1111, RECURRING)" in detail
    links = _sql(cli, "SELECT mandate_id, created_by, used_at FROM card_link")
    assert links == [(new, "staff", None)]
    shown = cli.json("members", "update-card", str(with_card), spawn=False)
    assert (shown["membership_id"], shown["mandate_id"]) == (with_card, new)
    assert shown["url"] != url  # a new single-use link each time
    assert len(_sql(cli, "SELECT id FROM card_link")) == 2
