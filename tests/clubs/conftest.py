from __future__ import annotations

from tests.engine.conftest import anyio_backend, db_url, sandbox, sqlite_url

__all__ = ["anyio_backend", "db_url", "sandbox", "sqlite_url"]
