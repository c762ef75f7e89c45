from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.engine.conftest import anyio_backend, db_url, sandbox, sqlite_url  # noqa: F401
from tests.notify.mailbox import Mailbox, running_mailbox


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with running_mailbox() as box:
        yield box
