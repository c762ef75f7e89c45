"""The pure rules of event payment schedules, property-tested: amounts to the cent with the
documented rounding rule, due instants across DST, the guarantee rule, cancellation tiers."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.errors import DomainError
from billing.events import rules
from billing.events.rules import Milestone, Tier

STANDARD = [
    Milestone(name="deposit", kind="percent", value=2500),
    Milestone(name="second", kind="percent", value=5000, days_before=30),
    Milestone(name="balance", kind="remainder", days_before=3),
]
SIGNED = datetime(2027, 1, 5, 15, 0, tzinfo=UTC)

totals = st.integers(min_value=1, max_value=rules.MAX_TOTAL_CENTS)
bps = st.integers(min_value=1, max_value=rules.FULL_BP)


@st.composite
def schedules(draw: st.DrawFn) -> list[Milestone]:
    count = draw(st.integers(min_value=0, max_value=4))
    days = sorted(draw(st.lists(st.integers(4, 90), min_size=count, max_size=count,
                                unique=True)), reverse=True)  # fmt: skip
    left = rules.FULL_BP
    out: list[Milestone] = []
    for i, d in enumerate(days):
        if draw(st.booleans()) and left > 0:
            bp = draw(st.integers(1, left))
            left -= bp
            out.append(Milestone(name=f"p{i}", kind="percent", value=bp, days_before=d))
        else:
            out.append(Milestone(name=f"f{i}", kind="fixed",
                                 value=draw(st.integers(1, 500_000)), days_before=d))  # fmt: skip
    out.append(Milestone(name="balance", kind="remainder", days_before=draw(st.integers(0, 3))))
    rules.check_schedule(out)
    return out


def test_the_worked_example_to_the_cent() -> None:
    # $10,000.01: 25% = 250000.25 -> 250000; 50% = 500000.5 -> 500001 (half up)
    got = rules.allocate(STANDARD, 1_000_001, {}).amounts
    assert got == {"deposit": 250_000, "second": 500_001, "balance": 250_000}
    assert rules.percent_of(1, 5000) == 1  # half a cent rounds up
    assert rules.percent_of(1, 4999) == 0


@given(schedules(), totals)
def test_milestones_add_up_to_the_total_and_none_is_negative(
    schedule: list[Milestone], total: int
) -> None:
    amounts = rules.allocate(schedule, total, {}).amounts
    assert sum(amounts.values()) == total
    assert all(a >= 0 for a in amounts.values())
    for m in schedule:
        if m.kind == "percent" and sum(x.value for x in schedule if x.kind == "fixed") == 0:
            assert amounts[m.name] <= rules.percent_of(total, m.value)  # capped at the total


def test_percentages_rounded_up_never_exceed_the_total() -> None:
    halves = [Milestone(name="a", kind="percent", value=5000),
              Milestone(name="b", kind="percent", value=5000, days_before=9),
              Milestone(name="c", kind="remainder", days_before=2)]  # fmt: skip
    assert rules.allocate(halves, 1, {}).amounts == {"a": 1, "b": 0, "c": 0}


@given(schedules(), totals, totals, st.data())
def test_a_locked_milestone_never_changes_and_the_remainder_is_total_minus_the_rest(
    schedule: list[Milestone], first: int, second: int, data: st.DataObject
) -> None:
    before = rules.allocate(schedule, first, {}).amounts
    names = [m.name for m in schedule if m.kind != "remainder"]
    paid = data.draw(st.lists(st.sampled_from(names), unique=True)) if names else []
    standing: dict[str, tuple[rules.Standing, int]] = {n: ("locked", before[n]) for n in paid}
    after = rules.allocate(schedule, second, standing)
    for n in paid:
        assert after.amounts[n] == before[n]
    locked = sum(before[n] for n in paid)
    assert sum(after.amounts.values()) == max(second, locked)
    assert after.overpaid == max(0, locked - second)
    assert all(a >= 0 for a in after.amounts.values())


def test_a_failed_milestone_rolls_into_the_remainder() -> None:
    standing: dict[str, tuple[rules.Standing, int]] = {
        "deposit": ("locked", 2500), "second": ("gone", 5000)
    }
    got = rules.allocate(STANDARD, 10_000, standing).amounts
    assert got["balance"] == 7500  # total - paid (the failed share is still owed)


def test_a_schedule_that_would_not_collect_its_total_is_refused() -> None:
    with pytest.raises(DomainError) as info:
        rules.check_schedule(STANDARD[:2])
    assert info.value.field == "milestones.kind"
    late = [*STANDARD[:2], Milestone(name="balance", kind="remainder", days_before=60)]
    with pytest.raises(DomainError):
        rules.check_schedule(late)
    too_much = [Milestone(name="a", kind="percent", value=9000),
                Milestone(name="b", kind="percent", value=2000, days_before=10),
                Milestone(name="c", kind="remainder", days_before=2)]  # fmt: skip
    with pytest.raises(DomainError) as over:
        rules.check_schedule(too_much)
    assert over.value.field == "milestones.value"


ZONES = ["America/New_York", "Europe/Paris", "Australia/Sydney", "America/Los_Angeles"]


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2040, 12, 31)),
       st.integers(0, 60), st.sampled_from(ZONES))  # fmt: skip
def test_due_instants_are_the_local_time_on_the_local_date_across_dst(
    day: date, days: int, tz: str
) -> None:
    m = Milestone(name="x", kind="remainder", days_before=days, at=time(9, 0))
    due = rules.due_at(m, event_day=day, tz=tz, signed_at=SIGNED)
    local = due.astimezone(rules.calendar.zone(tz))
    assert local.date() == day - timedelta(days=days)
    assert (local.hour, local.minute) == (9, 0)


def test_a_move_shifts_due_dates_by_local_days_over_a_dst_change() -> None:
    m = Milestone(name="x", kind="remainder", days_before=3, at=time(9, 0))
    before = rules.due_at(m, event_day=date(2027, 3, 10), tz="America/New_York", signed_at=SIGNED)
    after = rules.due_at(m, event_day=date(2027, 3, 17), tz="America/New_York", signed_at=SIGNED)
    assert after - before == timedelta(days=7, hours=-1)  # DST began on 2027-03-14


@given(st.integers(1, 1000), st.integers(1, 1000), st.integers(-20, 20))
def test_the_guarantee_rule(current: int, new: int, offset: int) -> None:
    guarantee = date(2027, 6, 1)
    today = guarantee + timedelta(days=offset)
    if new < current and offset > 0:
        with pytest.raises(DomainError) as info:
            rules.check_guests(current, new, today=today, guarantee=guarantee)
        assert info.value.field == "guests"
    else:
        rules.check_guests(current, new, today=today, guarantee=guarantee)


def test_the_default_guarantee_is_the_day_before_the_last_milestone() -> None:
    got = rules.default_guarantee(STANDARD, event_day=date(2027, 6, 20), tz="America/New_York",
                                  signed_at=SIGNED)  # fmt: skip
    assert got == date(2027, 6, 16)


TIERS = [Tier(min_days_before=30, keep_deposit=True), Tier(min_days_before=0, retain_bp=10_000)]


def test_cancellation_tiers() -> None:
    far = rules.cancellation(TIERS, days_before=45, paid=7500, deposit_paid=2500)
    assert (far.retained, far.refund_owed) == (2500, 5000)
    near = rules.cancellation(TIERS, days_before=10, paid=7500, deposit_paid=2500)
    assert (near.retained, near.refund_owed) == (7500, 0)
    after = rules.cancellation(TIERS, days_before=-1, paid=7500, deposit_paid=2500)
    assert after.tier.min_days_before == 0


@given(st.integers(-10, 400), st.integers(0, 10**8), st.integers(0, 10**8),
       st.booleans(), st.integers(0, rules.FULL_BP))  # fmt: skip
def test_cancellation_never_keeps_more_than_was_paid(
    days: int, paid: int, deposit: int, keep: bool, bp: int
) -> None:
    tiers = [Tier(min_days_before=0, keep_deposit=keep, retain_bp=bp)]
    got = rules.cancellation(tiers, days_before=days, paid=paid, deposit_paid=min(deposit, paid))
    assert 0 <= got.retained <= paid
    assert got.retained + got.refund_owed == paid


def test_status_moves() -> None:
    assert rules.move("booked", rules.EventStatus.BALANCE_DUE) == "balance_due"
    with pytest.raises(DomainError):
        rules.move("cancelled", rules.EventStatus.BOOKED)


def test_a_charge_never_falls_on_or_after_the_start() -> None:
    start = SIGNED + timedelta(days=2)
    assert rules.charge_at(SIGNED, now=SIGNED + timedelta(hours=1), start=start) == (
        SIGNED + timedelta(hours=1)
    )
    assert rules.charge_at(SIGNED, now=start, start=start) is None


def test_a_schedule_edit_keeps_paid_milestones_and_every_schedule_rule() -> None:
    from billing.errors import InvalidSchedule
    from billing.events import editing

    tasting = Milestone(name="tasting", kind="fixed", value=50_000, days_before=60)
    second = Milestone(name="second", kind="percent", value=4000, days_before=45)
    edit = editing.Edit(add=[tasting], change=[second])
    after = editing.apply(STANDARD, edit, open_names={"second", "balance"})
    assert [m.name for m in after] == ["deposit", "tasting", "second", "balance"]
    assert after[2] == second
    for bad, field in [
        (editing.Edit(remove=["deposit"]), "remove"),
        (editing.Edit(change=[Milestone(name="deposit", kind="percent", value=1000)]), "change"),
        (editing.Edit(remove=["second"], change=[second]), "schedule"),
        (editing.Edit(add=[Milestone(name="more", kind="remainder", days_before=1)]),
         "milestones.kind"),
        (editing.Edit(add=[Milestone(name="big", kind="percent", value=2600, days_before=9)]),
         "milestones.value"),
    ]:
        with pytest.raises(InvalidSchedule) as refused:
            editing.apply(STANDARD, bad, open_names={"second", "balance"})
        assert refused.value.field == field, bad


def test_a_paid_in_full_total_may_rise_before_the_event_only() -> None:
    start = SIGNED + timedelta(days=10)
    rules.check_rise_after_paid(old_total=100, new_total=150, now=SIGNED, start=start)
    for new, now, says in [(90, SIGNED, "not fall"), (150, start, "has started")]:
        with pytest.raises(DomainError) as refused:
            rules.check_rise_after_paid(old_total=100, new_total=new, now=now, start=start)
        assert says in refused.value.message


def test_what_the_schedule_cannot_place_is_unplaced() -> None:
    paid = {"deposit": ("locked", 2_500), "second": ("locked", 5_000),
            "balance": ("locked", 2_500)}  # fmt: skip
    out = rules.allocate(STANDARD, 11_000, paid)
    assert (out.unplaced, out.overpaid) == (1_000, 0)
    assert rules.allocate(STANDARD, 11_000, {}).unplaced == 0  # the open remainder takes it
    waived = {"deposit": ("locked", 2_500), "second": ("waived", 5_000)}
    assert rules.allocate(STANDARD, 10_000, waived).amounts["balance"] == 2_500
    assert rules.extra_name(["deposit", "extra-1"]) == "extra-2"


def test_an_extra_milestone_falls_due_after_its_notice_and_before_the_event() -> None:
    now = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
    far, near, tomorrow = (now + timedelta(days=d) for d in (30, 2, 0.5))
    assert rules.extra_due(now=now, start=far) == now + timedelta(days=3)
    assert rules.extra_due(now=now, start=near) == near - timedelta(hours=12)
    assert rules.extra_due(now=now, start=tomorrow) == now + timedelta(hours=1)
    # within the hour before the start it can only be staff's to confirm
    soon = now + timedelta(minutes=30)
    assert rules.charge_at(rules.extra_due(now=now, start=soon), now=now, start=soon) is None


def test_a_default_guarantee_date_follows_the_last_milestone_through_an_edit() -> None:
    signed = datetime(2027, 1, 1, 15, 0, tzinfo=UTC)
    day, tz = date(2027, 3, 15), "America/New_York"
    deposit = Milestone(name="deposit", kind="percent", value=2500)
    before = [deposit, Milestone(name="balance", kind="remainder", days_before=3)]
    after = [deposit, Milestone(name="balance", kind="remainder", days_before=10)]
    kw = {"event_day": day, "tz": tz, "signed_at": signed}
    default = rules.default_guarantee(before, **kw)
    assert default == date(2027, 3, 11)
    assert rules.guarantee_after_edit(default, before, after, **kw) == date(2027, 3, 4)
    staff_set = date(2027, 3, 1)  # set by staff at booking: it stays
    assert rules.guarantee_after_edit(staff_set, before, after, **kw) == staff_set
