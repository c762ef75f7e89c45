"""A charge in flight on the old card when the member puts in a new one through a card-update
link: the link's replace-card step leaves it on the old mandate (the reconciler settles it
there first); when it then turns out declined, it is retried on the new mandate at once, not
put through dunning on the old card, and the old mandate is revoked once nothing is open on it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from billing.domain.states import AttemptStatus, ChargeStatus, MandateStatus
from billing.links import tokens
from billing.sandbox import SandboxHandle
from billing.sandbox.remote import lose_response
from tests.engine.conftest import START
from tests.engine.world import world
from tests.links import member
from tests.links.test_flow import browser
from tests.notify import club
from tests.notify.helpers import outbox
from tests.notify.mailbox import Mailbox

pytestmark = pytest.mark.anyio
LOST_CARD = "4000000000000267"  # saves fine, then every payment declines: lost card (no retry)


async def test_a_charge_in_flight_that_declines_after_a_card_update_is_retried_on_the_new_card(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox
) -> None:
    async with world(sandbox, db_url, START) as w:
        config = member.settings(w, sandbox, db_url, mailbox)
        await w.control.faults(lose_response("POST", r"/payment-intents/[^/]+/confirm$"))
        # Given a member whose card was lost, and January's charge in flight on it: Toast
        # declined the confirm, but its answer never arrived (the outcome is unknown)
        club.wine_plan(w)
        sub = await club.member(w, "eve@example.com", card=LOST_CARD, start=date(2027, 1, 5))
        due = w.subscription(sub).next_charge_at
        assert due is not None
        await w.run_until(due + timedelta(seconds=1))
        [charge] = w.charges()
        [attempt] = member.rows(w)[2]
        assert attempt.settled_at is None, attempt.status
        old = w.mandate(charge.mandate_id)
        # When, meanwhile, she puts in a new card through a card-update link
        with w.store.transaction() as session:
            url = tokens.for_customer(session, "eve@example.com", mandate_id=None,
                                      now=w.clock.now(), serve=config.serve).url  # fmt: skip
        async with browser(w, config) as http:
            page = await http.get(member.path_of(url))
            result = await member.checkout(sandbox.base_url, member.secret_in(page.text))
            done = await http.post(member.path_of(url) + "/done", data=member.done_form(result))
            assert "data-state='updated'" in done.text
        # Then the charge in flight stays on the old card, which is not revoked yet
        new = w.mandate(w.subscription(1).mandate_id or 0)
        assert new.id != old.id
        assert w.charges()[0].mandate_id == old.id
        assert w.mandate(old.id or 0).status == MandateStatus.ACTIVE
        # When the engine reads the outcome back (declined: lost card) and runs on
        await w.run_until(w.clock.now() + timedelta(minutes=10), step=timedelta(minutes=1))
        # Then the charge was retried on the new mandate and collected, once
        [charge] = w.charges()
        assert (charge.status, charge.mandate_id) == (ChargeStatus.PAID, new.id)
        attempts = member.rows(w)[2]
        assert [a.status for a in attempts] == [AttemptStatus.DECLINED, AttemptStatus.SUCCEEDED]
        assert attempts[0].decline_code == "lost_card"
        captured = [e for e in await w.control.items("order-payments")
                    if e["status"] == "CAPTURED"]  # fmt: skip
        assert [(e["amount"], e["mandateId"]) for e in captured] == [(4500, new.toast_mandate_id)]
        assert w.subscription(1).status == "active"
        # And the old mandate, its purpose ended and nothing open on it, is revoked
        assert w.mandate(old.id or 0).status == MandateStatus.REVOKED
        toast = {m["id"]: m["status"] for m in await w.control.items("mandates")}
        assert toast[old.toast_mandate_id] == "INACTIVE"
        # And the member got no decline notice for a card she already replaced: a receipt
        await club.dispatch(w, config)
        assert [m.kind for m in outbox(w) if m.channel == "email"] == ["receipt"]


async def test_a_decline_on_a_card_not_replaced_goes_through_dunning(
    sandbox: SandboxHandle, db_url: str, mailbox: Mailbox
) -> None:
    async with world(sandbox, db_url, START) as w:
        # Given the same lost card, never replaced
        club.wine_plan(w)
        await club.member(w, "fay@example.com", card=LOST_CARD, start=date(2027, 1, 5))
        await w.run_until(datetime(2027, 1, 6, tzinfo=START.tzinfo))
        # Then a lost card is not retried: the charge failed on it
        [charge] = w.charges()
        assert charge.status == ChargeStatus.FAILED
        assert charge.mandate_id == w.subscription(1).mandate_id
