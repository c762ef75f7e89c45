"""The dispatch lane: one pass turns new events into messages and sends the due ones.

``dispatch_once`` is what ``billing run`` schedules and what ``billing messages dispatch`` runs
once. Each message is sent at most once per (event, channel, recipient); the rule and the
states are drawn in ``billing.notify.rules``. Store calls run on a worker thread so the pass
never blocks the event loop it shares with the engine's lanes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import jinja2

from billing.clock import Clock, SystemClock
from billing.errors import DuplicateKey
from billing.links import tokens
from billing.notify import (
    compose,
    endpoints,
    expiring,
    hook_rules,
    hook_send,
    milestone_notices,
    outbox,
    reminders,
    render,
    rules,
    smtp,
    unsubscribe,
)
from billing.settings import BillingSettings, link_secret
from billing.store.db import Store
from billing.store.tables import Message, WebhookEndpoint

log = logging.getLogger("billing.notify")
T = TypeVar("T")


def owner_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


async def dispatch_once(
    store: Store, clock: Clock, settings: BillingSettings, *,
    transport: smtp.Transport | None = None, owner: str | None = None,
    jitter: Callable[[], float] = random.random, wall: Clock | None = None,
) -> int:  # fmt: skip
    """One pass: reminders and expiring-card notices now due, new events into messages (and
    webhook deliveries), then send what is due.

    Returns the number of messages the relay (or a webhook endpoint) accepted in this pass.
    ``wall`` stamps webhook-timestamp (receivers compare it with their own clock, so it is
    the real time even when ``clock`` is simulated)."""
    if not settings.notify.enabled:
        return 0
    dispatcher = Dispatcher(store, clock, settings, transport or smtp.SmtpTransport(settings.mail),
                            owner or owner_name(), jitter=jitter, wall=wall)  # fmt: skip
    return await dispatcher.pass_once()


async def deliver_now(
    store: Store, clock: Clock, settings: BillingSettings, message_id: int, *,
    wall: Clock | None = None,
) -> bool:  # fmt: skip
    """Deliver one pending webhook message now (``billing webhooks test``); True: a 2xx."""
    owner = owner_name()
    dispatcher = Dispatcher(store, clock, settings, smtp.SmtpTransport(settings.mail), owner,
                            wall=wall)  # fmt: skip
    message = await asyncio.to_thread(outbox.claim_one, store, message_id, now=clock.now(),
                                      owner=owner)  # fmt: skip
    if message is None:
        return False
    async with hook_send.client(settings.webhooks.timeout_s) as dispatcher.http:
        return await dispatcher.deliver(message)


class Dispatcher:
    def __init__(
        self, store: Store, clock: Clock, settings: BillingSettings, transport: smtp.Transport,
        owner: str, *, jitter: Callable[[], float] = random.random, wall: Clock | None = None,
    ) -> None:  # fmt: skip
        self.store, self.clock, self.settings = store, clock, settings
        self.notify, self.transport, self.owner = settings.notify, transport, owner
        self.renderer = render.cached(settings.notify)
        self.jitter, self.wall = jitter, wall or SystemClock()
        self.http: httpx.AsyncClient | None = None

    async def _db(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(fn, self.store, *args, **kwargs)

    async def pass_once(self) -> int:
        now = self.clock.now()
        # Always: a plan may switch reminders on, and required notices are checked either way.
        await self._scan(reminders.scan, now=now, notify=self.notify)
        if rules.Kind.EXPIRING_CARD not in self.notify.kinds_off:
            await self._scan(expiring.scan, now=now, notify=self.notify)
        if rules.Kind.MILESTONE_NOTICE not in self.notify.kinds_off:
            await self._scan(milestone_notices.scan, now=now, notify=self.notify)
        hooks = self.settings.webhooks
        while await self._db(outbox.enqueue, now=now, notify=self.notify,
                             hooks=hooks) >= self.notify.batch_size:  # fmt: skip
            pass
        claimed = await self._db(outbox.claim, now=now, owner=self.owner, notify=self.notify)
        gate = asyncio.Semaphore(self.notify.concurrency)

        async def one(message: Message) -> bool:
            async with gate:
                if message.channel == hook_rules.WEBHOOK:
                    return await self.deliver(message)
                return await self.send(message)

        if not any(m.channel == hook_rules.WEBHOOK for m in claimed):
            return sum(await asyncio.gather(*(one(m) for m in claimed)))
        async with hook_send.client(hooks.timeout_s) as self.http:  # only when one is due
            return sum(await asyncio.gather(*(one(m) for m in claimed)))

    async def deliver(self, message: Message) -> bool:
        """Post one claimed webhook delivery; True when the endpoint answered 2xx."""
        mid = message.id or 0
        target = await self._db(_endpoint, endpoints.endpoint_id(message.recipient))
        if target is None or not target.enabled or target.removed_at is not None:
            await self._db(outbox.dead, mid, (rules.Status.CLAIMED,), self.owner,
                           now=self.clock.now(), why="the endpoint was removed")  # fmt: skip
            return False
        payload = hook_send.encode(message.context["body"])
        if not await self._db(outbox.start_sending, mid, owner=self.owner, now=self.clock.now(),
                              subject=message.kind, provider_id=message.provider_id or ""):
            self._log("message_claim_lost", message)
            return False
        assert self.http is not None
        outcome = await hook_send.post(
            self.http, target.url, secret=target.secret, webhook_id=message.provider_id or "",
            at=self.wall.now(), payload=payload,
        )  # fmt: skip
        if outcome.delivered:
            await self._db(outbox.sent, mid, now=self.clock.now())
            self._log("webhook_delivered", message, detail=outcome.detail)
            return True
        await self._db(outbox.not_delivered, message, owner=self.owner, now=self.clock.now(),
                       error=outcome.detail, hooks=self.settings.webhooks,
                       jitter=self.jitter())  # fmt: skip
        self._log("webhook_not_delivered", message, detail=outcome.detail)
        return False

    async def _scan(self, fn: Callable[..., int], **kwargs: Any) -> None:
        """A notice scan; another dispatcher creating the same notice first is not an error
        (its unique key rolled this scan back; the next pass creates whatever is left)."""
        try:
            await self._db(fn, **kwargs)
        except DuplicateKey:
            log.info("notice_scan_raced", extra={"action": "notice_scan_raced"})

    async def send(self, message: Message) -> bool:
        """Send one claimed message; True when the relay accepted it."""
        mid = message.id or 0
        context = message.context
        if message.kind in tokens.CARRY_A_LINK:  # a fresh card-update link; only its hash kept
            url = await self._db(tokens.for_message, message, now=self.clock.now(),
                                 serve=self.settings.serve)  # fmt: skip
            context = context | ({"update_url": url} if url else {})
        if message.kind == rules.Kind.REMINDER and context.get("unsubscribable"):
            context = context | {"unsubscribe_url": unsubscribe.url(
                self.settings.serve.public_url, link_secret(self.settings),
                message.customer_id or 0, rules.Kind.REMINDER)}  # fmt: skip
        try:
            rendered = self.renderer.render(message.kind, context)
        except (jinja2.TemplateError, KeyError, ValueError) as exc:
            return await self._not_sent(message, f"template: {type(exc).__name__}: {exc}", False)
        email = compose.email(
            rendered, to=message.recipient, mail=self.settings.mail,
            merchant=self.notify.merchant_name, at=self.clock.now(),
            msgid=compose.message_id(mid, message.event_id, self.settings.mail.from_address),
        )  # fmt: skip
        if context.get("unsubscribe_url"):  # RFC 8058 one-click (a POST to the link)
            email["List-Unsubscribe"] = f"<{context['unsubscribe_url']}>"
            email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"

        async def before_data() -> bool:
            return await self._db(outbox.start_sending, mid, owner=self.owner,
                                  now=self.clock.now(), subject=rendered.subject,
                                  provider_id=str(email["Message-ID"]))  # fmt: skip

        try:
            await self.transport.send(email, recipient=message.recipient, before_data=before_data)
        except smtp.NotSent as exc:
            return await self._not_sent(message, str(exc), exc.permanent)
        except smtp.OutcomeUnknown as exc:
            await self._db(outbox.unknown, mid, owner=self.owner, now=self.clock.now(),
                           error=str(exc))  # fmt: skip
            self._log("message_outcome_unknown", message, error=str(exc))
            return False
        except smtp.ClaimLost:
            self._log("message_claim_lost", message)
            return False
        await self._db(outbox.sent, mid, now=self.clock.now())
        self._log("message_sent", message)
        return True

    async def _not_sent(self, message: Message, error: str, permanent: bool) -> bool:
        await self._db(outbox.not_sent, message, owner=self.owner, now=self.clock.now(),
                       error=error, permanent=permanent, notify=self.notify)  # fmt: skip
        self._log("message_not_sent", message, error=error, permanent=permanent)
        return False

    def _log(self, action: str, message: Message, **extra: object) -> None:
        log.info(action, extra={"action": action, "message_id": message.id, "kind": message.kind,
                                "event_id": message.event_id, **extra})  # fmt: skip


def _endpoint(store: Store, endpoint_id: int) -> WebhookEndpoint | None:
    with store.transaction() as session:
        return session.get(WebhookEndpoint, endpoint_id)
