"""The order a worker offers its locations to a claim in (pure)."""

from __future__ import annotations

from billing.engine.holdings import Holdings


def test_the_least_held_locations_come_first() -> None:
    holdings = Holdings()
    for attempt_id, location in enumerate(["a", "a", "b", "c", "c", "c"]):
        holdings.add(attempt_id, location)
    assert holdings.least_held_first(["a", "b", "c", "d"]) == ["d", "b", "a", "c"]


def test_ties_take_turns_so_no_location_is_always_last() -> None:
    holdings = Holdings()
    orders = [holdings.least_held_first(["a", "b", "c"], turn) for turn in range(3)]
    assert orders == [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"]]
    assert holdings.least_held_first([], 5) == []
