"""The money invariants are enforced by the database, and surface as domain errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, text
from sqlmodel import select

from billing.errors import AttemptAlreadyOpen, ChargeAlreadyExists, DuplicateKey, StoreError
from billing.store import leases
from billing.store.db import Store
from billing.store.tables import Attempt, Charge
from billing.store.types import UTCDateTime
from tests import factories


def test_second_charge_for_same_cycle_is_refused(store: Store) -> None:
    # Given a subscription with a charge for cycle 3
    with store.transaction() as session:
        sub = factories.subscription(session)
        factories.charge(session, sub, 3)
    # When another charge for cycle 3 is inserted, Then the domain error names the rule
    with pytest.raises(ChargeAlreadyExists) as info, store.transaction() as session:
        factories.charge(session, sub, 3)
    assert info.value.constraint == "uq_charge_subscription_cycle"
    # And nothing was written
    with store.transaction() as session:
        assert len(session.exec(select(Charge)).all()) == 1


def test_one_off_charges_without_cycle_do_not_collide(store: Store) -> None:
    # One-off UNSCHEDULED charges have no (subscription, cycle); any number may exist.
    with store.transaction() as session:
        sub = factories.subscription(session)
        for _ in range(2):
            row = factories.charge(session, sub, 99)
            row.subscription_id, row.cycle, row.kind = None, None, "UNSCHEDULED"
            session.flush()
    with store.transaction() as session:
        assert len(session.exec(select(Charge).where(Charge.cycle == None)).all()) == 2  # noqa: E711


def test_second_unsettled_attempt_is_refused(store: Store) -> None:
    with store.transaction() as session:
        sub = factories.subscription(session)
        charge_id = factories.charge(session, sub, 0).id
        assert charge_id is not None
        factories.attempt(session, charge_id, 1)
    with pytest.raises(AttemptAlreadyOpen) as info, store.transaction() as session:
        factories.attempt(session, charge_id, 2)
    assert info.value.constraint == "uq_attempt_one_unsettled"


def test_new_attempt_allowed_once_previous_settled(store: Store) -> None:
    with store.transaction() as session:
        sub = factories.subscription(session)
        charge_id = factories.charge(session, sub, 0).id
        assert charge_id is not None
        first = factories.attempt(session, charge_id, 1)
        first.status = "declined"
        first.settled_at = factories.T0
    with store.transaction() as session:
        factories.attempt(session, charge_id, 2)
    with store.transaction() as session:
        assert len(session.exec(select(Attempt)).all()) == 2


def test_other_unique_constraints_map_to_duplicate_key(store: Store) -> None:
    with store.transaction() as session:
        sub = factories.subscription(session)
        charge_id = factories.charge(session, sub, 0).id
        assert charge_id is not None
        first = factories.attempt(session, charge_id, 1)
        first.settled_at = factories.T0
        reference = first.external_reference_id
    with pytest.raises(DuplicateKey) as info, store.transaction() as session:
        row = factories.attempt(session, charge_id, 2)
        row.external_reference_id = reference
        session.flush()
    assert info.value.constraint == "uq_attempt_external_reference_id"
    assert not isinstance(info.value, AttemptAlreadyOpen)


def test_foreign_keys_are_enforced(store: Store) -> None:
    with pytest.raises(StoreError), store.transaction() as session:
        session.add(
            Attempt(
                charge_id=987654,
                number=1,
                external_reference_id="x",
                created_at=factories.T0,
                updated_at=factories.T0,
            )
        )


def test_instants_round_trip_as_aware_utc(store: Store) -> None:
    eastern = datetime(2027, 3, 14, 10, 0, tzinfo=UTC).astimezone(
        __import__("zoneinfo").ZoneInfo("America/New_York")
    )
    with store.transaction() as session:
        sub = factories.subscription(session)
        charge_id = factories.charge(session, sub, 0, due=eastern).id
    with store.transaction() as session:
        row = session.get(Charge, charge_id)
        assert row is not None
        assert row.due_at == eastern
        assert row.due_at.tzinfo is UTC


def test_naive_instants_are_refused(store: Store) -> None:
    with pytest.raises(StoreError), store.transaction() as session:
        sub = factories.subscription(session)
        factories.charge(session, sub, 0, due=datetime(2027, 1, 1, 10, 0))


def test_due_scan_skips_leased_and_future_charges(store: Store) -> None:
    now = factories.T0
    with store.transaction() as session:
        sub = factories.subscription(session)
        due = factories.charge(session, sub, 0, due=now - timedelta(hours=1))
        leased = factories.charge(session, sub, 1, due=now - timedelta(hours=1))
        leased.lease_owner, leased.lease_expires_at = "w1", now + timedelta(minutes=5)
        expired = factories.charge(session, sub, 2, due=now - timedelta(hours=2))
        expired.lease_owner, expired.lease_expires_at = "w2", now - timedelta(seconds=1)
        factories.charge(session, sub, 3, due=now + timedelta(days=1))
        paid = factories.charge(session, sub, 4, due=now - timedelta(days=1))
        paid.status = "paid"
    with store.transaction() as session:
        ids = leases.claim_due(session, owner="w3", now=now, lease_s=60, limit=10)
    assert ids == [expired.id, due.id]


def test_due_scan_is_an_index_range_scan(store: Store) -> None:
    prefix = "EXPLAIN QUERY PLAN " if store.dialect == "sqlite" else "EXPLAIN "
    explain = text(prefix + leases._DUE_IDS.text).bindparams(bindparam("now", type_=UTCDateTime()))
    with store.transaction() as session:
        if store.dialect == "postgresql":
            session.execute(text("SET LOCAL enable_seqscan = off"))  # the table is tiny here
        rows = session.execute(explain, {"now": factories.T0, "limit": 10})
        detail = " ".join(str(row[-1]) for row in rows)
    assert "ix_charge_due" in detail, detail


def test_sqlite_runs_with_wal_and_foreign_keys(tmp_path: object) -> None:
    from tests.databases import migrated_database_url

    instance = Store.from_url(migrated_database_url("sqlite", tmp_path))  # type: ignore[arg-type]
    try:
        with instance.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        instance.dispose()
