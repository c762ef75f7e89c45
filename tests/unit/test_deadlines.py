"""The apply deadline: looks inside Toast's 5-minute window are spaced so none is missed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from billing.engine import deadlines, recovery

T0 = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def looks(confirm_at: datetime, first_missing: datetime) -> list[datetime]:
    """The read-back instants from a missing answer on, the way ``phases.unknown`` plans them
    (each read-back answering 'still unknown')."""
    deadline = deadlines.apply_deadline(confirm_at)
    at, out, count = first_missing, [], 0
    while True:
        nxt = deadlines.next_look(
            at, deadline, first=count == 0, backoff=recovery.next_check_delay(count)
        )
        if nxt is None or nxt > deadline + timedelta(hours=2):
            return out
        out.append(nxt)
        at, count = nxt, count + 1


@given(missing_after_s=st.floats(min_value=0, max_value=200))
def test_three_looks_inside_the_window_and_the_first_within_15s(missing_after_s: float) -> None:
    # Given a confirm sent at T0 whose answer went missing up to 200 s later
    missing = T0 + timedelta(seconds=missing_after_s)
    deadline = deadlines.apply_deadline(T0)
    planned = looks(T0, missing)
    inside = [at for at in planned if at <= deadline]
    # Then the first look comes within 15 s, at least three fall inside the window,
    assert planned[0] - missing <= timedelta(seconds=15)
    assert len(inside) >= 3
    # and the looks are never closer than 5 s apart before the deadline
    gaps = [b - a for a, b in zip([missing, *inside], inside, strict=False)]
    assert all(gap >= timedelta(seconds=5) or at == deadline for gap, at in zip(gaps, inside,
                                                                              strict=True))


@given(now_s=st.floats(min_value=0, max_value=299.9), first=st.booleans())
def test_no_look_is_planned_past_the_deadline_while_inside_it(now_s: float, first: bool) -> None:
    deadline = deadlines.apply_deadline(T0)
    now = T0 + timedelta(seconds=now_s)
    nxt = deadlines.next_look(now, deadline, first=first, backoff=timedelta(hours=1))
    assert nxt is not None
    assert now < nxt <= deadline


def test_after_the_deadline_the_ordinary_backoff_applies() -> None:
    deadline = deadlines.apply_deadline(T0)
    later = deadline + timedelta(seconds=1)
    assert deadlines.next_look(later, deadline, first=False, backoff=timedelta(hours=1)) == (
        later + timedelta(hours=1)
    )
    assert deadlines.next_look(later, deadline, first=False, backoff=None) is None


def test_a_shorter_window_scales_the_spacing() -> None:
    window = timedelta(seconds=30)
    deadline = deadlines.apply_deadline(T0, window)
    first = deadlines.in_window_delay(T0, deadline, first=True, window=window)
    assert first == timedelta(seconds=1.5)
