"""Serving the sandbox: in the foreground (CLI) or embedded on an ephemeral loopback port.

``running_sandbox`` starts uvicorn in a background thread (default) or a spawned process,
yields a handle with ``base_url``, and stops the server and frees its socket on exit.
"""

from __future__ import annotations

import pickle
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import uvicorn

from billing.sandbox.app import Sandbox
from billing.sandbox.config import SandboxConfig

START_TIMEOUT_S = 20.0


@dataclass(frozen=True, slots=True)
class SandboxHandle:
    base_url: str
    config: SandboxConfig
    app: Sandbox | None = None  # the in-process app (thread isolation only)


def make_server(config: SandboxConfig, app: Sandbox | None = None) -> uvicorn.Server:
    settings = uvicorn.Config(
        app or Sandbox(config),
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    return uvicorn.Server(settings)


def bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def serve(config: SandboxConfig) -> None:
    """Serve in the foreground until interrupted (``billing sandbox serve``)."""
    sock = bind(config.host, config.port)
    try:
        make_server(config).run(sockets=[sock])
    finally:
        sock.close()


@contextmanager
def running_sandbox(
    config: SandboxConfig | None = None,
    *,
    isolation: Literal["thread", "process"] = "thread",
) -> Iterator[SandboxHandle]:
    config = config or SandboxConfig()
    runner = _in_process if isolation == "process" else _in_thread
    with runner(config) as handle:
        yield handle


def _url(host: str, port: int) -> str:
    return f"http://{host}:{port}"


@contextmanager
def _in_thread(config: SandboxConfig) -> Iterator[SandboxHandle]:
    sock = bind(config.host, config.port)
    app = Sandbox(config)
    server = make_server(config, app)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="billing-sandbox", daemon=True
    )
    try:
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.005)
        yield SandboxHandle(_url(config.host, sock.getsockname()[1]), config, app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def _in_process(config: SandboxConfig) -> Iterator[SandboxHandle]:
    process = subprocess.Popen(
        [sys.executable, "-m", "billing.sandbox._child"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        process.stdin.write(pickle.dumps(config))
        process.stdin.close()
        line = process.stdout.readline()
        if not line.strip():
            raise RuntimeError("the sandbox process did not start")
        port = int(line)
        _wait_listening(config.host, port)
        yield SandboxHandle(_url(config.host, port), config)
    finally:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


def _wait_listening(host: str, port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("the sandbox process is not listening")
