"""Unsubscribe from reminders: the link in a reminder email (signed, no guessable id) opens a
confirm page in `billing serve` (GET changes nothing), the button (POST) records it; reminders
stop, receipts do not. Only reminders can be refused."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime
from urllib.parse import urlsplit

import httpx
import pytest

from billing import wiring
from billing.enroll import api
from billing.notify import optouts, unsubscribe
from billing.sandbox import SandboxHandle
from tests.engine.conftest import START
from tests.engine.world import world
from tests.notify import club
from tests.notify.helpers import outbox, run
from tests.notify.mailbox import Mailbox

pytestmark = pytest.mark.anyio
LINK = re.compile(r"https?://\S+/unsubscribe/\S+")


async def test_a_member_unsubscribes_from_reminders_but_still_gets_receipts(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox
) -> None:
    async with world(sandbox, db_url, START) as w:
        config = club.settings(sandbox, db_url, mailbox)
        club.wine_plan(w)
        await club.member(w, "ann@example.com", start=date(2027, 1, 5))
        # Given January's reminder and receipt
        await run(w, config, datetime(2027, 1, 6, tzinfo=UTC))
        reminder = mailbox.messages()[0]
        [link] = LINK.findall(reminder.text)
        assert link in reminder.html
        assert str(reminder.message["List-Unsubscribe"]) == f"<{link}>"
        token = urlsplit(link).path.rsplit("/", 1)[-1]
        assert "ann" not in token
        assert token not in ("1", "01")
        app = api.create_app(config, w.store, lambda: wiring.toast_client(config, w.store),
                             w.clock)  # fmt: skip
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://billing") as http:  # fmt: skip
            # When the member opens the link: a confirm page, nothing recorded yet
            page = await http.get(f"/unsubscribe/{token}")
            assert page.status_code == 200
            assert "Stop reminders" in page.text
            with w.store.transaction() as session:
                assert not optouts.refused(session, 1, "reminder", _event())
            # And a forged or altered link is refused
            assert (await http.get(f"/unsubscribe/{token[:-2]}xx")).status_code == 404
            assert (await http.post(f"/unsubscribe/{token[:-2]}xx")).status_code == 404
            # And presses the button
            done = await http.post(f"/unsubscribe/{token}")
            assert done.status_code == 200
            assert "no longer get payment reminders" in done.text
            assert (await http.post(f"/unsubscribe/{token}")).status_code == 200  # twice: same
        # Then February brings a receipt and no reminder
        await run(w, config, datetime(2027, 2, 6, tzinfo=UTC))
        assert Counter(m.kind for m in outbox(w)) == Counter({"reminder": 1, "receipt": 2})


def test_only_reminders_can_be_refused() -> None:
    for kind in ("receipt", "decline", "final_failure", "cancellation", "expiring_card"):
        with pytest.raises(ValueError, match="cannot be refused"):
            unsubscribe.token("s3cret", 1, kind)
    good = unsubscribe.token("s3cret", 7, "reminder")
    assert unsubscribe.read("s3cret", good) == unsubscribe.Request(customer_id=7, kind="reminder")
    assert unsubscribe.read("another secret", good) is None
    assert optouts.refusable("reminder", _event()) is True
    assert optouts.refusable("reminder", _event(required=True)) is False
    assert optouts.refusable("receipt", _event()) is False


def _event(**data: object) -> object:
    from billing.store.tables import Event

    return Event(at=START, entity="subscription", entity_id=1, type="reminder_due", data=data)
