"""The fee decision, property-tested over policies, windows, slots (DST days included) and
status orders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from billing.errors import DomainError, InvalidTransition
from billing.reservations import rules
from billing.reservations.rules import Per, Report, Status

ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "UTC", "America/Santiago"]
# Slots on both sides of DST changes: 2027-03-14 (US spring forward), 2027-11-07 (US fall back),
# 2027-03-28 / 2027-10-31 (Europe).
DST_DAYS = [datetime(2027, 3, 14, tzinfo=UTC), datetime(2027, 11, 7, tzinfo=UTC),
            datetime(2027, 3, 28, tzinfo=UTC), datetime(2027, 10, 31, tzinfo=UTC)]  # fmt: skip


@st.composite
def policies(draw: st.DrawFn) -> rules.Policy:
    return rules.Policy(
        per=draw(st.sampled_from(list(Per))),
        amount_cents=draw(st.integers(0, 20_000)),
        cap_cents=draw(st.none() | st.integers(1, 50_000)),
        free_cancel_hours=draw(st.integers(0, 72)),
        confirm_delay=timedelta(minutes=draw(st.integers(0, 120))),
        last_moment=timedelta(hours=draw(st.integers(1, 96))),
        timezone=draw(st.sampled_from(ZONES)),
    )


@st.composite
def slots(draw: st.DrawFn) -> datetime:
    day = draw(st.sampled_from(DST_DAYS) | st.datetimes(
        min_value=datetime(2027, 1, 1), max_value=datetime(2028, 12, 31)).map(
            lambda d: d.replace(tzinfo=UTC)))  # fmt: skip
    return day.replace(minute=0, second=0, microsecond=0) + timedelta(
        minutes=15 * draw(st.integers(-96, 96))
    )


@st.composite
def histories(draw: st.DrawFn, slot: datetime) -> list[Report]:
    """A valid status order, each reported at an increasing instant around the slot."""
    out: list[Report] = []
    at = slot - timedelta(hours=draw(st.integers(0, 100)))
    for _ in range(draw(st.integers(0, 3))):
        options = sorted(rules.TRANSITIONS[rules.current(out)])
        if not options:
            break
        status = draw(st.sampled_from(options))
        at = at + timedelta(minutes=draw(st.integers(0, 3000)))
        out.append(Report(status=status, at=at, reported_at=at))
    return out


@given(policies(), st.integers(1, 20), slots(), st.data())
def test_a_fee_only_for_a_no_show_or_a_late_cancellation_and_never_above_the_cap(
    policy: rules.Policy, party: int, slot: datetime, data: st.DataObject
) -> None:
    history = data.draw(histories(slot))
    now = (history[-1].reported_at if history else slot) + timedelta(minutes=1)
    decision = rules.decide(policy, party_size=party, slot=slot, history=history, now=now)
    assert decision.last_moment == slot + policy.last_moment
    if decision.amount_cents is None:
        return
    assert rules.current(history) in (Status.NO_SHOW, Status.CANCELLED)
    assert decision.amount_cents >= 1
    if policy.cap_cents is not None:
        assert decision.amount_cents <= policy.cap_cents
    each = policy.amount_cents * (party if policy.per == Per.PERSON else 1)
    assert decision.amount_cents == min(each, policy.cap_cents or each)
    # Never charged before the confirmation delay, nothing after the last moment.
    assert decision.charge_at == history[-1].reported_at + policy.confirm_delay
    assert decision.charge_at <= decision.last_moment


@given(policies(), st.integers(1, 20), slots(), st.data())
def test_a_guest_who_came_is_never_charged(
    policy: rules.Policy, party: int, slot: datetime, data: st.DataObject
) -> None:
    history = data.draw(histories(slot))
    if rules.current(history) not in rules.CAME:
        history = [*history[:1], Report(status=Status.SEATED, at=slot, reported_at=slot)]
        if history[0].status == Status.CANCELLED:
            history = history[1:]
    decision = rules.decide(policy, party_size=party, slot=slot, history=history,
                            now=slot + timedelta(hours=1))  # fmt: skip
    assert decision.amount_cents is None
    assert decision.closed


@given(policies(), slots(), st.integers(0, 120))
def test_a_no_show_reverted_inside_the_delay_is_no_fee(
    policy: rules.Policy, slot: datetime, minutes: int
) -> None:
    reported = slot + timedelta(minutes=20)
    revert = reported + min(timedelta(minutes=minutes), policy.confirm_delay)
    history = [Report(status=Status.NO_SHOW, at=reported, reported_at=reported),
               Report(status=Status.SEATED, at=revert, reported_at=revert)]  # fmt: skip
    decision = rules.decide(policy, party_size=2, slot=slot, history=history, now=revert)
    assert decision.amount_cents is None
    assert "reverted" in decision.reason


@given(policies(), slots(), st.integers(0, 2000), st.integers(0, 2000))
@example(rules.Policy(per=Per.RESERVATION, amount_cents=2500, cap_cents=None,
                      free_cancel_hours=24, confirm_delay=timedelta(0),
                      last_moment=timedelta(hours=48), timezone="America/New_York"),
         datetime(2027, 3, 14, 23, 0, tzinfo=UTC), 0, 60)  # 19:00 EDT the day DST began
def test_cancelling_earlier_never_costs_more(
    policy: rules.Policy, slot: datetime, early: int, later_by: int
) -> None:
    assume(policy.confirm_delay <= policy.last_moment)  # else a report at the slot is too late
    def fee(minutes_before: int) -> int:
        at = slot - timedelta(minutes=minutes_before)
        history = [Report(status=Status.CANCELLED, at=at, reported_at=at)]
        decision = rules.decide(policy, party_size=3, slot=slot, history=history, now=at)
        return decision.amount_cents or 0

    assert fee(early + later_by) <= fee(early)


@given(policies(), slots())
def test_the_free_deadline_honours_both_real_hours_and_the_restaurants_clock(
    policy: rules.Policy, slot: datetime
) -> None:
    deadline = rules.free_cancel_deadline(policy, slot)
    hours = timedelta(hours=policy.free_cancel_hours)
    assert slot - hours <= deadline <= slot
    zone = ZoneInfo(policy.timezone)
    on_the_wall = (slot.astimezone(zone) - hours).astimezone(UTC)
    assert deadline >= on_the_wall
    # Cancelling exactly N hours before, by either count, is free.
    for at in (slot - hours, on_the_wall):
        history = [Report(status=Status.CANCELLED, at=min(at, deadline) - timedelta(seconds=1),
                          reported_at=at)]  # fmt: skip
        assert rules.decide(policy, party_size=2, slot=slot, history=history,
                            now=at).amount_cents is None  # fmt: skip


def test_spring_forward_day_24_hours_before_is_the_same_wall_clock_time() -> None:
    # A 19:00 slot on 2027-03-14 (New York springs forward at 02:00): 19:00 the evening before
    # is only 23 real hours earlier, yet the guest who cancels then is inside the policy's
    # "24 hours before" as printed on the restaurant's clock: free.
    policy = rules.Policy(per=Per.PERSON, amount_cents=2000, cap_cents=None, free_cancel_hours=24,
                          confirm_delay=timedelta(minutes=15), last_moment=timedelta(hours=48),
                          timezone="America/New_York")  # fmt: skip
    slot = datetime(2027, 3, 14, 23, 0, tzinfo=UTC)  # 19:00 EDT
    eve = datetime(2027, 3, 14, 0, 0, tzinfo=UTC)  # 19:00 EST the day before
    assert slot - eve == timedelta(hours=23)
    on_time = [Report(status=Status.CANCELLED, at=eve, reported_at=eve)]
    assert rules.decide(policy, party_size=2, slot=slot, history=on_time,
                        now=eve).amount_cents is None  # fmt: skip
    late = eve + timedelta(minutes=1)
    too_late = [Report(status=Status.CANCELLED, at=late, reported_at=late)]
    assert rules.decide(policy, party_size=2, slot=slot, history=too_late,
                        now=late).amount_cents == 4000  # fmt: skip


@given(policies(), slots(), st.integers(0, 200))
def test_nothing_is_charged_after_the_last_moment(
    policy: rules.Policy, slot: datetime, late_minutes: int
) -> None:
    reported = slot + policy.last_moment - policy.confirm_delay + timedelta(minutes=late_minutes)
    history = [Report(status=Status.NO_SHOW, at=reported, reported_at=reported)]
    decision = rules.decide(policy, party_size=2, slot=slot, history=history, now=reported)
    if late_minutes > 0:
        assert decision.amount_cents is None
        assert decision.closed
    # Nor after it, whatever was reported before.
    early = [Report(status=Status.NO_SHOW, at=slot, reported_at=slot)]
    after = rules.decide(policy, party_size=2, slot=slot, history=early,
                         now=decision.last_moment + timedelta(seconds=1))  # fmt: skip
    assert after.amount_cents is None


def test_a_booked_reservation_is_honoured_and_closed_at_the_last_moment() -> None:
    policy = rules.Policy(per=Per.RESERVATION, amount_cents=2500, cap_cents=None,
                          free_cancel_hours=24, confirm_delay=timedelta(minutes=15),
                          last_moment=timedelta(hours=48), timezone="UTC")  # fmt: skip
    slot = datetime(2027, 5, 1, 19, tzinfo=UTC)
    before = rules.decide(policy, party_size=2, slot=slot, history=[], now=slot)
    after = rules.decide(policy, party_size=2, slot=slot, history=[],
                         now=slot + timedelta(hours=48, seconds=1))  # fmt: skip
    assert (before.closed, after.closed) == (False, True)
    assert after.amount_cents is None


@given(st.integers(1, 10_000), st.integers(1, 10_000), st.none() | st.integers(1, 10_000))
def test_staff_may_only_lower_within_the_cap(amount: int, fee: int, cap: int | None) -> None:
    allowed = amount <= fee and (cap is None or amount <= cap)
    if allowed:
        rules.check_lower(amount, fee_cents=fee, cap_cents=cap)
        return
    with pytest.raises(DomainError) as info:
        rules.check_lower(amount, fee_cents=fee, cap_cents=cap)
    assert info.value.field == "amount"


def test_waiving_closes_and_lowering_keeps_the_instant() -> None:
    slot = datetime(2027, 5, 1, 19, tzinfo=UTC)
    base = rules.Decision(amount_cents=5000, reason="no-show", charge_at=slot,
                          last_moment=slot + timedelta(hours=48), closed=False)  # fmt: skip
    waived = rules.adjusted(base, rules.Adjustment(amount_cents=0, reason="regular", staff="Kim"))
    assert (waived.amount_cents, waived.closed) == (None, True)
    assert "waived by Kim" in waived.reason
    lower = rules.adjusted(base, rules.Adjustment(amount_cents=2000, reason="late", staff="Kim"))
    assert (lower.amount_cents, lower.charge_at) == (2000, slot)


def test_transitions_refuse_a_no_show_for_a_seated_guest() -> None:
    seated = [Report(status=Status.SEATED, at=datetime(2027, 5, 1, tzinfo=UTC),
                     reported_at=datetime(2027, 5, 1, tzinfo=UTC))]  # fmt: skip
    with pytest.raises(InvalidTransition):
        rules.check_transition(seated, Status.NO_SHOW)
    rules.check_transition([], Status.NO_SHOW)
