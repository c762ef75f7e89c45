"""A child process's output read line by line on a thread, from a pipe or a pseudo-terminal
(so a test can run `billing` the way a person at a terminal does)."""

from __future__ import annotations

import os
import pty
import queue
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

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


@dataclass
class Session:
    """``billing ARGS`` whose stdin, stdout and stderr are a pseudo-terminal."""

    proc: subprocess.Popen[bytes]
    master: int
    out: Lines

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def exit_code(self) -> int:
        return self.proc.wait(timeout=WAIT_S)


@contextmanager
def on_terminal(argv: list[str], *, env: dict[str, str], cwd: Path) -> Iterator[Session]:
    master, child = pty.openpty()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=child, stdout=child, stderr=child)
    os.close(child)
    try:
        yield Session(proc, master, Lines(master))
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=WAIT_S)
        os.close(master)
