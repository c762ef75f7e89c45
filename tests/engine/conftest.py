from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from billing.sandbox import SandboxConfig, SandboxHandle, running_sandbox
from tests.databases import migrated_database_url

LOC_A = "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a01"
LOC_B = "0b9a8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d"
START = datetime(2027, 1, 1, tzinfo=UTC)
TEN_YEARS_S = 10 * 366 * 86_400


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sandbox() -> Iterator[SandboxHandle]:
    # The simulation moves the sandbox clock by months: the token outlives it (a real
    # deployment never time-travels), and rate limits are raised out of the way here.
    config = SandboxConfig(
        locations=(LOC_A, LOC_B), start=START, token_ttl_s=TEN_YEARS_S,
        rate_per_second=10_000, rate_per_15min=10_000_000,
    )  # fmt: skip
    with running_sandbox(config) as handle:
        yield handle


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return migrated_database_url("sqlite", tmp_path)


@pytest.fixture
def db_url(backend: str, tmp_path: Path) -> str:
    return migrated_database_url(backend, tmp_path)
