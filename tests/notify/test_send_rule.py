"""The send rule: retried only while no copy can have reached the relay; never sent twice.

Faults are the relay's own answers (4xx, 5xx, nobody listening) and crashes injected into the
dispatcher at the two instants that matter: after the claim is committed and before anything
is sent, and after the body reached the relay but before "sent" is recorded.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage

import pytest

from billing.notify import dispatcher, smtp
from billing.notify.rules import Status
from billing.sandbox import SandboxHandle
from billing.settings import BillingSettings, MailSettings
from tests.engine.conftest import START
from tests.engine.world import World, world
from tests.notify import club
from tests.notify.helpers import outbox
from tests.notify.mailbox import Mailbox, free_port

pytestmark = pytest.mark.anyio
PAID = datetime(2027, 1, 6, 5, tzinfo=UTC)


class Crash(BaseException):
    """The dispatcher process dying at this instant (nothing after it runs)."""


class CrashBeforeSending:
    """The claim is committed; the process dies before any SMTP command."""

    async def send(self, email: EmailMessage, *, recipient: str,
                   before_data: smtp.BeforeData) -> None:  # fmt: skip
        raise Crash


class CrashAfterRelayAccepted:
    """The relay accepted the message; the process dies before recording it."""

    def __init__(self, mail: MailSettings) -> None:
        self.real = smtp.SmtpTransport(mail)

    async def send(self, email: EmailMessage, *, recipient: str,
                   before_data: smtp.BeforeData) -> None:  # fmt: skip
        await self.real.send(email, recipient=recipient, before_data=before_data)
        raise Crash


async def _one_receipt_due(w: World) -> None:
    club.wine_plan(w)
    await club.member(w, "ann@example.com", start=date(2027, 1, 5))
    await w.run_until(PAID)


def _config(sandbox: SandboxHandle, db_url: str, box: Mailbox) -> BillingSettings:
    return club.settings(sandbox, db_url, box, kinds_off=["reminder"], claim_lease_s=60)


async def test_a_temporary_refusal_is_retried_after_the_backoff(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox
) -> None:
    async with world(sandbox, db_url, START) as w:
        config = _config(sandbox, db_url, mailbox)
        await _one_receipt_due(w)
        # Given the relay answers the first DATA with 451
        mailbox.refuse_data.append("451 4.3.0 Try again later")
        assert await club.dispatch(w, config) == 0
        [row] = outbox(w)
        assert (row.status, row.attempts) == (Status.PENDING, 1)
        assert row.next_attempt_at == w.clock.now() + timedelta(seconds=60)
        assert "451" in (row.error or "")
        # When the dispatcher runs again before the backoff, nothing happens; after it, sent
        assert await club.dispatch(w, config) == 0
        w.clock.advance(timedelta(seconds=60))
        assert await club.dispatch(w, config) == 1
        assert len(mailbox.messages()) == 1
        [row] = outbox(w)
        assert (row.status, row.attempts) == (Status.SENT, 2)


async def test_a_permanent_refusal_fails_and_is_never_retried(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox
) -> None:
    async with world(sandbox, db_url, START) as w:
        config = _config(sandbox, db_url, mailbox)
        await _one_receipt_due(w)
        mailbox.refuse_rcpt.append("550 5.1.1 No such mailbox")
        assert await club.dispatch(w, config) == 0
        w.clock.advance(timedelta(days=2))
        assert await club.dispatch(w, config) == 0
        [row] = outbox(w)
        assert (row.status, row.attempts) == (Status.FAILED, 1)
        assert "550" in (row.error or "")
        assert mailbox.messages() == []


async def test_attempts_are_bounded_with_exponential_backoff(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox
) -> None:
    async with world(sandbox, db_url, START) as w:
        # Given a relay nobody listens on
        down = mailbox.__class__(port=free_port())
        config = club.settings(sandbox, db_url, down, kinds_off=["reminder"], max_attempts=4)
        await _one_receipt_due(w)
        delays = []
        for _ in range(4):
            assert await club.dispatch(w, config) == 0
            [row] = outbox(w)
            delays.append((row.next_attempt_at - w.clock.now()).total_seconds())
            w.clock.set(row.next_attempt_at)
        # Then 60 s, 120 s, 240 s between tries, and the fourth refused try fails it
        assert delays[:3] == [60, 120, 240]
        [row] = outbox(w)
        assert (row.status, row.attempts) == (Status.FAILED, 4)
        assert "Connect" in (row.error or "") or "refused" in (row.error or "").lower()


async def test_relay_down_then_up_sends_once(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox
) -> None:
    async with world(sandbox, db_url, START) as w:
        down = mailbox.__class__(port=free_port())
        await _one_receipt_due(w)
        assert await club.dispatch(w, _config(sandbox, db_url, down)) == 0
        w.clock.advance(timedelta(minutes=5))
        assert await club.dispatch(w, _config(sandbox, db_url, mailbox)) == 1
        assert len(mailbox.messages()) == 1


async def test_crash_after_claim_before_sending_is_retried_once(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox
) -> None:
    async with world(sandbox, db_url, START) as w:
        config = _config(sandbox, db_url, mailbox)
        await _one_receipt_due(w)
        # Given a dispatcher that dies right after committing its claim
        with pytest.raises(Crash):
            await dispatcher.dispatch_once(w.store, w.clock, config, transport=CrashBeforeSending())
        [row] = outbox(w)
        assert row.status == Status.CLAIMED
        # When another dispatcher runs while the claim's lease holds, it leaves it alone
        assert await club.dispatch(w, config) == 0
        # And once the lease expired, it sends the message (nothing had left before)
        w.clock.advance(timedelta(seconds=61))
        assert await club.dispatch(w, config) == 1
        assert await club.dispatch(w, config) == 0
        assert len(mailbox.messages()) == 1
        [row] = outbox(w)
        assert (row.status, row.attempts) == (Status.SENT, 2)


async def test_crash_after_the_relay_accepted_is_never_sent_again(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox
) -> None:
    async with world(sandbox, db_url, START) as w:
        config = _config(sandbox, db_url, mailbox)
        await _one_receipt_due(w)
        crash = CrashAfterRelayAccepted(config.mail)
        with pytest.raises(Crash):
            await dispatcher.dispatch_once(w.store, w.clock, config, transport=crash)
        assert [row.status for row in outbox(w)] == [Status.SENDING]
        # When dispatchers run long after, the message is declared unknown, not re-sent
        for _ in range(3):
            w.clock.advance(timedelta(minutes=5))
            assert await club.dispatch(w, config) == 0
        [row] = outbox(w)
        assert row.status == Status.UNKNOWN
        assert len(mailbox.messages()) == 1  # the one copy the relay took


async def test_a_lost_claim_never_sends(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox
) -> None:
    # Given a slow dispatcher whose claim expired and was taken over by another one
    async with world(sandbox, db_url, START) as w:
        config = _config(sandbox, db_url, mailbox)
        await _one_receipt_due(w)
        with pytest.raises(Crash):
            await dispatcher.dispatch_once(w.store, w.clock, config, transport=CrashBeforeSending(),
                                           owner="slow")  # fmt: skip
        w.clock.advance(timedelta(seconds=61))
        assert await club.dispatch(w, config) == 1
        # When the slow one wakes up and reaches DATA, its "sending" step is refused
        [row] = outbox(w)
        row.claim_owner, row.status = "slow", Status.CLAIMED  # what it still believes
        slow = dispatcher.Dispatcher(w.store, w.clock, config, smtp.SmtpTransport(config.mail),
                                     "slow")  # fmt: skip
        assert await slow.send(row) is False
        assert len(mailbox.messages()) == 1
        assert [r.status for r in outbox(w)] == [Status.SENT]
