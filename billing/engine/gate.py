"""Which locations may start fresh charges now: a hold after a check refused an authorized payment.

Starting a charge authorizes a card; if the location's checks refuse payments (an Orders API
outage), every new authorization joins the queue of payments that must be applied within
Toast's 5 minutes. So after an apply fails at a location, that location starts no fresh
charges until an apply succeeds there again (the rescue lane keeps retrying the held ones) or
``hold_s`` passes without a new failure. Pure bookkeeping on monotonic seconds passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class LocationGate:
    hold_s: float = 30.0
    _held_until: dict[str, float] = field(default_factory=dict)

    def apply_failed(self, location: str, now: float) -> None:
        self._held_until[location] = now + self.hold_s

    def apply_succeeded(self, location: str) -> None:
        self._held_until.pop(location, None)

    def held(self, now: float) -> list[str]:
        """Locations that must not start fresh charges at ``now``."""
        for location, until in list(self._held_until.items()):
            if until <= now:
                del self._held_until[location]
        return sorted(self._held_until)

    def is_held(self, location: str, now: float) -> bool:
        until = self._held_until.get(location)
        return until is not None and until > now
