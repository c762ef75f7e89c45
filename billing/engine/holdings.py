"""The attempts a worker is working on right now: what its heartbeat renews, what a stop waits
for, and what it reports left behind."""

from __future__ import annotations


class Holdings:
    def __init__(self) -> None:
        self._ids: set[int] = set()

    def add(self, attempt_id: int) -> None:
        self._ids.add(attempt_id)

    def discard(self, attempt_id: int) -> None:
        self._ids.discard(attempt_id)

    def ids(self) -> list[int]:
        return sorted(self._ids)

    def __len__(self) -> int:
        return len(self._ids)
