"""Webhooks over HTTP (httpx): one signed POST per delivery, following Standard Webhooks.

The body is the delivery's JSON (fixed when its event was dispatched); the headers are
``webhook-id`` (stable across retries: the receiver deduplicates on it), ``webhook-timestamp``
(the wall-clock second of this try: receivers refuse stale ones) and ``webhook-signature``
(``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body`` with the endpoint's secret). Redirects
are not followed; a reply's body is never read into errors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from standardwebhooks import Webhook

from billing.notify import hook_rules

USER_AGENT = "billing-webhooks/1"


def encode(body: dict[str, Any]) -> str:
    """The exact text that is signed and sent."""
    return json.dumps(body, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def headers(*, secret: str, webhook_id: str, at: datetime, payload: str) -> dict[str, str]:
    signature = Webhook(secret).sign(msg_id=webhook_id, timestamp=at, data=payload)
    return {
        "webhook-id": webhook_id, "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature, "content-type": "application/json",
        "user-agent": USER_AGENT,
    }  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    delivered: bool
    detail: str  # "HTTP 204", "HTTP 500", "timeout: ReadTimeout", ...


async def post(
    client: httpx.AsyncClient, url: str, *, secret: str, webhook_id: str, at: datetime,
    payload: str,
) -> Outcome:  # fmt: skip
    sent = headers(secret=secret, webhook_id=webhook_id, at=at, payload=payload)
    try:
        reply = await client.post(url, content=payload.encode(), headers=sent)
    except httpx.TimeoutException as exc:
        return Outcome(delivered=False, detail=f"timeout: {type(exc).__name__}")
    except httpx.HTTPError as exc:
        return Outcome(delivered=False, detail=f"{type(exc).__name__}: {str(exc)[:200]}")
    return Outcome(delivered=hook_rules.delivered(reply.status_code),
                   detail=f"HTTP {reply.status_code}")  # fmt: skip


def client(timeout_s: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=timeout_s, follow_redirects=False, trust_env=False)
