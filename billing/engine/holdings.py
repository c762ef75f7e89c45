"""The attempts a worker is working on right now: what its heartbeat renews, what a stop waits
for, what it reports left behind, and where (a location is not given up while it holds one
there: ``billing.engine.ownership``)."""

from __future__ import annotations

from collections import Counter


class Holdings:
    def __init__(self) -> None:
        self._ids: dict[int, str | None] = {}
        self._at: Counter[str | None] = Counter()

    def add(self, attempt_id: int, location: str | None = None) -> None:
        if attempt_id not in self._ids:
            self._ids[attempt_id] = location
            self._at[location] += 1

    def discard(self, attempt_id: int) -> None:
        if attempt_id in self._ids:
            location = self._ids.pop(attempt_id)
            self._at[location] -= 1
            if not self._at[location]:
                del self._at[location]

    def ids(self) -> list[int]:
        return sorted(self._ids)

    def least_held_first(self, locations: list[str], turn: int = 0) -> list[str]:
        """``locations`` with those holding the fewest attempts first; ties in turn, starting
        ``turn`` places along (the sweeper passes how many locations its claims have served, so
        each claim starts where the last one stopped). A claim gives out its batch in this
        order, so when a batch cannot give every location a share, the shortfall falls on the
        busiest and moves from claim to claim: no location is left for last, where its rate
        limit alone would set the pace of a sweep's tail."""
        if not locations:
            return []
        start = turn % len(locations)
        turned = locations[start:] + locations[:start]
        return sorted(turned, key=lambda loc: self._at.get(loc, 0))

    def locations(self) -> set[str]:
        return {loc for loc in self._at if loc is not None}

    def __len__(self) -> int:
        return len(self._ids)
