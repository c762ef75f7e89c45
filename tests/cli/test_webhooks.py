"""`billing webhooks add|list|test|remove|dead|retry` end to end, to a real receiver on loopback
that verifies each request's signature with standardwebhooks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from tests.cli.conftest import Cli
from tests.notify.receiver import Receiver, decoded, running_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


def test_add_shows_the_secret_once_and_test_sends_a_signed_event(
    cli: Cli, receiver: Receiver
) -> None:
    # Given an endpoint added for two event types
    added = cli.json("webhooks", "add", receiver.url, "--events", "charge.paid,charge.failed",
                     spawn=False)  # fmt: skip
    secret = added["secret"]
    assert secret.startswith("whsec_")
    assert added["events"] == ["charge.failed", "charge.paid"]
    receiver.secret = secret
    # Then no other command ever shows the secret
    listing = cli.ok("webhooks", "list", spawn=False) + str(cli.json("webhooks", "list",
                                                                     spawn=False))  # fmt: skip
    assert receiver.url in listing
    assert secret not in listing
    assert secret.removeprefix("whsec_") not in cli.ok("events", spawn=False)
    # When a test event is sent, the receiver verifies it
    said = cli.ok("webhooks", "test", str(added["id"]), spawn=False)
    assert "delivered test event msg_" in said
    [hit] = receiver.all()
    assert decoded(hit)["type"] == "webhook.test"
    # And a refused test is retried later, listed nowhere as dead yet
    receiver.answers.append(500)
    failed = cli.run("webhooks", "test", str(added["id"]), spawn=False)
    assert failed.returncode == 1
    assert "HTTP 500" in failed.stdout
    assert cli.json("webhooks", "dead", spawn=False) == []
    shown = cli.json("messages", "show", "2", "--body", spawn=False)
    assert '"type":"webhook.test"' in shown["body"]
    assert secret not in str(shown)


def test_remove_then_dead_letter_and_retry(cli: Cli, receiver: Receiver) -> None:
    added = cli.json("webhooks", "add", receiver.url, "--events", "*", spawn=False)
    receiver.secret = added["secret"]
    receiver.answers.append(500)
    cli.run("webhooks", "test", str(added["id"]), spawn=False)
    # When the delivery's window has passed (a dead letter), it can be retried
    engine = create_engine(cli.url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE message SET status = 'dead', error = 'not delivered'"))
    engine.dispose()
    [dead] = cli.json("webhooks", "dead", spawn=False)
    assert dead["type"] == "webhook.test"
    assert dead["endpoint_id"] == added["id"]
    assert "queued again" in cli.ok("webhooks", "retry", str(dead["id"]), spawn=False)
    cli.ok("messages", "dispatch", spawn=False)
    assert len(receiver.delivered()) == 1
    assert {h.webhook_id for h in receiver.all()} == {dead["webhook_id"]}
    # And a removed endpoint is gone from the list
    cli.ok("webhooks", "remove", str(added["id"]), "--yes", spawn=False)
    assert cli.json("webhooks", "list", spawn=False) == []


def test_bad_input_is_one_line(cli: Cli) -> None:
    cli.refused("webhooks", "add", "ftp://x", "--events", "charge.paid", says="url")
    cli.refused("webhooks", "add", "https://erp.example/h", "--events", "charge.lost",
                says="--events")  # fmt: skip
    cli.refused("webhooks", "test", "9", says="webhook endpoint 9 does not exist")
    cli.refused("webhooks", "retry", "9", says="webhook delivery 9 does not exist")
    cli.refused("webhooks", "remove", "9", "--yes", says="webhook endpoint 9 does not exist")
