"""End-to-end CLI tests: the real `billing` command in a subprocess, on a SQLite file, against
the sandbox over loopback. Every BILLING_* variable of the developer's shell is stripped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from billing.cli import main
from billing.sandbox import SandboxConfig, SandboxHandle, running_sandbox
from billing.store import migrate

LOC_A = "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a01"
LOC_B = "0b9a8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d"
TABLES = ("customer", "mandate", "plan", "subscription", "charge", "attempt", "event")


@pytest.fixture(scope="module")
def cli_sandbox() -> Iterator[SandboxHandle]:
    config = SandboxConfig(locations=(LOC_A, LOC_B), rate_per_second=10_000)
    with running_sandbox(config) as handle:
        yield handle


@dataclass(frozen=True)
class Outcome:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Cli:
    url: str
    cwd: Path
    env: dict[str, str]

    def run(self, *args: str, spawn: bool = True) -> Outcome:
        """``billing ARGS`` in a subprocess (the installed command, ~1 s each), or in this
        process through Typer's runner (the same app and entry point, milliseconds)."""
        if not spawn:
            return self._inproc(args)
        done = subprocess.run(
            [sys.executable, "-m", "billing.cli", *args],
            env=self.env, cwd=self.cwd, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        return Outcome(done.returncode, done.stdout, done.stderr)

    def _inproc(self, args: tuple[str, ...]) -> Outcome:
        here = Path.cwd()
        os.chdir(self.cwd)  # no config/billing.toml or .env of the checkout
        try:
            result = CliRunner().invoke(main.app, list(args), env=self.env)
        finally:
            os.chdir(here)
        return Outcome(result.exit_code, result.stdout, result.stderr)

    def ok(self, *args: str, spawn: bool = True) -> str:
        done = self.run(*args, spawn=spawn)
        assert done.returncode == 0, (args, done.stderr)
        return done.stdout

    def json(self, *args: str, spawn: bool = True) -> Any:
        return json.loads(self.ok(*args, "--json", spawn=spawn))

    def counts(self) -> dict[str, int]:
        engine = create_engine(self.url)
        try:
            with engine.connect() as conn:
                return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                        for t in TABLES}  # fmt: skip
        finally:
            engine.dispose()

    def refused(self, *args: str, says: str, spawn: bool = False) -> str:
        """The command fails with one line on stderr containing ``says``; nothing is written."""
        before = self.counts()
        done = self.run(*args, spawn=spawn)
        assert done.returncode != 0, (args, done.stdout)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith("error: "), lines[0]
        assert says in lines[0], lines[0]
        assert "Traceback" not in done.stderr
        assert self.counts() == before
        return lines[0]


@pytest.fixture
def cli(tmp_path: Path, cli_sandbox: SandboxHandle) -> Cli:
    url = f"sqlite:///{tmp_path / 'billing.db'}"
    migrate.upgrade(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BILLING_")}
    env |= {
        "BILLING_DATABASE_URL": url,
        "BILLING_TOAST__BASE_URL": cli_sandbox.base_url,
        "BILLING_TOAST__LOCATION_GUID": LOC_A,
        "BILLING_LOG_LEVEL": "WARNING",
    }
    return Cli(url=url, cwd=tmp_path, env=env)
