"""A small async client for the sandbox's ``/__sandbox__/`` control API (test mode only).

Product code: the simulator moves the sandbox clock with it, the demo creates cards-on-file
with it, and the tests read the sandbox's ledger and request log through it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

JSON = dict[str, Any]


class SandboxControl:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    @classmethod
    def at(cls, base_url: str, *, timeout: float = 10.0) -> SandboxControl:
        """A control client owning its own connection pool (close with ``aclose``)."""
        return cls(httpx.AsyncClient(base_url=base_url, timeout=timeout))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _get(self, endpoint: str, /, **params: Any) -> Any:
        response = await self._http.get(f"/__sandbox__/{endpoint}", params=params)
        response.raise_for_status()
        return response.json()

    async def _post(self, path: str, body: JSON) -> Any:
        response = await self._http.post(f"/__sandbox__/{path}", json=body)
        response.raise_for_status()
        return response.json() if response.content else None

    async def items(self, kind: str, /, **params: Any) -> list[JSON]:
        """``payment-intents``, ``mandates``, ``order-payments``, ``requests``, ..."""
        return list((await self._get(kind, **params))["items"])

    async def faults(self, *rules: JSON, **settings: Any) -> None:
        await self._post("faults", {"seed": settings.pop("seed", 7), "rules": list(rules),
                                    **settings})  # fmt: skip

    async def clear_faults(self) -> None:
        await self._post("faults", {})

    async def invalidate_tokens(self) -> int:
        return int((await self._post("tokens/invalidate", {}))["invalidated"])

    async def advance(self, seconds: float) -> None:
        await self._post("clock", {"advanceSeconds": seconds})

    async def set_clock(self, instant: datetime) -> None:
        """Move the sandbox clock forward to ``instant`` (never backwards)."""
        current = datetime.fromisoformat((await self._get("clock"))["now"])
        if instant > current:
            await self._post("clock", {"set": instant.isoformat()})

    async def stats(self) -> JSON:
        return dict(await self._get("stats"))

    async def requests(self, **params: Any) -> list[JSON]:
        return await self.items("requests", **params)

    async def card_on_file(
        self, location: str, card: str, kind: str = "RECURRING", **kw: Any
    ) -> JSON:
        """Run the real OFF_SESSION setup flow for ``card``; returns its mandate and method."""
        body = {"location": location, "cardNumber": card, "standingInstructionType": kind, **kw}
        return dict(await self._post("cards-on-file", body))

    async def find(self, kind: str, **match: Any) -> list[JSON]:
        return [
            item
            for item in await self.items(kind)
            if all(item.get(k) == v for k, v in match.items())
        ]


def lose_response(method: str, path: str, hits: int = 1) -> JSON:
    """A fault rule: the next ``hits`` matching requests are applied, then their answer lost."""
    return {"method": method, "path": path, "lostResponseRate": 1.0, "maxHits": hits}


def server_error(method: str, path: str, hits: int = 1, status: int = 503) -> JSON:
    """A fault rule: the next ``hits`` matching requests get a 5xx and are not applied."""
    return {
        "method": method,
        "path": path,
        "errorRate": 1.0,
        "errorStatus": status,
        "maxHits": hits,
    }


def busiest_window(requests: list[JSON], window_s: float = 1.0) -> dict[str, int]:
    """Per location, the most requests the sandbox received inside any sliding window of
    ``window_s`` (from its request log's arrival instants; 429s included)."""
    by_location: dict[str, list[float]] = {}
    for record in requests:
        if record["location"] is not None:
            by_location.setdefault(record["location"], []).append(record["monotonic"])
    worst: dict[str, int] = {}
    for location, times in by_location.items():
        times.sort()
        best, start = 0, 0
        for end, at in enumerate(times):
            while times[start] <= at - window_s:
                start += 1
            best = max(best, end - start + 1)
        worst[location] = best
    return worst
