"""Entry point of a sandbox served in a child process (``running_sandbox(isolation="process")``).

Reads a pickled ``SandboxConfig`` from stdin, binds, prints the port on stdout, serves until
SIGTERM. The config comes from the parent process that spawned us, never from elsewhere.
"""

from __future__ import annotations

import pickle
import sys

from billing.sandbox.config import SandboxConfig


def main() -> None:
    from billing.sandbox.server import bind, make_server

    config = pickle.loads(sys.stdin.buffer.read())
    if not isinstance(config, SandboxConfig):
        raise SystemExit("expected a SandboxConfig on stdin")
    sock = bind(config.host, config.port)
    print(sock.getsockname()[1], flush=True)
    try:
        make_server(config).run(sockets=[sock])
    finally:
        sock.close()


if __name__ == "__main__":
    main()
