"""The pure club rules: the amount rule and its rounding, DST-safe process instants, the
cutoff, the skip cap, who is charged, state moves, and preview equality."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.clubs import rules
from billing.errors import DomainError, InvalidTransition

ZONES = ["America/Los_Angeles", "America/New_York", "Europe/London", "America/Santiago",
         "Australia/Lord_Howe", "Asia/Tehran", "UTC", "America/Havana"]  # fmt: skip
lines_st = st.lists(
    st.builds(rules.Line, st.sampled_from(["a", "b", "c", "d"]), st.integers(1, 12),
              st.integers(0, 50_000)),
    min_size=1, max_size=6,
)


def exact_half_up(value: Fraction) -> int:
    floor = value.numerator // value.denominator
    return floor + (1 if value - floor >= Fraction(1, 2) else 0)


@given(lines_st, st.integers(0, 100), st.integers(1, 4), st.integers(0, 5000),
       st.integers(0, 250_000))  # fmt: skip
def test_amount_is_lines_at_the_club_price_plus_shipping_plus_tax_on_goods(
    lines: list[rules.Line], pct: int, quantity: int, shipping: int, tax_ppm: int
) -> None:
    result = rules.amount(lines, discount_pct=pct, quantity=quantity, shipping_cents=shipping,
                          tax_ppm=tax_ppm)  # fmt: skip
    nets = [exact_half_up(Fraction(x.qty * quantity * x.retail_cents * (100 - pct), 100))
            for x in lines]  # fmt: skip
    assert [p.net_cents for p in result.lines] == nets
    assert result.goods_cents == sum(nets)
    assert result.tax_cents == exact_half_up(Fraction(sum(nets) * tax_ppm, 1_000_000))
    assert result.total_cents == sum(nets) + shipping + result.tax_cents
    assert all(isinstance(v, int) for v in (result.goods_cents, result.tax_cents))
    assert result.goods_cents <= sum(x.qty * quantity * x.retail_cents for x in lines)


def test_rounding_is_half_up_per_line_and_once_on_the_tax() -> None:
    # 15 % off 3150 = 2677.5 -> 2678 (half up); 15 % off 1999 = 1699.15 -> 1699.
    result = rules.amount([rules.Line("a", 1, 3150), rules.Line("b", 1, 1999)],
                          discount_pct=15, quantity=1, shipping_cents=0, tax_ppm=72_500)
    assert [p.net_cents for p in result.lines] == [2678, 1699]
    assert result.tax_cents == 317  # 7.25 % of 4377 = 317.3325
    explicit = rules.amount([rules.Line("a", 1, 3150)], discount_pct=0, quantity=1,
                            shipping_cents=500, tax_ppm=0, explicit_cents=1234)  # fmt: skip
    assert (explicit.total_cents, explicit.explicit) == (1234, True)


def test_shipping_and_tax_tables() -> None:
    table = {"CA": 1500, "*": 2500}
    assert rules.shipping_for(table, "CA", pickup=False) == 1500
    assert rules.shipping_for(table, "OR", pickup=False) == 2500
    assert rules.shipping_for(table, "OR", pickup=True) == 0
    assert rules.shipping_for({"CA": 1500}, "OR", pickup=False) is None
    assert rules.tax_rate_for({"CA": 725}, "NY") is None


@given(st.dates(date(2000, 1, 1), date(2060, 12, 31)), st.sampled_from(ZONES))
def test_process_instant_is_the_first_instant_of_the_local_day(day: date, tz: str) -> None:
    instant = rules.process_instant(day, tz)
    zone = ZoneInfo(tz)
    assert instant.tzinfo is not None
    assert instant.astimezone(zone).date() == day
    # Nothing earlier is on that local day: a DST gap at midnight moves it to the first
    # instant that exists, a fold takes the first of the two midnights.
    assert (instant - timedelta(seconds=1)).astimezone(zone).date() < day
    assert rules.cutoff_instant(instant) == instant - timedelta(minutes=1)


@given(st.dates(date(2000, 1, 1), date(2060, 12, 30)), st.sampled_from(ZONES),
       st.times())  # fmt: skip
def test_local_instants_never_skip_or_double(day: date, tz: str, at: time) -> None:
    at = at.replace(microsecond=0)
    first = rules.local_instant(day, at, tz)
    nxt = rules.local_instant(day + timedelta(days=1), at, tz)
    assert first < nxt
    local = first.astimezone(ZoneInfo(tz)).replace(tzinfo=None)
    assert local >= datetime.combine(day, at)


def test_dst_gap_and_fold_examples() -> None:
    # Santiago skips 00:00 -> 01:00 on 2027-09-05: the day starts at 01:00 local (04:00Z).
    assert rules.process_instant(date(2027, 9, 5), "America/Santiago") == datetime(
        2027, 9, 5, 4, 0, tzinfo=UTC
    )
    # New York 2027-03-14 02:30 does not exist: 03:00 EDT (07:00Z) is the first after it.
    assert rules.local_instant(date(2027, 3, 14), time(2, 30), "America/New_York") == datetime(
        2027, 3, 14, 7, 0, tzinfo=UTC
    )
    # 2027-11-07 01:30 happens twice: the first (EDT, 05:30Z).
    assert rules.local_instant(date(2027, 11, 7), time(1, 30), "America/New_York") == datetime(
        2027, 11, 7, 5, 30, tzinfo=UTC
    )


def _member(**over: object) -> rules.Member:
    values: dict[str, object] = {
        "status": "active", "hold_until": None, "joined_at": datetime(2027, 1, 1, tzinfo=UTC),
        "skipped": False, "shipped_now": False, "mandate_status": "active",
        "card_exp": (12, 2030),
    }  # fmt: skip
    values.update(over)
    return rules.Member(**values)  # type: ignore[arg-type]


CUT = datetime(2027, 3, 20, 6, 59, tzinfo=UTC)
ON = date(2027, 3, 20)


@pytest.mark.parametrize(("over", "category"), [
    ({}, "chargeable"),
    ({"status": "cancelled"}, "cancelled"),
    ({"status": "on_hold", "hold_until": date(2027, 4, 1)}, "on_hold"),
    ({"status": "on_hold", "hold_until": ON}, "chargeable"),  # the hold ends that day
    ({"skipped": True}, "skipped"),
    ({"shipped_now": True}, "shipped_now"),
    ({"mandate_status": None}, "blocked"),
    ({"mandate_status": "revoked"}, "blocked"),
    ({"card_exp": (2, 2027)}, "blocked"),
    ({"card_exp": (3, 27)}, "chargeable"),  # valid through the end of its month
    ({"joined_at": CUT}, "not_eligible"),
])  # fmt: skip
def test_who_is_charged(over: dict[str, object], category: str) -> None:
    assert rules.verdict(_member(**over), cutoff_at=CUT, process_on=ON).category == category


@given(st.integers(0, 10), st.integers(0, 10))
def test_skip_cap(consecutive: int, cap: int) -> None:
    assert rules.can_skip(consecutive, cap) == (consecutive < cap)


@given(st.integers(-600, 600))
def test_edits_close_at_the_cutoff(seconds: int) -> None:
    now = CUT + timedelta(seconds=seconds)
    why = rules.editable(now, status="open", cutoff_at=CUT)
    assert (why is None) == (now < CUT)
    assert rules.editable(CUT - timedelta(days=1), status="processing", cutoff_at=CUT)


def test_release_moves() -> None:
    path = ["draft", "open", "processing", "processed", "archived"]
    for current, target in itertools.pairwise(path):
        assert rules.release_move(current, target) == target
    for current, target in [("draft", "processing"), ("archived", "open"),
                            ("processed", "open"), ("open", "draft")]:  # fmt: skip
        with pytest.raises(InvalidTransition):
            rules.release_move(current, target)
    with pytest.raises(InvalidTransition):
        rules.membership_move("cancelled", "active")


rows_st = st.lists(
    st.fixed_dictionaries({
        "membership_id": st.integers(1, 30),
        "category": st.sampled_from(["chargeable", "skipped", "on_hold"]),
        "amount_cents": st.one_of(st.none(), st.integers(1, 10**6)),
    }),
    max_size=10, unique_by=lambda r: r["membership_id"],
)


@given(rows_st, rows_st)
def test_differences_are_empty_exactly_when_the_previews_agree(
    old: list[dict[str, object]], new: list[dict[str, object]]
) -> None:
    def key(rows: list[dict[str, object]]) -> dict[object, tuple[object, object]]:
        return {r["membership_id"]: (r["category"], r["amount_cents"]) for r in rows}

    assert (rules.differences(old, new) == []) == (key(old) == key(new))
    assert rules.differences(old, list(reversed(old))) == []


def test_bad_lines_name_the_field() -> None:
    for args, field in [(("", 1, 100), "item"), (("a", 0, 100), "qty"),
                        (("a", 1, -1), "retail")]:  # fmt: skip
        with pytest.raises(DomainError) as info:
            rules.check_line(*args)  # type: ignore[arg-type]
        assert info.value.field == field
    with pytest.raises(DomainError) as bad:
        rules.check_discount(101)
    assert bad.value.field == "discount"


# release notices ----------------------------------------------------------------------------
CUTOFF = datetime(2027, 1, 31, 7, 59, tzinfo=UTC)
instants = st.datetimes(min_value=datetime(2026, 12, 1), max_value=datetime(2027, 3, 1),
                        timezones=st.just(UTC))  # fmt: skip


@given(now=instants, days=st.integers(0, 60))
def test_a_notice_is_due_from_its_days_before_the_cutoff_until_it(now: datetime, days: int) -> None:
    due = rules.notice_due(now, cutoff_at=CUTOFF, days=days)
    assert due == (days > 0 and CUTOFF - timedelta(days=days) <= now < CUTOFF)


@given(sent=st.none() | instants, now=st.none() | instants, days=st.integers(0, 60))
def test_only_a_notice_not_sent_by_the_cutoff_blocks_and_only_from_the_cutoff(
    sent: datetime | None, now: datetime | None, days: int
) -> None:
    blocks = rules.notice_blocks(days=days, sent_at=sent, cutoff_at=CUTOFF, now=now)
    if days == 0 or (sent is not None and sent <= CUTOFF):
        assert not blocks  # none required, or told in time
    elif now is not None and now < CUTOFF:
        assert not blocks  # it may still go out
    else:
        assert blocks
