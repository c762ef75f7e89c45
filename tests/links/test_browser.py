"""The acceptance path in headless Chromium: a declined member opens the link from the decline
email that a real SMTP server on 127.0.0.1 received, puts a new test card into the hosted
checkout (the sandbox's stand-in iframe) on the page `billing serve` shows, and the declined
charge is collected once by the engine against the sandbox over HTTP; the old mandate is
revoked; the link cannot be used twice.

Needs Debian's chromium (``make test`` installs it) and Playwright's Python package; like the
enrollment browser test it skips loudly when either is missing, and fails under CI=true.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from billing.domain.states import ChargeStatus, MandateStatus
from billing.links import rules
from billing.sandbox import SandboxConfig, SandboxHandle, running_sandbox
from billing.settings import ServeSettings
from tests.databases import migrated_database_url
from tests.engine.conftest import LOC_A, TEN_YEARS_S
from tests.engine.world import world
from tests.enroll.test_browser import ARGS, CHROMIUM, _free_port, _need, _wait_listening
from tests.links import member
from tests.notify import club
from tests.notify.mailbox import Mailbox

pytestmark = pytest.mark.anyio
API_KEY = "links-browser-test-key-0123456789"


@pytest.fixture
def live_sandbox() -> Iterator[SandboxHandle]:
    config = SandboxConfig(locations=(LOC_A,), token_ttl_s=TEN_YEARS_S)  # real time
    with running_sandbox(config) as handle:
        yield handle


@contextmanager
def serving(env: dict[str, str], port: int, tmp_path: Path) -> Iterator[Path]:
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "billing.cli", "serve", "--port", str(port)],
            env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            _wait_listening(port, process, log)
            yield log
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def update_card_in_browser(url: str) -> tuple[str, str]:
    """Open the link, put in a new card; returns (what the page said, the page after reopening
    the link)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need(False, "Playwright's Python package is NOT installed (pip install -e '.[dev]')")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page()
            page.goto(url)
            page.locator("#link[data-state=open]").wait_for(timeout=15_000)
            frame = page.frame_locator("iframe[name=toast-checkout]")
            frame.locator("#submit:not([disabled])").wait_for(timeout=15_000)
            frame.get_by_label("Card number").fill("4111 1111 1111 1111")
            frame.get_by_label("Expiry (MM/YY)").fill("12/30")
            frame.get_by_label("CVV").fill("123")
            frame.get_by_label("I authorize this business").check()
            frame.get_by_role("button", name="Save card").click()
            page.locator("#link[data-state=updated]").wait_for(timeout=30_000)
            said = page.locator("#link").inner_text()
            page.goto(url)  # the same link again
            page.locator("#link[data-state=used]").wait_for(timeout=15_000)
            assert page.locator("iframe").count() == 0
            return said, page.locator("#link").inner_text()
        finally:
            browser.close()


async def test_a_declined_member_updates_the_card_from_the_email_in_a_browser(
    live_sandbox: SandboxHandle, mailbox: Mailbox, tmp_path: Path
) -> None:
    _need(Path(CHROMIUM).exists(), f"Debian's chromium is NOT installed at {CHROMIUM}")
    url_db = migrated_database_url("sqlite", tmp_path)
    port = _free_port()
    public = f"http://127.0.0.1:{port}"
    start = datetime.now(UTC) + timedelta(seconds=5)  # the sandbox clock never goes back
    async with world(live_sandbox, url_db, start) as w:
        config = club.settings(live_sandbox, url_db, mailbox, kinds_off=["reminder"])
        config = config.model_copy(update={"serve": ServeSettings(public_url=public)})
        # Given Bob, whose wine-club charge due this morning (UTC) is declined by the engine
        w.plan(code="wine", name="Wine club", kind="RECURRING", amount_cents=4500,
               interval_unit="month", timezone="UTC", local_time="00:00")  # fmt: skip
        await club.member(w, "bob@example.com", card=member.DECLINES, name="Bob",
                          start=start.date())  # fmt: skip
        await w.engine.tick()
        [old], [charge], _, _ = member.rows(w)
        assert charge.status == ChargeStatus.RETRY_SCHEDULED
        # And the decline email the SMTP server on loopback received
        assert await club.dispatch(w, config) == 1
        [mail] = mailbox.wait_for(1)
        links = [word for word in mail.text.split() if word.startswith(public + rules.PATH)]
        assert len(links) == 1, mail.text
        url = links[0]
        env = {"PATH": "/usr/bin:/bin", "BILLING_DATABASE_URL": url_db, "BILLING_MODE": "sandbox",
               "BILLING_TOAST__BASE_URL": live_sandbox.base_url, "BILLING_API_KEY": API_KEY,
               "BILLING_TOAST__LOCATION_GUID": LOC_A, "BILLING_SERVE__PUBLIC_URL": public,
               "BILLING_NOTIFY__MERCHANT_NAME": club.MERCHANT}  # fmt: skip
        # When Bob opens it in a browser served by `billing serve` and puts in a new card
        with serving(env, port, tmp_path) as log:
            said, again = await asyncio.to_thread(update_card_in_browser, url)
        # Then the page said so, and the link, opened again, says it was used
        assert "VISA ending 1111 is now on file" in said
        assert "try the declined payment again within minutes" in said
        assert "already used" in again
        # And the old mandate is revoked, here and at Toast; the new one has the same consent
        mandates, [charge], _, [link] = member.rows(w)
        old, new = mandates[0], mandates[-1]
        assert (old.status, old.replaced_by_id) == (MandateStatus.REVOKED, new.id)
        assert (new.status, new.standing_instruction) == ("active", old.standing_instruction)
        toast = {m["id"]: m["status"] for m in await w.control.items("mandates")}
        assert (toast[old.toast_mandate_id], toast[new.toast_mandate_id]) == ("INACTIVE", "ACTIVE")
        assert link.used_at is not None
        # And the declined charge is due now on the new card; the engine, a minute later,
        # collects it once
        assert charge.mandate_id == new.id
        assert charge.next_attempt_at <= datetime.now(UTC)
        soon = datetime.now(UTC) + timedelta(minutes=1)
        w.clock.set(soon)
        await w.control.set_clock(soon)
        await w.engine.tick()
        [charge] = member.rows(w)[1]
        assert charge.status == ChargeStatus.PAID
        captured = [e for e in await w.control.items("order-payments")
                    if e["status"] == "CAPTURED"]  # fmt: skip
        assert [(e["amount"], e["mandateId"]) for e in captured] == [(4500, new.toast_mandate_id)]
        # And the token never reached the server's log
        token = url.rsplit("/", 1)[1]
        assert token not in log.read_text()
        assert "/card/" in log.read_text()  # the access log has the request, token redacted
