"""Webhook endpoints in the store: add (a fresh secret, shown once), list, remove, get."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlmodel import Session, col, select

from billing.errors import DomainError, NotFound
from billing.notify import hook_rules
from billing.store.tables import WebhookEndpoint


def add(
    session: Session, url: str, *, events: str, now: datetime, production: bool
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (the only time the secret leaves the store)."""
    try:
        url = hook_rules.check_url(url.strip(), production=production)
    except ValueError as exc:
        raise DomainError(f"url: {exc}", field="url") from None
    try:
        types = hook_rules.parse_types(events)
    except ValueError as exc:
        raise DomainError(f"--events: {exc}", field="--events") from None
    if not types:
        raise DomainError("--events: name at least one event type (or *)", field="--events")
    secret = hook_rules.secret_from(secrets.token_bytes(32))
    row = WebhookEndpoint(url=url, event_types=types, secret=secret, enabled=True,
                          created_at=now)  # fmt: skip
    session.add(row)
    session.flush()
    return row, secret


def list_all(session: Session, *, removed: bool = False) -> list[WebhookEndpoint]:
    query = select(WebhookEndpoint).order_by(col(WebhookEndpoint.id))
    if not removed:
        query = query.where(col(WebhookEndpoint.removed_at).is_(None))
    return list(session.exec(query).all())


def live(session: Session) -> list[WebhookEndpoint]:
    """The endpoints that receive new events."""
    return [e for e in list_all(session) if e.enabled]


def get(session: Session, endpoint_id: int) -> WebhookEndpoint:
    row = session.get(WebhookEndpoint, endpoint_id)
    if row is None or row.removed_at is not None:
        raise NotFound(f"webhook endpoint {endpoint_id} does not exist", field="endpoint_id")
    return row


def remove(session: Session, endpoint_id: int, *, now: datetime) -> WebhookEndpoint:
    """It receives nothing more (its deliveries still pending become dead letters)."""
    row = get(session, endpoint_id)
    row.enabled, row.removed_at = False, now
    return row


def recipient(endpoint_id: int) -> str:
    """The outbox recipient of an endpoint's deliveries."""
    return f"webhook:{endpoint_id}"


def endpoint_id(recipient: str) -> int:
    return int(recipient.removeprefix("webhook:"))


def public(row: WebhookEndpoint) -> dict[str, object]:
    """What a listing shows: never the secret."""
    return {"id": row.id, "url": row.url, "events": row.event_types, "enabled": row.enabled,
            "created_at": row.created_at}  # fmt: skip
