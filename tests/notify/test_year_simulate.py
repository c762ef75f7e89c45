"""Acceptance (issue 15): a year of a small wine club through `billing simulate` run as a
subprocess, mail to a real SMTP server (aiosmtpd) and webhooks to a real HTTP receiver on
127.0.0.1, the simulate process (engine and dispatcher) killed with SIGKILL at points chosen by
conditions and restarted with `--resume` each time:

- the 5th email a run sends, then the 15th, received with their answers held (the relay has
  the message, the sender never hears so): such an email becomes ``unknown`` and is never sent
  again;
- the 6th webhook a run delivers, then the 4th, received with answers held: delivered again
  with the same webhook-id (Standard Webhooks: the receiver deduplicates on it);
- Toast holding the answer to a confirm it already acted on, after a run's 8th payment.

At the end every member got exactly the expected emails per kind, none twice (by Message-ID),
and the receiver exactly the expected webhooks per type and member (by webhook-id).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path

import httpx
import pytest

from billing.notify import endpoints
from billing.notify.rules import Status
from billing.sandbox import SandboxHandle
from tests.engine.conftest import START
from tests.engine.workers import worker_env
from tests.engine.world import world
from tests.notify import club
from tests.notify.helpers import outbox
from tests.notify.mailbox import Mailbox
from tests.notify.receiver import Receiver, decoded, running_receiver
from tests.notify.test_club import DECLINES_TWICE, NEVER_RECOVERS, _kind

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
EVENTS = "charge.paid,charge.declined,charge.failed"
CONFIRM = r"^/v1/payment-intents/[^/]+/confirm$"
HOLD_MS = 4000


def _env(sandbox: SandboxHandle, db_url: str, box: Mailbox) -> dict[str, str]:
    return worker_env(sandbox, db_url) | {
        "BILLING_MAIL__HOST": box.host, "BILLING_MAIL__PORT": str(box.port),
        "BILLING_MAIL__FROM_ADDRESS": "club@hillside.example", "BILLING_MAIL__TIMEOUT_S": "30",
        "BILLING_NOTIFY__MERCHANT_NAME": club.MERCHANT, "BILLING_NOTIFY__RETRY_BASE_S": "60",
        "BILLING_TOAST__CONFIRM_TIMEOUT_S": "30", "BILLING_TOAST__READ_TIMEOUT_S": "30",
        # One message on the wire at a time, so a kill chosen at a held answer never cuts
        # another email mid-DATA: that one would rightly stay unknown, never re-sent (the
        # at-most-once rule, tests/notify/test_crash.py), and no count could be exact
        "BILLING_NOTIFY__CONCURRENCY": "1",
    }  # fmt: skip


def _simulate(env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "billing.cli", "simulate", "--from", START.isoformat(),
             "--until", "2027-12-31", "--resume"],
            env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _until(condition: Callable[[], bool], proc: subprocess.Popen[bytes], what: str) -> None:
    """Wait for ``condition`` while the simulation runs (it must not finish first)."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if condition():
            return
        assert proc.poll() is None, f"the simulation ended before {what}"
        time.sleep(0.02)
    raise AssertionError(f"not reached within 90 s: {what}")


def _sandbox(base_url: str, path: str) -> list[dict[str, object]]:
    reply = httpx.get(f"{base_url}/__sandbox__/{path}", timeout=30)
    items: list[dict[str, object]] = reply.json()["items"]
    return items


def _captured(base_url: str) -> int:
    return sum(e["status"] == "CAPTURED" for e in _sandbox(base_url, "order-payments"))


def _paid(base_url: str, count: int) -> Callable[[], bool]:
    return lambda: _captured(base_url) >= count


def _held(base_url: str) -> bool:
    return any(r["fault"] == "held_response" for r in _sandbox(base_url, "requests"))


def _kill(proc: subprocess.Popen[bytes], *holders: Mailbox | Receiver) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    for holder in holders:  # the held answer goes to a dead socket
        holder.release()


