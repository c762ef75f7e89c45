"""Catering events in the collections report, on SQLite and PostgreSQL against the sandbox:
milestone charges have their own plan line (not "One-off fees"), and the report lists the
upcoming milestones and the balances due by location, the same figures in every view."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from billing.events import booking
from billing.reports import html, jsonout, query, terminal
from billing.reports.model import EVENTS, ONE_OFF, CollectionsReport, Tally
from billing.reports.period import Month, spanning
from billing.sandbox import SandboxHandle
from billing.store.db import Store
from tests.engine.conftest import START
from tests.engine.world import World, world
from tests.events import helpers

EVENT_DAY = date(2027, 3, 15)  # 18:00 New York: second 2027-02-13 09:00, balance 2027-03-12 09:00
RAN_TO = datetime(2027, 2, 20, tzinfo=UTC)
DEPOSIT, SECOND, BALANCE = 220_825, 441_651, 220_825  # of $8,833.01 (tests/events/test_charged)


async def _book(w: World) -> tuple[int, int]:
    """One event collected up to its balance, one cancelled at once, and a $25.00 fee."""
    helpers.template(w)
    live, _ = await helpers.event(w, EVENT_DAY)
    gone, _ = await helpers.event(w, EVENT_DAY)
    with w.store.transaction() as session:
        booking.cancel(session, gone, now=w.clock.now())
    await w.fee(amount=2500)
    await w.run_until(RAN_TO, step=timedelta(days=2))
    return live, gone


def _report(store: Store, now: datetime) -> CollectionsReport:
    with store.transaction() as session:
        return query.collections(session, spanning(Month(2027, 1), 3), now=now)


@pytest.mark.anyio
async def test_event_charges_have_their_own_line_and_the_balances_due(
    sandbox: SandboxHandle, db_url: str
) -> None:
    async with world(sandbox, db_url, START) as w:
        live, gone = await _book(w)
        report = _report(w.store, w.clock.now())
        later = _report(w.store, datetime(2027, 3, 13, tzinfo=UTC))  # a snapshot past its due
    # Then the live event's paid deposit and second milestone count as event milestones (the
    # event cancelled at once was never charged), the fee as a one-off fee:
    assert report.plan(EVENTS).charged == Tally(count=2, cents=DEPOSIT + SECOND)
    assert report.plan(ONE_OFF).charged == Tally(count=1, cents=2500)
    assert [(p.code, p.name) for p in report.plans] == [
        (EVENTS, "Event milestones"), (ONE_OFF, "One-off fees")
    ]
    # and the one milestone still to collect is the live event's balance, in the event's zone
    [balance] = report.milestones
    assert (balance.event_id, balance.milestone, balance.amount_cents) == (live, "balance", BALANCE)
    assert balance.due_local == "2027-03-12 09:00 America/New_York"
    assert not balance.past_due
    assert gone not in {m.event_id for m in report.milestones}
    [where] = report.balances
    assert (where.location, where.events, where.due_cents, where.past_due_cents) == (
        w.location, 1, BALANCE, 0
    )
    assert later.balances[0].past_due_cents == BALANCE
    assert later.milestones[0].past_due
    # The JSON, terminal and HTML views carry the same figures
    data = jsonout.to_json(report)
    assert [p["name"] for p in data["plans"]] == ["Event milestones", "One-off fees"]
    assert data["eventMilestones"] == [{
        "eventId": live, "title": "Wedding", "location": w.location, "milestone": "balance",
        "amountCents": BALANCE, "dueAt": balance.due_at.isoformat(),
        "dueLocal": "2027-03-12 09:00 America/New_York", "pastDue": False,
        "eventStatus": "booked",
    }]  # fmt: skip
    assert data["eventBalances"] == [{"location": w.location, "label": w.location,
                                      "events": 1, "dueCents": BALANCE, "pastDueCents": 0}]
    console = Console(width=120, record=True)
    terminal.show(report, console)
    text = console.export_text()
    assert "Event milestones" in text
    assert "Upcoming event milestones" in text
    assert "Event balances due by location" in text
    row = next(line for line in text.splitlines() if f"#{live} Wedding" in line)
    assert "balance" in row
    assert "2027-03-12 09:00" in row
    assert "$2,208.25" in row
    page = html.render(report)
    assert "<h2>Upcoming event milestones</h2>" in page
    assert "<h2>Event balances due by location</h2>" in page
    assert "2027-03-12 09:00 America/New_York" in page
    assert "$2,208.25" in page


def test_the_events_sections_fit_a_phone_screen(
    chromium: str, sandbox: SandboxHandle, sqlite_url: str, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    async def build() -> str:
        async with world(sandbox, sqlite_url, START) as w:
            await _book(w)
            return html.render(_report(w.store, w.clock.now()))

    page_file = tmp_path / "report.html"
    page_file.write_text(asyncio.run(build()), encoding="utf-8")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.goto(page_file.as_uri())
            width = page.evaluate("document.documentElement.scrollWidth")
            rights = page.evaluate(
                "[...document.querySelectorAll('table.milestones, table.balances')]"
                ".map(t => t.parentElement.getBoundingClientRect().right)"
            )
        finally:
            browser.close()
    assert width <= 390
    assert len(rights) == 2
    assert max(rights) <= 390
