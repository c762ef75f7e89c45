"""A response that is lost on the way: the request was processed, the client never gets it.

The status line, headers and half of the body are sent, then the connection is closed
(a body-less response is dropped before any byte). httpx raises ``RemoteProtocolError``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send


class LostResponse(Response):
    def __init__(self, inner: Response) -> None:
        super().__init__(status_code=inner.status_code)
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cycle = getattr(scope.get("sandbox.raw_send"), "__self__", None)
        transport: Any = getattr(cycle, "transport", None)
        body = self.inner.body
        if body:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.inner.status_code,
                    "headers": self.inner.raw_headers,
                }
            )
            await send(
                {
                    "type": "http.response.body",
                    "body": bytes(body[: len(body) // 2]),
                    "more_body": True,
                }
            )
        if transport is None:
            return  # the server closes a connection whose response is incomplete
        transport.close()
        for _ in range(100):  # let the server notice, so it does not try to answer itself
            if getattr(cycle, "disconnected", True):
                return
            await asyncio.sleep(0.001)