async def test_a_year_through_billing_simulate_killed_at_chosen_points(
    sandbox: SandboxHandle, sqlite_url: str, mailbox: Mailbox, tmp_path: Path
) -> None:
    with running_receiver() as receiver:
        async with world(sandbox, sqlite_url, START) as w:
            # Given a $45.00 monthly club with four members, one on a 14-day trial, and the
            # merchant's webhook endpoint
            club.wine_plan(w)
            w.plan(code="trial", name="Wine club (trial)", kind="RECURRING", amount_cents=4500,
                   interval_unit="month", timezone="America/Los_Angeles", local_time="10:00",
                   trial_days=14)  # fmt: skip
            with w.store.transaction() as session:
                _, receiver.secret = endpoints.add(session, receiver.url, events=EVENTS,
                                                   now=w.clock.now(), production=False)
            await club.member(w, "ann@example.com", start=date(2027, 1, 10))  # always pays
            await club.member(w, "bob@example.com", card=DECLINES_TWICE, start=date(2027, 1, 12))
            await club.member(w, "cy@example.com", card=NEVER_RECOVERS, start=date(2027, 1, 14))
            await club.member(w, "dee@example.com", start=date(2027, 1, 3), plan_code="trial")
        env, log = _env(sandbox, sqlite_url, mailbox), tmp_path / "simulate.log"
        base = sandbox.base_url
        kills = 0
        # When `billing simulate` runs the year and is killed at each chosen point, then
        # restarted with --resume
        for box, nth in ((mailbox, 5), (receiver, 6), (None, 8), (mailbox, 15), (receiver, 4)):
            proc = _simulate(env, tmp_path, log)
            if box is None:  # Toast holds the answer to a confirm it acted on
                at = _captured(base) + nth
                _until(_paid(base, at), proc, f"payment {at}")
                hold = {"method": "POST", "path": CONFIRM, "holdResponseMs": {"value": HOLD_MS},
                        "maxHits": 1}  # fmt: skip
                reply = httpx.post(f"{base}/__sandbox__/faults", timeout=30,
                                   json={"seed": 7, "rules": [hold]})  # fmt: skip
                reply.raise_for_status()
                _until(lambda: _held(base), proc, "a held confirm")
                _kill(proc)
            else:  # the nth message of this run received, its answer held
                box.hold_at = len(box.all() if isinstance(box, Receiver) else box.messages()) + nth
                _until(box.holding, proc, f"{type(box).__name__} message {box.hold_at}")
                _kill(proc, box)
            kills += 1
        proc = _simulate(env, tmp_path, log)
        assert proc.wait(timeout=120) == 0, log.read_text()[-3000:]
        async with world(sandbox, sqlite_url, START) as w:
            rows = outbox(w)
        hits = receiver.all()
    # Then each member got exactly these emails, none twice:
    got = Counter((m.rcpt_tos[0], _kind(m.message["Subject"])) for m in mailbox.messages())
    assert got == Counter({
        ("ann@example.com", "reminder"): 12, ("ann@example.com", "receipt"): 12,
        # January declined twice (a notice each), paid on the second retry; 11 more months
        ("bob@example.com", "reminder"): 12, ("bob@example.com", "decline"): 2,
        ("bob@example.com", "receipt"): 12,
        # January: 4 notices, then the final failure; the subscription is paused (no more)
        ("cy@example.com", "reminder"): 1, ("cy@example.com", "decline"): 4,
        ("cy@example.com", "final_failure"): 1,
        # the trial's end (January 17) told 8 days before as the required notice, 11 more
        ("dee@example.com", "reminder"): 12, ("dee@example.com", "receipt"): 12,
    })  # fmt: skip
    assert len(set(mailbox.ids())) == len(mailbox.messages())
    emails = [r for r in rows if r.channel == "email"]
    assert {r.provider_id for r in emails} == set(mailbox.ids())
    # the two emails whose answers were held at a kill are unknown, never sent again, and
    # both reached the relay: nothing lost, nothing twice
    by_status = Counter(r.status for r in emails)
    assert by_status == Counter({Status.SENT: len(emails) - 2, Status.UNKNOWN: 2}), by_status
    assert {r.provider_id for r in emails if r.status == Status.UNKNOWN} <= set(mailbox.ids())
    [trial_notice] = [r for r in emails if r.recipient == "dee@example.com"
                      and r.context.get("required_why")]  # fmt: skip
    assert trial_notice.context["required_why"] == "the first charge after a trial"
    # And the receiver got exactly these webhooks (by webhook-id), each verified
    assert all(h.body is not None for h in hits)
    first = {h.webhook_id: h for h in reversed(hits)}
    names = {1: "ann@example.com", 2: "bob@example.com", 3: "cy@example.com",
             4: "dee@example.com"}  # fmt: skip
    hooks = Counter((names[decoded(h)["data"]["customer"]["id"]], decoded(h)["type"])
                    for h in first.values())  # fmt: skip
    assert hooks == Counter({
        ("ann@example.com", "charge.paid"): 12,
        ("bob@example.com", "charge.declined"): 2, ("bob@example.com", "charge.paid"): 12,
        ("cy@example.com", "charge.declined"): 4, ("cy@example.com", "charge.failed"): 1,
        ("dee@example.com", "charge.paid"): 12,
    })  # fmt: skip
    again = len(hits) - len(first)
    assert again >= 2  # the two held deliveries came again, with their webhook-id
    assert {r.status for r in rows if r.channel == "webhook"} == {Status.SENT}
    print(f"\nyear via billing simulate: {kills} SIGKILLs, {len(mailbox.messages())} emails "
          f"({by_status[Status.UNKNOWN]} unknown, received once), {len(first)} webhooks "
          f"({again} redelivered with their webhook-id)")  # fmt: skip
