from __future__ import annotations

from tests.engine.conftest import anyio_backend, db_url, sandbox, sqlite_url  # noqa: F401
from tests.notify.conftest import mailbox  # noqa: F401
