"""End to end in headless Chromium: join the wine club on the demo site through the sandbox's
checkout iframe, then `billing tick` charges the first cycle with the resulting mandate.

Needs Debian's chromium (``make test`` installs it) and Playwright's Python package (dev
extra; its own browser downloads are never used). Skips loudly when either is missing, but
fails under CI=true.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from billing.sandbox import SandboxConfig, SandboxHandle, running_sandbox
from billing.sandbox.remote import SandboxControl
from billing.store.db import Store
from billing.store.tables import Enrollment, Mandate, Subscription
from tests.conftest import IN_CI
from tests.databases import migrated_database_url
from tests.enroll.conftest import API_KEY, LOCATION

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _need(ok: bool, reason: str) -> None:
    if not ok:
        if IN_CI:
            pytest.fail(f"CI=true requires it: {reason}")
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"billing serve exited: {log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("billing serve did not start listening")


@pytest.fixture
def real_time_sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox(SandboxConfig(locations=(LOCATION,))) as handle:
        yield handle


@pytest.fixture
def env(real_time_sandbox: SandboxHandle, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "BILLING_DATABASE_URL": migrated_database_url("sqlite", tmp_path),
            "BILLING_TOAST__BASE_URL": real_time_sandbox.base_url, "BILLING_MODE": "sandbox",
            "BILLING_API_KEY": API_KEY, "BILLING_TOAST__LOCATION_GUID": LOCATION}  # fmt: skip


@contextmanager
def _serving(env: dict[str, str], tmp_path: Path, *args: str) -> Iterator[str]:
    port, log = _free_port(), tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "billing.cli", "serve", "--port", str(port), *args],
            env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            _wait_listening(port, process, log)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def site(env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """`billing serve --demo-site`: the API and the demo site."""
    with _serving(env, tmp_path, "--demo-site") as url:
        yield url


@pytest.fixture
def api_only(env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """`billing serve`: the API alone."""
    with _serving(env, tmp_path) as url:
        yield url


def _join_wine_club(site: str, email: str, *, pay_now: bool = False) -> str:
    """Returns what the demo site said at the end."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need(False, "Playwright's Python package is NOT installed (pip install -e '.[dev]')")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page()
            page.goto(site)
            page.get_by_role("link", name="Join the wine club").click()
            page.get_by_label("Email").fill(email)
            page.get_by_label("Name").fill("Wine Lover")
            if pay_now:
                page.get_by_label("Pay the first month ($45.00) now").check()
            page.get_by_role("button", name="Continue to payment").click()
            frame = page.frame_locator("iframe[name=toast-checkout]")
            frame.locator("#submit:not([disabled])").wait_for(timeout=15_000)
            frame.get_by_label("Card number").fill("4111 1111 1111 1111")
            frame.get_by_label("Expiry (MM/YY)").fill("12/30")
            frame.get_by_label("CVV").fill("123")
            frame.get_by_label("I authorize this business").check()
            if os.environ.get("ENROLL_TEST_SCREENSHOT"):  # a look at the checkout, by hand
                page.screenshot(path=os.environ["ENROLL_TEST_SCREENSHOT"])
            button = "Pay $45.00" if pay_now else "Save card"
            frame.get_by_role("button", name=button).click()
            page.locator("#status[data-status=completed]").wait_for(timeout=15_000)
            said = page.locator("#status").inner_text()
            assert "VISA ending 1111" in said
            return said
        finally:
            browser.close()


def _tick(env: dict[str, str], instant: datetime, cwd: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "billing.cli", "tick", "--now", instant.isoformat()],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


async def _ledger_after(base_url: str, instant: datetime, tick: Any) -> list[dict[str, Any]]:
    control = SandboxControl.at(base_url)
    try:
        await control.set_clock(instant)
        await asyncio.to_thread(tick)
        return await control.items("order-payments")
    finally:
        await control.aclose()


def test_join_the_wine_club_in_a_browser_then_tick_charges_it(
    site: str, env: dict[str, str], real_time_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    _need(Path(CHROMIUM).exists(), f"Debian's chromium is NOT installed at {CHROMIUM}")
    # Given the demo site; When a customer joins the wine club in the browser
    _join_wine_club(site, "lover@example.com")
    store = Store.from_url(env["BILLING_DATABASE_URL"])
    try:
        with store.transaction() as session:
            enrollment = session.exec(select(Enrollment)).one()
            sub = session.get(Subscription, enrollment.subscription_id)
            mandate = session.get(Mandate, enrollment.mandate_id)
    finally:
        store.dispose()
    # Then the enrollment is completed and the subscription active with a first due time
    assert enrollment.status == "completed"
    assert sub is not None
    assert sub.status == "active"
    assert sub.next_charge_at is not None
    # When `billing tick` runs at the first due instant (the sandbox clock moved there too)
    # (a minute ahead: the sandbox's clock runs on and never moves back, and under load a
    # second may already have passed by the time it is set)
    instant = max(sub.next_charge_at, datetime.now(UTC)) + timedelta(seconds=60)
    ledger = asyncio.run(_ledger_after(real_time_sandbox.base_url, instant,
                                       lambda: _tick(env, instant, tmp_path)))  # fmt: skip
    # Then the sandbox ledger shows the first cycle captured with the customer's mandate
    captured = [entry for entry in ledger if entry["status"] == "CAPTURED"]
    assert len(captured) == 1, ledger
    assert captured[0]["amount"] == 4500
    assert captured[0]["offSession"] is True
    assert mandate is not None
    assert captured[0]["mandateId"] == mandate.toast_mandate_id


def test_join_the_wine_club_paying_the_first_month_now(
    site: str, env: dict[str, str], real_time_sandbox: SandboxHandle
) -> None:
    _need(Path(CHROMIUM).exists(), f"Debian's chromium is NOT installed at {CHROMIUM}")
    # When a customer joins in the browser and ticks "Pay the first month now"
    said = _join_wine_club(site, "eager@example.com", pay_now=True)
    # Then the site says so, and the sandbox ledger shows the payment on a check
    assert "We charged $45.00 today" in said
    ledger = asyncio.run(_items(real_time_sandbox.base_url, "order-payments"))
    assert [(e["amount"], e["offSession"], e["orderGuid"] is not None) for e in ledger] == [
        (4500, False, True)
    ]
    store = Store.from_url(env["BILLING_DATABASE_URL"])
    try:
        with store.transaction() as session:
            sub = session.exec(select(Subscription)).one()
    finally:
        store.dispose()
    assert (sub.status, sub.next_cycle, sub.cycles_paid) == ("active", 1, 1)


async def _items(base_url: str, kind: str) -> list[dict[str, Any]]:
    control = SandboxControl.at(base_url)
    try:
        return await control.items(kind)
    finally:
        await control.aclose()


def test_the_api_docs_render_in_a_browser_with_no_network(api_only: str) -> None:
    site = api_only
    _need(Path(CHROMIUM).exists(), f"Debian's chromium is NOT installed at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need(False, "Playwright's Python package is NOT installed (pip install -e '.[dev]')")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page()
            elsewhere: list[str] = []  # anything not served by billing serve is refused
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
                site) else (elsewhere.append(route.request.url), route.abort())[1])  # fmt: skip
            page.goto(f"{site}/docs")
            # Then Swagger UI rendered the schema from /openapi.json: the title and a route
            page.locator(".swagger-ui .info .title").wait_for(timeout=15_000)
            assert "billing enrollment API" in page.locator(".swagger-ui .info .title").inner_text()
            page.get_by_text("/v1/enrollments", exact=True).first.wait_for(timeout=15_000)
            assert elsewhere == []
        finally:
            browser.close()
