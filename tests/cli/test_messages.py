"""`billing messages list|show|dispatch` end to end, mail to a real SMTP server on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cli.conftest import Cli
from tests.cli.test_billing import member
from tests.cli.test_members import setup_plans
from tests.notify.mailbox import Mailbox, running_mailbox


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with running_mailbox() as box:
        yield box


def test_dispatch_then_list_and_show(cli: Cli, mailbox: Mailbox) -> None:
    # Given a no-show fee paid by a tick
    setup_plans(cli)
    fee = member(cli, "noshow")
    cli.ok("charges", "create", "--mandate", str(fee["mandate_id"]), "--amount", "25.00",
           "--reason", "no-show on March 1", spawn=False)  # fmt: skip
    cli.ok("tick")
    cli.env |= {"BILLING_MAIL__HOST": mailbox.host, "BILLING_MAIL__PORT": str(mailbox.port),
                "BILLING_NOTIFY__MERCHANT_NAME": "Chez Test", "BILLING_MAIL__PASSWORD": "pw-x1"}
    # When one dispatch pass runs (twice)
    assert cli.ok("messages", "dispatch", "--drain").strip() == "sent 1 messages"
    assert cli.ok("messages", "dispatch", spawn=False).strip() == "sent 0 messages"
    # Then the receipt was received once, and the outbox says so
    [mail] = mailbox.messages()
    assert "no-show on March 1" in mail.text
    assert "$25.00" in mail.text
    [row] = cli.json("messages", "list", spawn=False)
    assert (row["kind"], row["status"], row["attempts"]) == ("receipt", "sent", 1)
    assert row["provider_id"] == mail.message["Message-ID"]
    assert cli.json("messages", "list", "--status", "unknown", spawn=False) == []
    shown = cli.json("messages", "show", str(row["id"]), "--body", spawn=False)
    assert "Chez Test" in shown["body"]
    assert shown["context"]["amount_cents"] == 2500
    table = cli.ok("messages", "show", str(row["id"]), "--body", spawn=False)
    assert "no-show on March 1" in table
    assert "pw-x1" not in table + cli.ok("config", spawn=False)


def test_bad_input_is_one_line(cli: Cli) -> None:
    cli.refused("messages", "list", "--status", "lost" * 40, says="--status")
    line = cli.refused("messages", "list", "--kind", "postcard", says="--kind")
    assert "receipt" in line
    cli.refused("messages", "show", "99", says="message 99 does not exist")
    cli.refused("messages", "dispatch", "--now", "tomorrow", says="--now")
