"""Embedding: several sandboxes at once, a process-isolated one, clean stop; the CLI."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import httpx
from typer.testing import CliRunner

from billing.sandbox import SandboxConfig, running_sandbox
from billing.sandbox.cli import app
from tests.sandbox.helpers import Api


def test_two_sandboxes_are_independent() -> None:
    with running_sandbox() as one, running_sandbox() as two:
        assert one.base_url != two.base_url
        with httpx.Client(base_url=one.base_url) as a, httpx.Client(base_url=two.base_url) as b:
            Api(a).login().card_on_file()
            assert len(Api(a).items("/mandates")) == 1
            assert Api(b).items("/mandates") == []


def test_stop_releases_the_port() -> None:
    with running_sandbox() as sandbox:
        port = int(sandbox.base_url.rsplit(":", 1)[1])
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))


def test_configured_start_time() -> None:
    start = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
    with running_sandbox(SandboxConfig(start=start)) as sandbox:
        now = datetime.fromisoformat(
            httpx.get(sandbox.base_url + "/__sandbox__/clock").json()["now"]
        )
        assert 0 <= (now - start).total_seconds() < 5


def test_process_isolation() -> None:
    with running_sandbox(isolation="process") as sandbox:
        with httpx.Client(base_url=sandbox.base_url) as client:
            assert Api(client).login().card_on_file()["status"] == "SUCCEEDED"
        assert sandbox.app is None


def test_cli_prints_assumptions() -> None:
    result = CliRunner().invoke(app, ["assumptions"])
    assert result.exit_code == 0
    assert "A15 Void and capture" in result.output
