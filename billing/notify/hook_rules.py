"""The pure rules of webhooks: which event is which webhook type, which endpoints want it, how a
failed delivery is retried (exponential backoff with jitter for a window, then a dead letter),
and what a secret and a URL must look like. Values in, decisions out.

Delivery differs from email on one point: a webhook carries a stable ``webhook-id`` that the
receiver deduplicates on (Standard Webhooks), so a delivery whose outcome is unknown (a timeout,
a crash after the POST) is delivered again with the same id, never a new one. The outbox still
holds one delivery per (event, endpoint): the at-most-once rule is on the message row.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

WEBHOOK = "webhook"
SECRET_PREFIX = "whsec_"
TEST_TYPE = "webhook.test"

# (entity, event type) -> the webhook type it yields. New types are one line here.
TYPES: dict[tuple[str, str], str] = {
    ("charge", "charge_paid"): "charge.paid",
    ("charge", "charge_failed"): "charge.failed",
    ("charge", "retry_scheduled"): "charge.declined",
    ("charge", "needs_attention"): "charge.held",
    ("subscription", "cancelled"): "subscription.cancelled",
    ("mandate", "revoked"): "mandate.revoked",
    ("mandate", "card_expiring"): "card.expiring",
}
EVENT_TYPES: tuple[str, ...] = tuple(sorted(set(TYPES.values())))


def type_for(entity: str, event_type: str) -> str | None:
    return TYPES.get((entity, event_type))


def wants(filter_types: list[str], webhook_type: str) -> bool:
    """An endpoint with no filter (or ``*``) wants every type."""
    return not filter_types or "*" in filter_types or webhook_type in filter_types


def parse_types(text: str) -> list[str]:
    """``charge.paid,charge.failed`` as a list; ValueError naming an unknown type."""
    types = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [t for t in types if t != "*" and t not in EVENT_TYPES]
    if unknown:
        raise ValueError(f"unknown event type {unknown[0]!r} (one of {', '.join(EVENT_TYPES)})")
    return sorted(set(types))


def check_url(url: str, *, production: bool) -> str:
    """An absolute http(s) URL with a host; production accepts https only."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http:// or https:// URL")
    if production and parts.scheme != "https":
        raise ValueError("must be https:// in production")
    if parts.username or parts.password:
        raise ValueError("must not carry a user or password")
    return url


def secret_from(raw: bytes) -> str:
    """A Standard Webhooks secret: ``whsec_`` and the base64 of 24 to 64 random bytes."""
    if not 24 <= len(raw) <= 64:
        raise ValueError("a webhook secret holds 24 to 64 random bytes")
    return SECRET_PREFIX + base64.b64encode(raw).decode()


def delivered(status_code: int) -> bool:
    """Standard Webhooks: any 2xx is a delivery; everything else is retried."""
    return 200 <= status_code < 300


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryAt:
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Dead:
    reason: str


def after_failure(
    *, attempts: int, now: datetime, until: datetime, base_s: float, max_s: float, jitter: float
) -> RetryAt | Dead:
    """A failed delivery (``attempts`` made so far): the next try after an exponential delay
    (``base_s`` doubling up to ``max_s``) stretched by ``jitter`` in [0, 1) by up to a half, so
    endpoints that failed together do not retry together. The last try is at ``until`` (the end
    of the retry window); a failure then is a dead letter."""
    if not 0.0 <= jitter < 1.0:
        raise ValueError("jitter must be in [0, 1)")
    delay = min(max_s, base_s * 2 ** max(0, attempts - 1)) * (1.0 + jitter / 2)
    if now >= until:
        return Dead(reason=f"not delivered after {attempts} attempts in the retry window")
    return RetryAt(at=min(until, now + timedelta(seconds=delay)))
