from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from billing.store.db import Store

settings.register_profile("dev", max_examples=60, deadline=None)
settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

PG_BASE_URL = os.environ.get("PG_TEST_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# Under pytest-xdist each worker has its own database (test_gw0, test_gw1, ...): the tests drop
# and recreate the public schema, so two workers must never share one.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
PG_TEST_URL = f"{PG_BASE_URL}_{XDIST_WORKER}" if XDIST_WORKER else PG_BASE_URL
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No BILLING_* variable of the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("BILLING_"):
            monkeypatch.delenv(name)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(backend: str, tmp_path: Path) -> Iterator[Store]:
    """A migrated, empty schedule store on each real backend."""
    from tests.databases import migrated_database_url

    instance = Store.from_url(migrated_database_url(backend, tmp_path))
    yield instance
    instance.dispose()
