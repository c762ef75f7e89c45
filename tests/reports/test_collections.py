"""The collections report's numbers on a known quarter (see conftest): exact per month, plan,
location, and the ledger agreeing with the store."""

from __future__ import annotations

from datetime import UTC, datetime

from billing.reports import query
from billing.reports.model import ONE_OFF, Churn, Figures, Tally
from billing.reports.period import Month, Period, spanning
from billing.store.db import Store
from tests.engine.conftest import LOC_A, LOC_B
from tests.reports.conftest import Quarter

NOW = datetime(2027, 4, 4, tzinfo=UTC)


def _report(store: Store, period: Period) -> query.CollectionsReport:
    with store.transaction() as session:
        return query.collections(session, period, now=NOW)


def test_each_month_counts_exact_amounts(quarter_store: Store) -> None:
    report = _report(quarter_store, spanning(Month(2027, 1), 4))
    # January: the payer, the recovered member (paid on the 8th), the first installment, the fee
    assert report.month("2027-01") == Figures(
        charged=Tally(count=4, cents=4500 + 4500 + 33_334 + 2500),
        declined=Tally(count=2, cents=9000),
        recovered=Tally(count=1, cents=4500),
        failed=Tally(count=1, cents=4500),
        churned=Churn(paused=1),
    )
    for month in ("2027-02", "2027-03"):  # two members left, and an installment of $333.33
        assert report.month(month) == Figures(charged=Tally(count=3, cents=4500 + 4500 + 33_333))
    # April: the next cycles are materialized but due on the 5th, after NOW: not owed yet
    assert report.month("2027-04") == Figures()
    assert report.totals.charged == Tally(count=10, cents=129_500)
    assert report.totals.collection_rate == 10 / 11
    assert report.totals.recovery_rate == 0.5


def test_a_charge_is_outstanding_once_due_not_before(quarter_store: Store) -> None:
    # Given the April cycles, due on Apr 5 at 10:00 and not attempted (the store is at Apr 4)
    april = Period(first=Month(2027, 4), last=Month(2027, 4))
    with quarter_store.transaction() as session:
        before = query.collections(session, april, now=NOW)
        after = query.collections(session, april, now=datetime(2027, 4, 5, 12, tzinfo=UTC))
    # Then they are outstanding only from their due instant
    assert before.month("2027-04").outstanding == Tally()
    assert after.month("2027-04").outstanding == Tally(count=2, cents=9000)


def test_plans_locations_and_series(quarter_store: Store) -> None:
    report = _report(quarter_store, spanning(Month(2027, 1), 3))
    assert [p.code for p in report.plans] == ["deposit", "wine", ONE_OFF]
    assert report.plan("deposit").charged == Tally(count=3, cents=100_000)
    assert report.plan("wine").charged == Tally(count=6, cents=27_000)
    assert report.plan(ONE_OFF).charged == Tally(count=1, cents=2500)
    assert report.location(LOC_B).charged == Tally(count=3, cents=100_000)
    assert report.location(LOC_A).failed == Tally(count=1, cents=4500)
    assert report.line("2027-01", "wine", LOC_A).declined == Tally(count=2, cents=9000)
    assert [(p.month, p.collected_cents, p.recovered_cents, p.failed_cents)
            for p in report.series] == [
        ("2027-01", 44_834, 4500, 4500), ("2027-02", 42_333, 0, 0), ("2027-03", 42_333, 0, 0),
    ]  # fmt: skip


def test_a_single_month_and_an_empty_one(quarter_store: Store) -> None:
    march = Period(first=Month(2027, 3), last=Month(2027, 3))
    assert _report(quarter_store, march).totals.charged == Tally(count=3, cents=42_333)
    june = Period(first=Month(2027, 6), last=Month(2027, 6))
    assert _report(quarter_store, june).totals == Figures()


def test_months_follow_the_report_time_zone(quarter_store: Store) -> None:
    # The fee was charged at 2027-01-01T00:00Z: still December 31st in New York
    period = Period(first=Month(2026, 12), last=Month(2027, 1), timezone="America/New_York")
    report = _report(quarter_store, period)
    assert report.month("2026-12").charged == Tally(count=1, cents=2500)


def test_activity_span(quarter_store: Store) -> None:
    with quarter_store.transaction() as session:
        span = query.activity_span(session)
    assert span == Period(first=Month(2027, 1), last=Month(2027, 4))


def test_the_ledger_agrees_with_the_store(quarter: Quarter) -> None:
    check = quarter.check
    assert (check.captured, check.paid_charges) == (10, 10)
    assert check.captured_cents == check.paid_cents == 129_500
    assert (check.duplicates, check.unmatched, check.ok) == (0, 0, True)
    assert "duplicates: 0" in check.summary()
