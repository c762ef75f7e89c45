"""The charger starts a claimed batch one location at a time in turn (pure)."""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from billing.engine.phases import interleaved


def _rows(locations: list[str]) -> list[SimpleNamespace]:
    return [SimpleNamespace(id=n, location_guid=loc) for n, loc in enumerate(locations)]


def test_a_batch_alternates_between_locations() -> None:
    batch = interleaved(_rows(["a", "a", "a", "b", "b", "c"]))
    assert [r.location_guid for r in batch] == ["a", "b", "c", "a", "b", "a"]


@given(st.lists(st.sampled_from("abcd"), max_size=40))
def test_interleaving_keeps_every_row_and_each_locations_order(locations: list[str]) -> None:
    rows = _rows(locations)
    batch = interleaved(rows)
    assert sorted(r.id for r in batch) == [r.id for r in rows]
    for loc in set(locations):
        assert [r.id for r in batch if r.location_guid == loc] == [
            r.id for r in rows if r.location_guid == loc]  # fmt: skip
    # no location runs twice in a row while another still has rows waiting
    for i in range(1, len(batch)):
        if batch[i].location_guid == batch[i - 1].location_guid:
            rest = {r.location_guid for r in batch[i:]}
            assert rest == {batch[i].location_guid}
