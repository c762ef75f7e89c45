"""`billing run` and `billing serve` log human lines on a terminal and JSON lines otherwise
(or as `--log-format` says), the web server's lines included, never with ANSI escape codes."""

from __future__ import annotations

import json
import os
import pty
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

from tests.cli.conftest import Cli

WAIT_S = 60.0  # generous: the machine is shared; every wait ends as soon as the line appears


@dataclass
class Lines:
    """Lines a child process writes, read on a thread (from a pipe or a pty's master side)."""

    fd: int
    seen: list[str] = field(default_factory=list)
    _queue: queue.Queue[str | None] = field(default_factory=queue.Queue)

    def __post_init__(self) -> None:
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:  # a pty's master reports EIO once the child has gone
                chunk = b""
            if not chunk:
                self._queue.put(None)
                return
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                self._queue.put(line.decode(errors="replace").rstrip("\r"))

    def wait_for(self, text: str) -> str:
        """The first line containing ``text`` (every line read meanwhile is kept in ``seen``)."""
        while True:
            line = self._queue.get(timeout=WAIT_S)
            assert line is not None, f"the process ended before logging {text!r}: {self.seen}"
            self.seen.append(line)
            if text in line:
                return line


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
        access = out.wait_for("GET /openapi.json")
    assert all(is_json(line) for line in out.seen), out.seen
    assert json.loads(started)["logger"] == "uvicorn.error"
    assert json.loads(access)["logger"] == "uvicorn.access"
    assert not [line for line in out.seen if "\x1b" in line or "\\u001b" in line]


def test_serve_logs_human_lines_on_a_terminal(cli: Cli) -> None:
    with billing(cli, "serve", "--port", str(free_port()), terminal=True) as out:
        started = out.wait_for("Uvicorn running on")
    assert not is_json(started), started
    assert "\x1b" not in started
