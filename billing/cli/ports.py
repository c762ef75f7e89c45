"""Refuse a busy or impossible listen address before a server starts (one line, no traceback)."""

from __future__ import annotations

import socket

from billing.domain import inputs
from billing.errors import DomainError


def ensure_free(host: str, port: int) -> None:
    """Bind (host, port) the way uvicorn will (SO_REUSEADDR) and let go at once."""
    if not 0 <= port <= 65535:
        raise DomainError(f"--port: must be 0..65535, got {port}", field="--port")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise DomainError(f"--host: cannot resolve {inputs.shown(host)}", field="--host") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise DomainError(
                f"--port: cannot listen on {host}:{port} ({exc.strerror}); choose another "
                "--port or stop the server using it",
                field="--port",
            ) from None
