"""Run `billing run` worker processes against a sandbox, the way an operator would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from billing.sandbox import SandboxHandle


def worker_env(sandbox: SandboxHandle, database_url: str, **scheduler: object) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BILLING_")}
    env |= {
        "BILLING_DATABASE_URL": database_url,
        "BILLING_TOAST__BASE_URL": sandbox.base_url,
        "BILLING_TOAST__LOCATION_GUID": sandbox.config.locations[0],
        # the sandboxes these workers talk to have their limits raised out of the way
        "BILLING_TOAST__RATE_PER_SECOND": "500",
        "BILLING_TOAST__RATE_PER_15MIN": "10000000",
        "BILLING_TOAST__RETRY_BASE_DELAY_S": "0.02",
        "BILLING_TOAST__RETRY_MAX_DELAY_S": "0.2",
        "BILLING_LOG_LEVEL": os.environ.get("DEBUG_WORKER_LOG", "WARNING"),
    }
    env |= {f"BILLING_SCHEDULER__{k.upper()}": str(v) for k, v in scheduler.items()}
    return env


def start_worker(
    env: dict[str, str], cwd: Path, log: Path, status: Path | None = None
) -> subprocess.Popen[bytes]:
    args = ["--status-file", str(status)] if status is not None else []
    if status is not None:
        status.unlink(missing_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "billing.cli", "run", *args],
            env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def wait_running(proc: subprocess.Popen[bytes], status: Path, timeout: float = 60) -> None:
    """Wait until the worker's status file says it runs (its signal handlers are installed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the worker exited with {proc.returncode} while starting")
        try:
            if json.loads(status.read_text())["state"] == "running":
                return
        except (FileNotFoundError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    raise AssertionError("the worker did not start running in time")


def kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


def stop(proc: subprocess.Popen[bytes], timeout: float = 30) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=timeout)
