"""Report figures a restaurant reads (issue 14 item 16): churn, the paid share, month labels
across a new year, and one vocabulary in every view."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from rich.console import Console

from billing.manage import subscriptions
from billing.reports import aggregate, html, query, terminal
from billing.reports.aggregate import ChargeFact
from billing.reports.model import LABELS, PlanInfo
from billing.reports.period import Month, Period
from billing.store.db import Store
from billing.store.tables import Subscription
from tests import factories
from tests.reports.test_collections import NOW

T = datetime(2027, 1, 10, 12, tzinfo=UTC)
JAN = Period(first=Month(2027, 1), last=Month(2027, 1))


def _paid(n: int, status: str = "paid", at: datetime = T) -> list[ChargeFact]:
    return [
        ChargeFact(plan="wine", location="loc", amount_cents=4500, status=status,
                   decline_count=0, due_at=at, first_declined_at=None, settled_at=at)
        for _ in range(n)
    ]  # fmt: skip


def _report(facts: list[ChargeFact], period: Period = JAN) -> aggregate.CollectionsReport:
    plans = [PlanInfo(code="wine", name="Wine", kind="RECURRING")]
    later = T + timedelta(days=400)
    return aggregate.build(period, charges=facts, ends=[], generated_at=later, plans=plans)


def test_a_paused_then_resumed_member_is_not_churned(store: Store) -> None:
    # Given one member paused then resumed, and one paused for good
    with store.transaction() as session:
        first = factories.subscription(session)
        second = Subscription(**first.model_dump(exclude={"id"}))
        session.add(second)
        session.flush()
        back, gone = first.id or 0, second.id or 0
        for sub_id in (back, gone):
            subscriptions.pause(session, sub_id, now=T)
        subscriptions.resume(session, back, now=T + timedelta(days=3))
    # Then only the one still paused counts as churned
    with store.transaction() as session:
        report = query.collections(session, JAN, now=T + timedelta(days=5))
    assert report.totals.churned.paused == 1


def test_293_paid_and_1_failed_is_not_shown_as_100_percent() -> None:
    report = _report(_paid(293) + _paid(1, status="failed"))
    page = html.render(report)
    assert re.search(r">99\.6%<", page)
    assert not re.search(r">100(\.0)?%<", page)
    assert re.search(r">100\.0%<", html.render(_report(_paid(5))))


def test_month_labels_keep_their_year_when_the_period_spans_two() -> None:
    period = Period(first=Month(2026, 11), last=Month(2027, 2))
    late = datetime(2026, 11, 10, 12, tzinfo=UTC)
    report = _report(_paid(1, at=late) + _paid(1), period)
    assert [g.label for g in report.by_month] == ["Nov 2026", "Dec 2026", "Jan 2027", "Feb 2027"]
    assert next(p.label for p in report.series) == "Nov 2026"
    one_year = _report(_paid(1), Period(first=Month(2027, 1), last=Month(2027, 3)))
    assert [g.label for g in one_year.by_month] == ["Jan 2027", "Feb", "Mar"]


def test_terminal_and_html_use_the_same_words() -> None:
    report = _report(_paid(2) + _paid(1, status="failed"))
    console = Console(width=120, record=True)
    terminal.show(report, console)
    text = console.export_text()
    page = html.render(report)
    for word in LABELS.values():
        assert word in text
        assert f"<th>{word}</th>" in page
    assert "Charged" not in page
    assert "CHARGED" not in page.upper().replace("CHARGES", "")


def test_active_members_and_monthly_recurring_revenue_per_month(quarter_store: Store) -> None:
    # Given the quarter (see conftest): three wine members at $45 and a 3-part deposit
    # (INSTALLMENT: not recurring revenue); one member fails in January and is paused
    with quarter_store.transaction() as session:
        report = query.collections(
            session, Period(first=Month(2027, 1), last=Month(2027, 4)), now=NOW
        )
    trend = {p.month: (p.active_members, p.mrr_cents) for p in report.series}
    # Then January bills three members, Feb and March the two left, April's two are scheduled
    assert trend == {
        "2027-01": (3, 13_500), "2027-02": (2, 9_000), "2027-03": (2, 9_000),
        "2027-04": (2, 9_000),
    }  # fmt: skip
    page = html.render(report)
    assert "Monthly recurring revenue" in page
    assert "<td>$90.00</td>" in page


def test_a_yearly_plan_counts_a_twelfth_of_its_amount_per_month() -> None:
    assert aggregate.monthly_share("year", 1) == 1 / 12
    assert aggregate.monthly_share("month", 3) == 1 / 3
    facts = [aggregate.TrendFact(month="2027-01", members=2, cents=24_000, per_month=1 / 12)]
    report = aggregate.build(JAN, charges=[], ends=[], plans=[], generated_at=T, trend=facts)
    assert (report.series[0].active_members, report.series[0].mrr_cents) == (2, 2_000)
