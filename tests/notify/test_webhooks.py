"""Webhooks to the merchant's systems: signed per Standard Webhooks and verified by a real
receiver on 127.0.0.1 with ``standardwebhooks.Webhook``; retried after 5xx answers with
exponential backoff and jitter (fake clock) for 24 h, then a dead letter; never a new
webhook-id for one delivery, and never a second delivery row for one (event, endpoint)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from billing.notify import dispatcher, endpoints, outbox
from billing.notify.rules import Status
from billing.sandbox import SandboxHandle
from billing.settings import BillingSettings
from billing.store.tables import Message
from tests.engine.conftest import START
from tests.engine.world import World, world
from tests.notify import club
from tests.notify.helpers import outbox as rows_of
from tests.notify.mailbox import Mailbox
from tests.notify.receiver import Receiver, decoded, running_receiver

pytestmark = pytest.mark.anyio
PAID = datetime(2027, 1, 6, 5, tzinfo=UTC)
NEVER_RECOVERS = "4000000000000275"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


def _config(sandbox: SandboxHandle, db_url: str, box: Mailbox) -> BillingSettings:
    config = club.settings(sandbox, db_url, box, kinds_off=["reminder", "receipt"])
    hooks = config.webhooks.model_copy(update={"retry_base_s": 60, "retry_max_s": 3600})
    return config.model_copy(update={"webhooks": hooks})


def _endpoint(w: World, r: Receiver, events: str) -> int:
    with w.store.transaction() as session:
        row, secret = endpoints.add(session, r.url, events=events, now=w.clock.now(),
                                    production=False)  # fmt: skip
        r.secret = secret
        return row.id or 0


async def _dispatch(w: World, config: BillingSettings) -> int:
    return await dispatcher.dispatch_once(w.store, w.clock, config, jitter=lambda: 0.0)


def _deliveries(w: World) -> list[Message]:
    return [m for m in rows_of(w) if m.channel == "webhook"]


async def test_a_paid_charge_is_posted_signed_to_the_endpoints_that_want_it(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox, receiver: Receiver
) -> None:
    async with world(sandbox, db_url, START) as w:
        config = _config(sandbox, db_url, mailbox)
        club.wine_plan(w)
        # Given an endpoint for charge.paid and another one (same receiver) for failures only
        wanted = _endpoint(w, receiver, "charge.paid,charge.failed")
        with running_receiver() as other:
            _endpoint(w, other, "charge.failed")
            await club.member(w, "ann@example.com", start=date(2027, 1, 5))
            # When the charge is paid and the dispatch lane runs (twice)
            await w.run_until(PAID)
            assert await _dispatch(w, config) == 1
            assert await _dispatch(w, config) == 0
            assert other.all() == []
        # Then one signed charge.paid arrived, verified by standardwebhooks
        [hit] = receiver.all()
        body = decoded(hit)
        assert body["type"] == "charge.paid"
        assert body["timestamp"].startswith("2027-01-05")
        data = body["data"]
        assert data["charge"]["amount_cents"] == 4500
        assert data["charge"]["currency"] == "USD"
        assert data["plan"] == "wine"
        assert data["subscription_id"] == 1
        assert (data["charge"]["source"], data["charge"]["source_key"]) == (None, None)
        mandate = w.mandate(1)
        assert data["card"] == {"brand": mandate.card_brand, "last4": "1111"}
        # No secret, no Toast ids, no email, no expiry anywhere in the body
        raw = hit.raw
        for private in (receiver.secret, mandate.toast_mandate_id or "?",
                        mandate.toast_payment_method_id or "?", "ann@example.com", "exp"):
            assert private not in raw, private
        assert hit.headers["webhook-id"].startswith("msg_")
        assert hit.headers["webhook-signature"].startswith("v1,")
        [row] = _deliveries(w)
        assert (row.status, row.recipient, row.kind) == (Status.SENT, f"webhook:{wanted}",
                                                        "charge.paid")  # fmt: skip
        assert row.provider_id == hit.webhook_id


async def test_5xx_answers_are_retried_with_backoff_under_the_same_webhook_id(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox, receiver: Receiver
) -> None:
    async with world(sandbox, db_url, START) as w:
        config = _config(sandbox, db_url, mailbox)
        club.wine_plan(w)
        _endpoint(w, receiver, "charge.paid")
        await club.member(w, "ann@example.com", start=date(2027, 1, 5))
        await w.run_until(PAID)
        # Given the receiver answers 500, then 503
        receiver.answers.extend([500, 503])
        delays = []
        for _ in range(2):
            assert await _dispatch(w, config) == 0
            [row] = _deliveries(w)
            assert row.status == Status.PENDING
            assert row.error in ("HTTP 500", "HTTP 503")
            delays.append((row.next_attempt_at - w.clock.now()).total_seconds())
            # nothing is tried before the backoff has passed
            assert await _dispatch(w, config) == 0
            w.clock.set(row.next_attempt_at)
        # Then 60 s, then 120 s, and the third try is delivered
        assert delays == [60, 120]
        assert await _dispatch(w, config) == 1
        hits = receiver.all()
        assert [h.answered for h in hits] == [500, 503, 204]
        assert len({h.webhook_id for h in hits}) == 1
        assert all(h.body is not None for h in hits)  # each try signed afresh, each verified
        [row] = _deliveries(w)
        assert (row.status, row.attempts) == (Status.SENT, 3)


async def test_a_delivery_failing_for_24_hours_becomes_a_dead_letter_and_can_be_retried(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox, receiver: Receiver
) -> None:
    async with world(sandbox, db_url, START) as w:
        config = _config(sandbox, db_url, mailbox)
        club.wine_plan(w)
        _endpoint(w, receiver, "*")
        await club.member(w, "ann@example.com", start=date(2027, 1, 5))
        await w.run_until(PAID)
        receiver.answers.extend([500] * 1000)
        # When every try is answered 500, the dispatcher following the backoff
        first = w.clock.now()
        tries = []
        for _ in range(100):
            await _dispatch(w, config)
            [row] = _deliveries(w)
            tries.append(w.clock.now())
            if row.status != Status.PENDING:
                break
            w.clock.set(row.next_attempt_at)
        # Then it is a dead letter after 24 h: the last try at the end of the window
        assert row.status == Status.DEAD
        assert tries[-1] - first == timedelta(hours=24)
        gaps = [b - a for a, b in itertools.pairwise(tries)]
        assert gaps[:3] == [timedelta(seconds=60), timedelta(seconds=120),
                            timedelta(seconds=240)]  # fmt: skip
        assert max(gaps) <= timedelta(hours=1)
        assert len(receiver.all()) == row.attempts == len(tries)
        assert "retry window" in (row.error or "")
        assert "HTTP 500" in (row.error or "")
        # And `webhooks retry` puts it back: delivered once with the same webhook-id
        receiver.answers.clear()
        with w.store.transaction() as session:
            outbox.redeliver(session, row.id or 0, now=w.clock.now(), window=timedelta(hours=24))
        assert await _dispatch(w, config) == 1
        assert await _dispatch(w, config) == 0
        assert len(receiver.delivered()) == 1
        assert {h.webhook_id for h in receiver.all()} == {row.provider_id}


async def test_jitter_spreads_retries_by_up_to_half_the_delay(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox, receiver: Receiver
) -> None:
    async with world(sandbox, db_url, START) as w:
        config = _config(sandbox, db_url, mailbox)
        club.wine_plan(w)
        _endpoint(w, receiver, "charge.paid")
        await club.member(w, "ann@example.com", start=date(2027, 1, 5))
        await w.run_until(PAID)
        receiver.answers.append(500)
        await dispatcher.dispatch_once(w.store, w.clock, config, jitter=lambda: 0.5)
        [row] = _deliveries(w)
        assert (row.next_attempt_at - w.clock.now()).total_seconds() == 60 * 1.25


async def test_a_crash_after_the_post_delivers_again_with_the_same_id(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox, receiver: Receiver
) -> None:
    async with world(sandbox, db_url, START) as w:
        config = _config(sandbox, db_url, mailbox)
        club.wine_plan(w)
        _endpoint(w, receiver, "charge.paid")
        await club.member(w, "ann@example.com", start=date(2027, 1, 5))
        await w.run_until(PAID)

        class Crash(BaseException):
            pass

        # Given a dispatcher that dies after the endpoint took the POST, before recording it
        real = outbox.sent

        def crash(*args: object, **kwargs: object) -> bool:
            raise Crash

        outbox.sent = crash  # type: ignore[assignment]
        try:
            with pytest.raises(Crash):
                await _dispatch(w, config)
        finally:
            outbox.sent = real  # type: ignore[assignment]
        [row] = _deliveries(w)
        assert row.status == Status.SENDING
        assert len(receiver.delivered()) == 1
        # When another dispatcher runs while the lease holds: nothing; after it: delivered again
        assert await _dispatch(w, config) == 0
        w.clock.advance(timedelta(seconds=config.notify.claim_lease_s + 1))
        assert await _dispatch(w, config) == 1
        assert await _dispatch(w, config) == 0
        hits = receiver.delivered()
        assert len(hits) == 2
        assert hits[0].webhook_id == hits[1].webhook_id == row.provider_id
        assert len(_deliveries(w)) == 1
        assert _deliveries(w)[0].status == Status.SENT


async def test_declines_and_the_final_failure_each_post_once(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox, receiver: Receiver
) -> None:
    async with world(sandbox, db_url, START) as w:
        config = _config(sandbox, db_url, mailbox)
        club.wine_plan(w)
        _endpoint(w, receiver, "charge.declined,charge.failed,charge.paid")
        await club.member(w, "cy@example.com", card=NEVER_RECOVERS, start=date(2027, 1, 5))
        from tests.notify.helpers import run

        await run(w, config, datetime(2027, 1, 25, tzinfo=UTC))
        types = [decoded(h)["type"] for h in receiver.all()]
        assert types == ["charge.declined"] * 4 + ["charge.failed"]
        first = decoded(receiver.all()[0])["data"]
        assert first["retry_at"]
        assert first["decline_code"]
        assert decoded(receiver.all()[-1])["data"]["reason"] == (
            "every retry of the payment was declined"
        )
        assert len({h.webhook_id for h in receiver.all()}) == 5


async def test_a_removed_endpoint_gets_nothing_more(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox, receiver: Receiver
) -> None:
    async with world(sandbox, db_url, START) as w:
        config = _config(sandbox, db_url, mailbox)
        club.wine_plan(w)
        endpoint = _endpoint(w, receiver, "charge.paid")
        await club.member(w, "ann@example.com", start=date(2027, 1, 5))
        await w.run_until(PAID)
        receiver.answers.append(500)
        await _dispatch(w, config)
        with w.store.transaction() as session:
            endpoints.remove(session, endpoint, now=w.clock.now())
        w.clock.advance(timedelta(hours=1))
        await _dispatch(w, config)
        [row] = _deliveries(w)
        assert row.status == Status.DEAD
        assert row.error == "the endpoint was removed"
        assert len(receiver.all()) == 1


async def test_webhooks_test_sends_one_signed_test_event(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox, receiver: Receiver
) -> None:
    async with world(sandbox, db_url, START) as w:
        config = _config(sandbox, db_url, mailbox)
        endpoint = _endpoint(w, receiver, "charge.paid")
        with w.store.transaction() as session:
            message_id = outbox.test_delivery(session, endpoint, now=w.clock.now(),
                                              window=timedelta(hours=24)).id or 0  # fmt: skip
        assert await dispatcher.deliver_now(w.store, w.clock, config, message_id)
        [hit] = receiver.all()
        assert decoded(hit)["type"] == "webhook.test"
        assert decoded(hit)["data"]["endpoint_id"] == endpoint
        # the test event is for that endpoint only, and no pass sends it again
        assert await _dispatch(w, config) == 0
        assert len(receiver.all()) == 1
        assert json.loads(hit.raw) == decoded(hit)
