"""The demo's catering part: three events booked, one moved, one with more guests, one
cancelled inside the window; the ledger check still matches every captured payment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_the_demo_books_moves_grows_and_cancels_events(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BILLING_")}
    env["COLUMNS"] = "200"
    done = subprocess.run(
        [sys.executable, "-m", "billing.cli", "demo", "--members", "8", "--months", "5",
         "--dir", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=180, cwd=tmp_path, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = " ".join(done.stdout.split())
    assert "Rivera wedding (moved) 2027-04-10 18:00, 120 guests: closed, total $11,700.00" in out
    assert "Chen anniversary (more guests) 2027-04-17 18:00, 85 guests: closed" in out
    assert "Okafor gala (cancelled) 2027-05-15 18:00, 200 guests: cancelled" in out
    assert "retained $16,125.00, refund owed $0.00" in out
    # the notices each guest received before a milestone charge (the signing one gets none)
    assert out.count("notices received: 2") == 2
    assert "notices received: 1 2027-04-12: second $10,750.00 due 2027-04-15 09:00" in out
    assert "2027-04-04: balance $2,925.00 due 2027-04-07 09:00" in out
    notices = list((tmp_path / "out" / "mail").glob("*-milestone_notice.eml"))
    assert len(notices) == 5
    for eml in notices:
        body = eml.read_text()
        assert "Manage your subscription" not in body
        assert "Questions about your event" in body
    assert "OK ledger check" in out
    assert "duplicates: 0" in out
