"""Test helper: the sandbox's /__sandbox__/ control API, and a few waiters over its state."""

from __future__ import annotations

from typing import Any

import httpx

JSON = dict[str, Any]


class SandboxControl:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def _get(self, endpoint: str, /, **params: Any) -> Any:
        response = await self._http.get(f"/__sandbox__/{endpoint}", params=params)
        response.raise_for_status()
        return response.json()

    async def _post(self, path: str, body: JSON) -> Any:
        response = await self._http.post(f"/__sandbox__/{path}", json=body)
        response.raise_for_status()
        return response.json() if response.content else None

    async def items(self, kind: str, /, **params: Any) -> list[JSON]:
        return list((await self._get(kind, **params))["items"])

    async def faults(self, *rules: JSON, **settings: Any) -> None:
        await self._post("faults", {"seed": 7, "rules": list(rules), **settings})

    async def clear_faults(self) -> None:
        await self._post("faults", {})

    async def invalidate_tokens(self) -> int:
        return int((await self._post("tokens/invalidate", {}))["invalidated"])

    async def advance(self, seconds: float) -> None:
        await self._post("clock", {"advanceSeconds": seconds})

    async def stats(self) -> JSON:
        return dict(await self._get("stats"))

    async def requests(self, **params: Any) -> list[JSON]:
        return await self.items("requests", **params)

    async def card_on_file(
        self, location: str, card: str, kind: str = "RECURRING", **kw: Any
    ) -> JSON:
        body = {"location": location, "cardNumber": card, "standingInstructionType": kind, **kw}
        return dict(await self._post("cards-on-file", body))

    async def find(self, kind: str, **match: Any) -> list[JSON]:
        return [
            item
            for item in await self.items(kind)
            if all(item.get(k) == v for k, v in match.items())
        ]


def lose_response(method: str, path: str, hits: int = 1) -> JSON:
    return {"method": method, "path": path, "lostResponseRate": 1.0, "maxHits": hits}


def server_error(method: str, path: str, hits: int = 1, status: int = 503) -> JSON:
    return {
        "method": method,
        "path": path,
        "errorRate": 1.0,
        "errorStatus": status,
        "maxHits": hits,
    }
