"""Links staff create (`billing links create --customer REF`), for a catering client's
INSTALLMENT mandate as for a wine-club member; and a member who authorizes the new card and
closes the tab before the page hears back (the enrollment completer of `billing run` finishes
the job)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import select

from billing.domain.states import MandateStatus
from billing.enroll import completer, service
from billing.links import tokens
from billing.manage import members, plans
from billing.sandbox import SandboxHandle
from billing.store.tables import CardLink, Subscription
from tests.engine.conftest import START
from tests.engine.workers import worker_env
from tests.engine.world import World, world
from tests.links import member
from tests.links.test_flow import browser
from tests.notify.mailbox import Mailbox

pytestmark = pytest.mark.anyio


async def wine_and_catering(w: World) -> int:
    """One customer with two cards on file: a wine club (RECURRING) and a catering deposit
    (INSTALLMENT). Returns the customer's id."""
    w.plan(code="wine", name="Wine club", kind="RECURRING", amount_cents=4500,
           interval_unit="month")  # fmt: skip
    w.plan(code="deposit", name="Catering deposit", kind="INSTALLMENT", total_cents=120_000,
           installments=4, interval_unit="week")  # fmt: skip
    now = w.clock.now()
    with w.store.transaction() as session:
        customer = members.create_customer(session, email="events@acme.example", now=now)
        customer_id = customer.id or 0
    for code, kind in (("wine", "RECURRING"), ("deposit", "INSTALLMENT")):
        cof = await w.card(member.APPROVE, kind)
        with w.store.transaction() as session:
            customer = members.get_customer(session, str(customer_id))
            mandate = members.add_active_mandate(
                session, customer=customer, location_guid=w.location, standing_instruction=kind,
                toast_mandate_id=cof["mandateId"], payment_method_id=cof["paymentMethodId"],
                card_brand="VISA", card_last4="1111", now=now,
            )  # fmt: skip
            members.subscribe(session, customer=customer, plan=plans.get(session, code),
                              mandate=mandate, start=date(2027, 1, 20), anchor_day=None,
                              now=now)  # fmt: skip
    return customer_id


def links_create(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "billing.cli", "links", "create", *args], env=env, cwd=cwd,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def link_rows(w: World) -> list[CardLink]:
    with w.store.transaction() as session:
        return list(session.exec(select(CardLink)).all())


async def test_staff_link_for_a_catering_clients_installment_mandate(
    sandbox: SandboxHandle, sqlite_url: str, mailbox: Mailbox, tmp_path: Path
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        config = member.settings(w, sandbox, sqlite_url, mailbox)
        customer_id = await wine_and_catering(w)
        env = {**worker_env(sandbox, sqlite_url), "BILLING_SERVE__PUBLIC_URL": member.PUBLIC}
        # When staff ask for a link for a customer with two cards on file: one clear line
        refused = links_create(env, tmp_path, "--customer", "events@acme.example")
        assert refused.returncode != 0
        assert refused.stdout == ""
        [line] = refused.stderr.strip().splitlines()
        assert "mandate" in line
        assert "choose one with --mandate" in line
        assert link_rows(w) == []  # nothing written
        # When they name the catering deposit's mandate: a URL, and what it is for
        deposit = w.subscription(2)
        done = links_create(env, tmp_path, "--customer", "events@acme.example",
                            "--mandate", str(deposit.mandate_id))  # fmt: skip
        assert done.returncode == 0, done.stderr
        url = done.stdout.splitlines()[0]
        assert member.LINK.fullmatch(url)
        assert "INSTALLMENT" in done.stdout
        [link] = link_rows(w)  # made by the CLI
        assert (link.customer_id, link.mandate_id, link.created_by) == (
            customer_id, deposit.mandate_id, "staff")
        assert url.rsplit("/", 1)[1] not in done.stderr
        listed = subprocess.run(
            [sys.executable, "-m", "billing.cli", "links", "list", "--json"], env=env,
            cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert listed.returncode == 0, listed.stderr
        [row] = json.loads(listed.stdout)
        assert (row["mandate"], row["by"], row["state"]) == (deposit.mandate_id, "staff", "open")
        assert url.rsplit("/", 1)[1] not in listed.stdout
        assert link.token_hash not in listed.stdout
        # When the client opens one (made on the simulated clock: the CLI's is real time)
        with w.store.transaction() as session:
            url = tokens.for_customer(session, str(customer_id), mandate_id=deposit.mandate_id,
                                      now=w.clock.now(), serve=config.serve).url  # fmt: skip
        # and puts in a new card
        async with browser(w, config) as http:
            page = await http.get(member.path_of(url))
            intent = (await w.control.items("setup-intents"))[-1]
            assert intent["standingInstructionType"] == "INSTALLMENT"
            result = await member.checkout(sandbox.base_url, member.secret_in(page.text))
            reply = await http.post(member.path_of(url) + "/done", data=member.done_form(result))
            assert "data-state='updated'" in reply.text
        # Then the deposit is billed by the new INSTALLMENT mandate; the wine club is untouched
        deposit, wine = w.subscription(2), w.subscription(1)
        new = w.mandate(deposit.mandate_id or 0)
        assert new.standing_instruction == "INSTALLMENT"
        assert w.mandate(link.mandate_id).status == MandateStatus.REVOKED
        assert [r.used_at is not None for r in link_rows(w)] == [False, True]
        assert w.mandate(wine.mandate_id or 0).status == MandateStatus.ACTIVE
        assert wine.mandate_id != deposit.mandate_id


async def test_a_member_who_closes_the_tab_after_authorizing_is_not_lost(
    sandbox: SandboxHandle, sqlite_url: str, mailbox: Mailbox
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        config = member.settings(w, sandbox, sqlite_url, mailbox)
        url = member.link_in(await member.declined_member(w, config, mailbox))
        async with browser(w, config) as http:
            page = await http.get(member.path_of(url))
        # The card is authorized in the checkout, but the page never posts back
        await member.checkout(sandbox.base_url, member.secret_in(page.text))
        # When the enrollment completer of `billing run` passes
        ctx = service.Context(w.store, w.engine.charger.client, w.clock, w.location)
        assert await completer.complete_pending(ctx) == {"completed": 1}
        # Then the new card took over, the old one is revoked and the link is used up
        mandates, [charge], _, [link] = member.rows(w)
        old, new = mandates[0], mandates[-1]
        assert old.status == MandateStatus.REVOKED
        assert charge.mandate_id == new.id
        assert charge.next_attempt_at == w.clock.now()
        assert link.used_at is not None
        with w.store.transaction() as session:
            sub = session.exec(select(Subscription)).one()
        assert sub.mandate_id == new.id
