"""The outbox in the store: events become messages, messages are claimed, sent or not.

Every function is one transaction. Status guards live in the WHERE clauses (a zero row count
means another dispatcher moved the row first), so concurrent dispatchers on PostgreSQL never
send one message twice: the claim is ``FOR UPDATE SKIP LOCKED`` and the step that puts the
message body on the wire (``start_sending``) succeeds for one owner only.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, update
from sqlmodel import Session, col, select

from billing.errors import DomainError, NotFound
from billing.notify import endpoints, facts, hook_payload, hook_rules, optouts, plan_messages, rules
from billing.notify.rules import Status
from billing.settings import NotifySettings, WebhookSettings
from billing.store import events
from billing.store.db import Store
from billing.store.tables import Event, Message, WebhookEndpoint


def enqueue(
    store: Store, *, now: datetime, notify: NotifySettings, hooks: WebhookSettings | None = None
) -> int:
    """Turn up to ``batch_size`` undispatched events into their messages (an email to the
    member, a delivery to each webhook endpoint that wants the event); mark them dispatched.

    Returns how many events were dispatched (a full batch means more may be waiting)."""
    window = timedelta(hours=(hooks or WebhookSettings()).retry_hours)
    with store.transaction() as session:
        query = select(Event).where(col(Event.dispatched_at).is_(None))
        query = query.order_by(col(Event.id)).limit(notify.batch_size)
        if store.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        events = list(session.exec(query).all())
        targets = endpoints.live(session) if events else []
        kept = facts.prefetch(session, events)  # noqa: F841  (held while the batch is gathered)
        for event in events:
            _email(session, event, notify, now)
            _deliveries(session, event, targets, now, window)
            event.dispatched_at = now
        return len(events)


def _email(session: Session, event: Event, notify: NotifySettings, now: datetime) -> None:
    kind = rules.kind_for(event.entity, event.type, off=frozenset())
    if kind is None or rules.silent(kind, event.data or {}):
        return
    if not plan_messages.kind_on(session, event, kind, notify):
        return
    found = facts.gather(session, event, kind, notify)
    if found is None or optouts.refused(session, found.customer.id, kind, event):
        return
    session.add(_message(event, kind, found, now))


def _deliveries(
    session: Session, event: Event, targets: list[WebhookEndpoint], now: datetime,
    window: timedelta,
) -> None:  # fmt: skip
    webhook_type = hook_rules.type_for(event.entity, event.type)
    wanting = [t for t in targets if webhook_type and hook_rules.wants(t.event_types, webhook_type)]
    body = hook_payload.body(session, event, webhook_type) if wanting and webhook_type else None
    if body is None:
        return
    customer = body["data"].get("customer") or {}
    for target in wanting:
        session.add(delivery(event.id or 0, target.id or 0, body, now, window,
                             customer_id=customer.get("id")))  # fmt: skip


def delivery(
    event_id: int, endpoint_id: int, body: dict[str, object], now: datetime, window: timedelta,
    *, customer_id: int | None = None,
) -> Message:  # fmt: skip
    """One webhook delivery: its webhook-id is fixed here, random (nothing to guess from it)."""
    return Message(
        event_id=event_id, channel=hook_rules.WEBHOOK, recipient=endpoints.recipient(endpoint_id),
        kind=str(body["type"])[:32], customer_id=customer_id, status=Status.PENDING,
        context={"body": body}, provider_id="msg_" + secrets.token_urlsafe(18),
        next_attempt_at=now, created_at=now, updated_at=now, retry_until=now + window,
    )  # fmt: skip


def _message(event: Event, kind: rules.Kind, found: facts.Facts, now: datetime) -> Message:
    return Message(
        event_id=event.id or 0, channel=rules.EMAIL, recipient=found.customer.email,
        kind=kind, customer_id=found.customer.id, status=Status.PENDING,
        context=found.context, next_attempt_at=now, created_at=now, updated_at=now,
    )  # fmt: skip


def claim(store: Store, *, now: datetime, owner: str, notify: NotifySettings) -> list[Message]:
    """Claim the due messages: pending ones whose attempt is due, and claims whose lease
    expired (their dispatcher died before sending anything). One attempt is counted each."""
    expired = now - timedelta(seconds=notify.claim_lease_s)
    with store.transaction() as session:
        _expire_sending(session, expired, now)
        due = or_(
            and_(col(Message.status) == Status.PENDING, col(Message.next_attempt_at) <= now),
            and_(col(Message.status) == Status.CLAIMED, col(Message.claimed_at) <= expired),
        )
        query = select(Message).where(due).order_by(col(Message.next_attempt_at), col(Message.id))
        query = query.limit(notify.batch_size)
        if store.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = list(session.exec(query).all())
        for row in rows:
            row.status, row.claim_owner, row.claimed_at = Status.CLAIMED, owner, now
            row.attempts += 1
            row.updated_at = now
        return rows


def _expire_sending(session: Session, expired: datetime, now: datetime) -> None:
    """A body on the wire with no answer for a whole lease: its dispatcher died or hung. An
    email is then unknown (never re-sent); a webhook is delivered again with the same
    webhook-id (its receiver deduplicates)."""
    stale = (col(Message.status) == Status.SENDING, col(Message.claimed_at) <= expired)
    session.exec(
        update(Message)
        .where(*stale, col(Message.channel) != hook_rules.WEBHOOK)
        .values(status=Status.UNKNOWN, updated_at=now, error="no answer after sending the body")
    )
    session.exec(
        update(Message)
        .where(*stale, col(Message.channel) == hook_rules.WEBHOOK)
        .values(status=Status.PENDING, claim_owner=None, next_attempt_at=now, updated_at=now,
                error="no answer after posting: delivered again with the same webhook-id")
    )  # fmt: skip


def _move(
    store: Store, message_id: int, sources: tuple[Status, ...], owner: str | None, **values: object
) -> bool:
    with store.transaction() as session:
        query = update(Message).where(
            col(Message.id) == message_id, col(Message.status).in_(sources)
        )
        if owner is not None:
            query = query.where(col(Message.claim_owner) == owner)
        result = session.exec(query.values(**values))
        return bool(result.rowcount == 1)


def start_sending(store: Store, message_id: int, *, owner: str, now: datetime, subject: str,
                  provider_id: str) -> bool:  # fmt: skip
    """Committed right before the body goes on the wire; False: the claim was lost."""
    return _move(store, message_id, (Status.CLAIMED,), owner, status=Status.SENDING,
                 subject=subject[:300], provider_id=provider_id, updated_at=now)  # fmt: skip


def sent(store: Store, message_id: int, *, now: datetime) -> bool:
    # From unknown too: a slow answer may arrive after the lease declared it unknown.
    return _move(store, message_id, (Status.SENDING, Status.UNKNOWN), None, status=Status.SENT,
                 sent_at=now, updated_at=now, error=None)  # fmt: skip


def unknown(store: Store, message_id: int, *, owner: str, now: datetime, error: str) -> bool:
    return _move(store, message_id, (Status.SENDING,), owner, status=Status.UNKNOWN,
                 updated_at=now, error=error[:500])  # fmt: skip


def not_sent(
    store: Store, message: Message, *, owner: str, now: datetime, error: str, permanent: bool,
    notify: NotifySettings,
) -> bool:  # fmt: skip
    """Known not to have reached the relay: back to pending with a backoff, or failed."""
    decision = rules.after_not_sent(
        attempts=message.attempts, permanent=permanent, now=now,
        max_attempts=notify.max_attempts, base_s=notify.retry_base_s, max_s=notify.retry_max_s,
    )  # fmt: skip
    sources = (Status.CLAIMED, Status.SENDING)
    if isinstance(decision, rules.RetryAt):
        return _move(store, message.id or 0, sources, owner, status=Status.PENDING,
                     next_attempt_at=decision.at, claim_owner=None, updated_at=now,
                     error=error[:500])  # fmt: skip
    return _move(store, message.id or 0, sources, owner, status=Status.FAILED, updated_at=now,
                 error=f"{decision.reason}: {error}"[:500])  # fmt: skip


def not_delivered(
    store: Store, message: Message, *, owner: str, now: datetime, error: str,
    hooks: WebhookSettings, jitter: float,
) -> bool:  # fmt: skip
    """A webhook delivery that failed: retried with backoff and jitter inside its window, then
    a dead letter (``billing webhooks dead``)."""
    until = message.retry_until or now
    decision = hook_rules.after_failure(
        attempts=message.attempts, now=now, until=until, base_s=hooks.retry_base_s,
        max_s=hooks.retry_max_s, jitter=jitter,
    )  # fmt: skip
    sources = (Status.CLAIMED, Status.SENDING)
    if isinstance(decision, hook_rules.RetryAt):
        return _move(store, message.id or 0, sources, owner, status=Status.PENDING,
                     next_attempt_at=decision.at, claim_owner=None, updated_at=now,
                     error=error[:500])  # fmt: skip
    return dead(store, message.id or 0, sources, owner, now=now, why=f"{decision.reason}: {error}")


def dead(
    store: Store, message_id: int, sources: tuple[Status, ...], owner: str | None, *,
    now: datetime, why: str,
) -> bool:  # fmt: skip
    return _move(store, message_id, sources, owner, status=Status.DEAD, updated_at=now,
                 error=why[:500])  # fmt: skip


def test_delivery(
    session: Session, endpoint_id: int, *, now: datetime, window: timedelta
) -> Message:
    """A ``webhook.test`` delivery to one endpoint, claimable now (its event is marked
    dispatched, so no other endpoint gets it)."""
    target = endpoints.get(session, endpoint_id)
    event = events.emit(session, at=now, entity="webhook_endpoint", entity_id=target.id or 0,
                        type="test")  # fmt: skip
    event.dispatched_at = now
    session.flush()
    body: dict[str, object] = {"type": hook_rules.TEST_TYPE, "timestamp": now.isoformat(),
            "data": {"endpoint_id": target.id, "message": "a test event from billing"}}
    row = delivery(event.id or 0, target.id or 0, body, now, window)
    session.add(row)
    session.flush()
    return row


def claim_one(store: Store, message_id: int, *, now: datetime, owner: str) -> Message | None:
    """Claim one pending message (a test delivery sent at once)."""
    with store.transaction() as session:
        row = session.get(Message, message_id)
        if row is None or row.status != Status.PENDING:
            return None
        row.status, row.claim_owner, row.claimed_at = Status.CLAIMED, owner, now
        row.attempts += 1
        row.updated_at = now
        return row


def redeliver(session: Session, message_id: int, *, now: datetime, window: timedelta) -> Message:
    """A dead letter back in the queue now, with a fresh retry window and the same
    webhook-id."""
    row = session.get(Message, message_id)
    if row is None or row.channel != hook_rules.WEBHOOK:
        raise NotFound(f"webhook delivery {message_id} does not exist", field="delivery_id")
    if row.status != Status.DEAD:
        raise DomainError(f"delivery {message_id} is {row.status}; only a dead letter is retried",
                          field="delivery_id")  # fmt: skip
    row.status, row.next_attempt_at, row.retry_until = Status.PENDING, now, now + window
    row.attempts, row.claim_owner, row.updated_at = 0, None, now
    return row


def list_all(
    session: Session, *, status: str | None = None, kind: str | None = None,
    customer_id: int | None = None, limit: int = 500, channel: str | None = None,
) -> list[Message]:  # fmt: skip
    query = select(Message).order_by(col(Message.id).desc()).limit(limit)
    if channel is not None:
        query = query.where(col(Message.channel) == channel)
    if status is not None:
        query = query.where(col(Message.status) == status)
    if kind is not None:
        query = query.where(col(Message.kind) == kind)
    if customer_id is not None:
        query = query.where(col(Message.customer_id) == customer_id)
    return list(session.exec(query).all())
