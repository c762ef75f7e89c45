"""`billing run` and `billing serve` log human lines on a terminal and JSON lines otherwise
(or as `--log-format` says), the web server's lines included, never with ANSI escape codes."""

from __future__ import annotations

import json
import os
import pty
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.cli.conftest import Cli
from tests.cli.terminal import WAIT_S, Lines


@contextmanager
def billing(cli: Cli, *args: str, terminal: bool) -> Iterator[Lines]:
    """``billing ARGS`` with stdout and stderr on a pseudo-terminal or on a pipe."""
    env = cli.env | {"BILLING_LOG_LEVEL": "INFO", "COLUMNS": "200"}
    if terminal:
        master, child = pty.openpty()
    else:
        master, child = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-m", "billing.cli", *args], env=env, cwd=cli.cwd,
        stdin=subprocess.DEVNULL, stdout=child, stderr=child,
    )  # fmt: skip
    os.close(child)
    try:
        yield Lines(master)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=WAIT_S)
        os.close(master)


def is_json(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def test_run_logs_human_lines_on_a_terminal(cli: Cli) -> None:
    with billing(cli, "run", terminal=True) as out:
        line = out.wait_for("worker_started")
    assert not is_json(line), line
    assert "INFO" in line
    assert "\x1b" not in line


def test_run_logs_json_lines_on_a_pipe(cli: Cli) -> None:
    with billing(cli, "run", terminal=False) as out:
        line = out.wait_for("worker_started")
    assert json.loads(line)["action"] == "worker_started"


def test_log_format_option_overrides_the_terminal_check(cli: Cli) -> None:
    with billing(cli, "run", "--log-format", "human", terminal=False) as out:
        human = out.wait_for("worker_started")
    with billing(cli, "run", "--log-format", "json", terminal=True) as out:
        machine = out.wait_for("worker_started")
    assert not is_json(human), human
    assert json.loads(machine)["action"] == "worker_started"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_logs_web_server_lines_as_json_without_escape_codes(cli: Cli) -> None:
    port = free_port()
    with billing(cli, "serve", "--port", str(port), terminal=False) as out:
        started = out.wait_for("Uvicorn running on")
        assert httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=WAIT_S).status_code == 200
        access = out.wait_for("GET /openapi.json 200")
        member = f"http://127.0.0.1:{port}/v1/customers/ann.lee@example.com/subscriptions?x=1"
        assert httpx.get(member, timeout=WAIT_S).status_code == 401
        routed = out.wait_for("GET /v1/customers/{customer_ref}/subscriptions 401")
    assert all(is_json(line) for line in out.seen), out.seen
    assert json.loads(started)["logger"] == "uvicorn.error"
    assert json.loads(access)["logger"] == "billing.access"
    assert json.loads(routed)["logger"] == "billing.access"
    # The access log names routes, never the path a client sent (emails, link tokens).
    assert not [line for line in out.seen if "ann.lee" in line or "x=1" in line], out.seen
    assert not [line for line in out.seen if "\x1b" in line or "\\u001b" in line]


def test_serve_logs_human_lines_on_a_terminal(cli: Cli) -> None:
    with billing(cli, "serve", "--port", str(free_port()), terminal=True) as out:
        started = out.wait_for("Uvicorn running on")
    assert not is_json(started), started
    assert "\x1b" not in started
