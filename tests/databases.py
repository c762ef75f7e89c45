"""Real databases for tests: a SQLite file per test, and the PostgreSQL server.

PostgreSQL tests skip with a loud reason when no server answers, but fail when CI=true.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import OperationalError

from billing.store import migrate
from tests.conftest import IN_CI, PG_BASE_URL, PG_TEST_URL

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _create_worker_database() -> None:
    """An xdist worker's own database, created from the base one the first time."""
    if PG_TEST_URL == PG_BASE_URL:
        return
    name = make_url(PG_TEST_URL).database
    engine = create_engine(PG_BASE_URL, isolation_level="AUTOCOMMIT",
                           connect_args={"connect_timeout": 3})  # fmt: skip
    try:
        with engine.connect() as conn:
            found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if found.first() is None:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError:
        pass  # no server: pg_available_or_skip says so
    finally:
        engine.dispose()


def pg_available_or_skip() -> str:
    _create_worker_database()
    engine = create_engine(PG_TEST_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except OperationalError as exc:
        reason = f"PostgreSQL NOT reachable at {PG_TEST_URL}: {exc.orig}"
        if IN_CI:
            pytest.fail(f"CI=true requires PostgreSQL; {reason}")
        pytest.skip(reason)
    finally:
        engine.dispose()
    return PG_TEST_URL


def reset_pg_schema(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def empty_database_url(backend: str, tmp_path: Path) -> str:
    """The URL of an empty database of ``backend`` (no tables at all)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'billing.db'}"
    url = pg_available_or_skip()
    reset_pg_schema(url)
    return url


def migrated_database_url(backend: str, tmp_path: Path) -> str:
    url = empty_database_url(backend, tmp_path)
    migrate.upgrade(url)
    return url
