"""The HTML report rendered by headless Chromium: the charts are real SVG in the DOM, and the
page paints (a screenshot of a non-trivial size) without any network."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from billing.reports import html, query
from billing.reports.period import Month, spanning
from billing.store.db import Store
from tests.reports.test_collections import NOW

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1200,2000"]  # fmt: skip


def _chromium(binary: str, profile: Path, *args: str) -> str:
    done = subprocess.run(
        [binary, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=90, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_chromium_renders_the_charts(chromium: str, quarter_store: Store, tmp_path: Path) -> None:
    with quarter_store.transaction() as session:
        report = query.collections(session, spanning(Month(2027, 1), 4), now=NOW)
    page = tmp_path / "report.html"
    page.write_text(html.render(report), encoding="utf-8")
    dom = _chromium(chromium, tmp_path / "profile", "--dump-dom", page.as_uri())
    assert len(re.findall(r'<svg class="chart"', dom)) == 3
    assert len(re.findall(r'<rect class="bar collected"', dom)) == 3  # Jan, Feb, Mar
    assert len(re.findall(r'<rect class="bar (recovered|failed)"', dom)) == 2  # January
    assert len(re.findall(r'<path class="axis"', dom)) == 3
    assert "Catering deposit" in dom
    shot = tmp_path / "report.png"
    _chromium(chromium, tmp_path / "profile", f"--screenshot={shot}", page.as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 30_000  # a blank 1200x2000 page is ~10 KB


def test_the_page_fits_a_phone_screen(chromium: str, quarter_store: Store, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    # Given the report at a 390 px wide viewport (an iPhone's)
    with quarter_store.transaction() as session:
        report = query.collections(session, spanning(Month(2027, 1), 4), now=NOW)
    page_file = tmp_path / "report.html"
    page_file.write_text(html.render(report), encoding="utf-8")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.goto(page_file.as_uri())
            width = page.evaluate("document.documentElement.scrollWidth")
            table_box = page.evaluate(
                "document.querySelector('.scroll')?.getBoundingClientRect().right ?? 0"
            )
        finally:
            browser.close()
    # Then the page is no wider than the screen (the wide tables scroll inside their box)
    assert width <= 390
    assert table_box <= 390
