"""One access line per request of ``billing serve``, naming the route, never the raw path.

Uvicorn's own access log prints the path and query string as the client sent them: a member's
email in ``/v1/customers/{customer_ref}/subscriptions`` or the token of a card-update link would
land in the logs. This middleware logs the matched route's template instead (``GET
/v1/customers/{customer_ref}/subscriptions 200 4ms``), or ``(no route)`` for a 404, with the
method, status and time taken. A pure ASGI middleware: it only watches ``send``.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("billing.access")


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            took_ms = (time.perf_counter() - started) * 1000
            log.info("%s %s %d %.0fms", scope.get("method", "-"), route_of(scope), status[0],
                     took_ms)  # fmt: skip


def route_of(scope: Scope) -> str:
    """The template of the route that answered (its parameters unfilled)."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else "(no route)"
