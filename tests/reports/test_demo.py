"""`billing demo` end to end in a subprocess (a smaller cast and fewer months, to stay fast)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BILLING_")}
    done = subprocess.run(
        [sys.executable, "-m", "billing.cli", "demo", "--members", "8", "--months", "3",
         "--dir", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = " ".join(done.stdout.split())  # Rich wraps long lines at the terminal width
    assert "duplicates: 0" in out
    assert "OK ledger check" in out
    assert "Collections report 2027-01 .. 2027-03" in out
    assert "fees collected $310.00; 8 of 8 cards-on-file revoked" in out  # the reservations night
    assert "club run Spring release (processed)" in out  # billing/demo/clubs.py
    page = tmp_path / "out" / "report.html"
    assert page.exists()
    assert '<svg class="chart"' in page.read_text()
    assert (tmp_path / "out" / "billing.db").exists()
    # the database is recreated on each run: a second run reports the same totals
    again = subprocess.run(done.args, capture_output=True, text=True, timeout=120, cwd=tmp_path,
                           env=env, check=False)  # fmt: skip
    assert again.returncode == 0
    assert _totals(again.stdout) == _totals(done.stdout)


def _totals(stdout: str) -> str:
    text = " ".join(stdout.split())
    return text[text.index("Collected $"):text.index("OK ledger check")]


def test_demo_writes_the_engine_log(tmp_path: Path) -> None:
    # Given the demo as `make demo` runs it (smaller); When it is done
    env = {k: v for k, v in os.environ.items() if not k.startswith("BILLING_")}
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "billing.cli", "demo", "--members", "8", "--months", "2",
         "--dir", str(out)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # Then demo/engine.log, which the demo advertises, holds the engine's lines as JSON, each
    # stamped with the simulated instant it happened at
    lines = [json.loads(line) for line in (out / "engine.log").read_text().splitlines()]
    actions = {line.get("action") for line in lines}
    assert {"charge_paid", "intent_declined"} <= actions, actions
    paid = [line for line in lines if line.get("action") == "charge_paid"]
    assert all(line["sim_at"].startswith("2027-0") for line in paid)
    assert "engine.log" in " ".join(done.stdout.split())
