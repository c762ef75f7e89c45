"""`billing simulate` sends the customer messages as simulated time passes, to the configured
relay (a real SMTP server on loopback); `billing demo` runs one and keeps what it accepted."""

from __future__ import annotations

import email
import email.policy
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from billing.sandbox import SandboxHandle
from tests.engine.conftest import START
from tests.engine.workers import worker_env
from tests.engine.world import world
from tests.links.member import DECLINES
from tests.notify import club
from tests.notify.mailbox import Mailbox

pytestmark = pytest.mark.anyio


async def test_a_simulated_quarter_sends_its_mail(
    sandbox: SandboxHandle, sqlite_url: str, mailbox: Mailbox, tmp_path: Path
) -> None:
    # Given Ann, who pays, and Bob, whose card never recovers, in a monthly club from Jan 10
    async with world(sandbox, sqlite_url, START) as w:
        club.wine_plan(w)
        await club.member(w, "ann@example.com", start=date(2027, 1, 10))
        await club.member(w, "bob@example.com", card=DECLINES, start=date(2027, 1, 10))
        env = {**worker_env(sandbox, sqlite_url), "BILLING_MAIL__HOST": mailbox.host,
               "BILLING_MAIL__PORT": str(mailbox.port),
               "BILLING_NOTIFY__KINDS_OFF": '["reminder", "expiring_card"]'}  # fmt: skip
        # When three months are simulated from the command line
        done = subprocess.run(
            [sys.executable, "-m", "billing.cli", "simulate", "--from", START.isoformat(),
             "--until", "2027-03-31"],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        # Then each member got exactly the mail of their quarter, none twice
        got = Counter((m.rcpt_tos[0], str(m.message["Subject"]).split(" ")[0])
                      for m in mailbox.messages())  # fmt: skip
        assert got == {("ann@example.com", "Receipt"): 3,  # Jan, Feb, Mar
                       ("bob@example.com", "Your"): 4,  # declined: retried 1, 3, 7, 14 days on
                       ("bob@example.com", "We"): 1}  # fmt: skip  # then dunning gave up
        assert len(set(mailbox.ids())) == len(mailbox.messages()) == 8
        assert "messages sent 8" in done.stdout


def test_the_demo_runs_an_smtp_server_and_keeps_what_it_sent(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BILLING_")}
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "billing.cli", "demo", "--members", "8", "--months", "2",
         "--dir", str(out)],
        capture_output=True, text=True, timeout=180, cwd=tmp_path, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    files = sorted((out / "mail").glob("*.eml"))
    kinds = Counter(re.sub(r"^\d{4}-", "", f.stem) for f in files)
    assert kinds["receipt"] > 0
    assert kinds["reminder"] > 0
    assert "other" not in kinds
    text = " ".join(done.stdout.split())
    shown = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
    assert f"mail {len(files)} messages in {out / 'mail'}/*.eml ({shown})" in text
    for path in files:  # each a whole email: addressed, with a text and an HTML body
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert message["To"]
        assert message["Message-ID"]
        assert message.get_body(("plain",)) is not None  # type: ignore[attr-defined]
        assert message.get_body(("html",)) is not None  # type: ignore[attr-defined]
