"""The use cases behind the admin commands, in process (no subprocess, no Toast)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from billing.cli import main
from billing.engine import materialize
from billing.errors import DomainError
from billing.manage import charges, forecast, subscriptions
from billing.store.db import Store
from billing.store.tables import Charge, Plan, Subscription
from tests import factories
from tests.cli.conftest import Cli

T0 = datetime(2027, 1, 1, 12, 0, tzinfo=UTC)  # before the 10:00 New York due time (15:00 UTC)
DAY = timedelta(days=1)


def billing_sub(store: Store) -> int:
    with store.transaction() as session:
        sub = factories.subscription(session)  # monthly from 2027-01-01, 10:00 New York
        plan = session.get(Plan, sub.plan_id)
        assert plan is not None
        sub.next_charge_at = materialize.first_charge_at(plan, sub)
        return sub.id or 0


def charge_rows(store: Store) -> list[Charge]:
    with store.transaction() as session:
        return list(session.exec(select(Charge).order_by(Charge.id)).all())  # type: ignore[arg-type]


def test_cancel_at_period_end_stops_the_materializer(store: Store) -> None:
    sub_id = billing_sub(store)
    assert materialize.run(store, now=T0, horizon=2 * DAY) == 1  # cycle 0, Jan 1
    with store.transaction() as session:
        assert subscriptions.cancel(session, sub_id, now=T0 + DAY, at_period_end=True) is None
    for days in (10, 29, 30, 31, 40):  # Feb 1 (cycle 1) falls inside the horizon, then passes
        assert materialize.run(store, now=T0 + days * DAY, horizon=2 * DAY) == 0
    assert [c.cycle for c in charge_rows(store)] == [0]
    with store.transaction() as session:
        sub = session.get(Subscription, sub_id)
        assert sub is not None
        assert sub.status == "cancelled"
        assert sub.next_charge_at is None


def test_resume_skips_the_cycles_missed_while_paused(store: Store) -> None:
    sub_id = billing_sub(store)
    materialize.run(store, now=T0, horizon=2 * DAY)
    with store.transaction() as session:
        subscriptions.pause(session, sub_id, now=T0)  # cycle 0 not attempted yet: cancelled
    assert [c.status for c in charge_rows(store)] == ["cancelled"]
    with store.transaction() as session:
        sub = subscriptions.resume(session, sub_id, now=datetime(2027, 3, 10, tzinfo=UTC))
        assert (sub.status, sub.next_cycle) == ("active", 3)  # Apr 1: Jan..Mar not charged
        assert sub.next_charge_at == datetime(2027, 4, 1, 14, 0, tzinfo=UTC)
        ahead = forecast.upcoming(session, now=datetime(2027, 3, 10, tzinfo=UTC), days=60)
    assert [(i.cycle, i.due_at.date()) for i in ahead.items] == [
        (3, date(2027, 4, 1)), (4, date(2027, 5, 1)),
    ]  # fmt: skip
    assert ahead.by_plan == {"wine": 9000}


def test_every_command_documents_an_example() -> None:
    runner = CliRunner()
    groups = {"plans": ["create", "list", "show", "archive", "update"],
              "customers": ["create", "list", "show"],
              "subscriptions": ["list", "show", "pause", "resume", "cancel", "change-amount"],
              "charges": ["list", "show", "retry", "cancel", "create"],
              "mandates": ["list", "show", "revoke"]}  # fmt: skip
    commands = [[g, c] for g, cs in groups.items() for c in cs]
    commands += [["enroll"], ["upcoming"], ["attention"], ["config"]]
    for command in commands:
        result = runner.invoke(main.app, [*command, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, command
        assert "Example:" in result.stdout, command
        assert "--verbose" in result.stdout, command
    enroll_help = runner.invoke(main.app, ["enroll", "--help"]).stdout
    assert "session secret" in enroll_help


def test_schema_must_be_current_and_verbose_shows_the_traceback(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    cli = Cli(url=url, cwd=tmp_path, env={"BILLING_DATABASE_URL": url})
    done = cli.run("plans", "list", spawn=False)
    assert done.returncode == 1
    assert done.stderr.strip().endswith("run `billing db upgrade`")


@pytest.mark.parametrize("flag", [[], ["--verbose"]])
def test_verbose(cli: Cli, flag: list[str]) -> None:
    done = cli.run("charges", "show", "7", *flag, spawn=False)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == "error: unknown charge 7"
    assert ("Traceback" in done.stderr) == bool(flag)


def test_retry_and_cancel_rules(store: Store) -> None:
    with store.transaction() as session:
        sub = factories.subscription(session)
        sub.status = "past_due"
        failed, retrying = factories.charge(session, sub, 0), factories.charge(session, sub, 1)
        failed.status, retrying.status = "failed", "retry_scheduled"
        ids = (failed.id or 0, retrying.id or 0, sub.id or 0)
    with store.transaction() as session, pytest.raises(DomainError, match="failed for good"):
        charges.retry(session, ids[0], now=T0)
    with store.transaction() as session:
        again = charges.retry(session, ids[1], now=T0 + DAY)
        assert (again.status, again.next_attempt_at) == ("retry_scheduled", T0 + DAY)
    with store.transaction() as session:
        assert charges.cancel(session, ids[1], now=T0).status == "cancelled"
        sub_row = session.get(Subscription, ids[2])
        assert sub_row is not None
        assert sub_row.status == "active"  # nothing left in dunning
