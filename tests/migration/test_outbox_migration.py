"""Upgrading to the outbox never mails history: events written before it count as dispatched."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text

from billing.store import migrate
from tests.databases import empty_database_url


def test_events_before_the_outbox_are_marked_dispatched(backend: str, tmp_path: Path) -> None:
    url = empty_database_url(backend, tmp_path)
    migrate.upgrade(url, "0002")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO event (at, entity, entity_id, type, data) "
                "VALUES ('2027-01-05 18:00:00.000000', 'charge', 1, 'charge_paid', '{}')"
            ))  # fmt: skip
        migrate.upgrade(url)
        with engine.connect() as conn:
            at, dispatched = conn.execute(text("SELECT at, dispatched_at FROM event")).one()
        assert dispatched is not None
        assert dispatched == at
    finally:
        engine.dispose()
