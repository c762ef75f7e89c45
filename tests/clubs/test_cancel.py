"""Cancelling a membership ends the consent its card was given for: the mandate is revoked at
Toast, unless a live subscription or another live membership still charges it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from billing.clubs import service
from billing.clubs import store as clubs_store
from billing.domain.states import MandateStatus
from billing.manage import members, plans, subscriptions
from billing.sandbox import SandboxHandle
from billing.store.tables import Customer, Mandate
from tests.clubs.club_world import make_club
from tests.engine.conftest import START
from tests.engine.world import world

pytestmark = pytest.mark.anyio


async def test_cancelling_a_membership_revokes_its_mandate_at_toast(
    sandbox: SandboxHandle, db_url: str
) -> None:
    async with world(sandbox, db_url, START) as w:
        cw = make_club(w, now=START)
        alone = await cw.member()  # the club is all this card is for
        shared = await cw.member()  # this card also pays a live subscription
        w.plan(code="box", name="Gift box", kind="RECURRING", amount_cents=2500,
               interval_unit="month", timezone="America/Los_Angeles")  # fmt: skip
        now = w.clock.now()
        with w.store.transaction() as session:
            member = clubs_store.membership(session, shared)
            mandate = session.get(Mandate, member.mandate_id)
            customer = session.get(Customer, member.customer_id)
            assert mandate is not None
            assert customer is not None
            members.subscribe(session, customer=customer, plan=plans.get(session, "box"),
                              mandate=mandate, start=date(2027, 6, 1), anchor_day=None,
                              now=now)  # fmt: skip
        ids = {}
        with w.store.transaction() as session:
            for name, mid in (("alone", alone), ("shared", shared)):
                member = clubs_store.membership(session, mid)
                ids[name] = member.mandate_id or 0
                service.cancel(session, member, now=now)
        assert w.mandate(ids["alone"]).purpose_ended_at == now
        assert w.mandate(ids["shared"]).purpose_ended_at is None
        # When the engine's maintain lane runs
        await w.run_until(START + timedelta(days=2))
        # Then the club-only mandate is revoked here and at Toast; the shared one is not
        assert w.mandate(ids["alone"]).status == MandateStatus.REVOKED
        assert w.mandate(ids["shared"]).status == MandateStatus.ACTIVE
        at_toast = {m["id"]: m["status"] for m in await w.control.items("mandates")}
        assert at_toast[w.mandate(ids["alone"]).toast_mandate_id] == "INACTIVE"
        assert at_toast[w.mandate(ids["shared"]).toast_mandate_id] == "ACTIVE"


async def test_a_card_two_memberships_share_is_kept_until_both_end(
    sandbox: SandboxHandle, sqlite_url: str
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        cw = make_club(w, now=START)
        first = await cw.member()
        now = w.clock.now()
        with w.store.transaction() as session:
            member = clubs_store.membership(session, first)
            customer = session.get(Customer, member.customer_id)
            assert customer is not None
            other = service.create_club(session, name="Library Club", location=w.location,
                                        shipping={"*": 1500}, tax_rates={"*": 0},
                                        notice_days=0, now=now)  # fmt: skip
            tier = service.add_tier(session, other, name="One", bottles=1, discount_pct=0)
            second = service.join(session, other, customer=customer, tier=tier,
                                  delivery="pickup", mandate_id=member.mandate_id, now=now)
            mandate_id = member.mandate_id or 0
            service.cancel(session, member, now=now)
        assert w.mandate(mandate_id).purpose_ended_at is None  # the other club still uses it
        with w.store.transaction() as session:
            service.cancel(session, clubs_store.membership(session, second.id or 0), now=now)
        assert w.mandate(mandate_id).purpose_ended_at == now
        await w.run_until(START + timedelta(days=2))
        assert w.mandate(mandate_id).status == MandateStatus.REVOKED


async def test_a_cancelled_subscription_never_revokes_a_card_a_live_membership_uses(
    sandbox: SandboxHandle, sqlite_url: str
) -> None:
    async with world(sandbox, sqlite_url, START) as w:
        cw = make_club(w, now=START)
        mid = await cw.member()
        w.plan(code="box", name="Gift box", kind="RECURRING", amount_cents=2500,
               interval_unit="month", timezone="America/Los_Angeles")  # fmt: skip
        now = w.clock.now()
        with w.store.transaction() as session:
            member = clubs_store.membership(session, mid)
            mandate = session.get(Mandate, member.mandate_id)
            customer = session.get(Customer, member.customer_id)
            assert mandate is not None
            assert customer is not None
            sub = members.subscribe(session, customer=customer, plan=plans.get(session, "box"),
                                    mandate=mandate, start=date(2027, 6, 1), anchor_day=None,
                                    now=now)  # fmt: skip
            mandate_id, sub_id = mandate.id or 0, sub.id or 0
        # When the subscription sharing the membership's card is cancelled (its purpose ends)
        with w.store.transaction() as session:
            # (staff cancelling returns no card to revoke: the membership still uses it)
            assert subscriptions.cancel(session, sub_id, now=now) is None
        assert w.mandate(mandate_id).purpose_ended_at is not None
        await w.run_until(START + timedelta(days=2))
        # Then the card stays: the live membership still charges it (its mark is cleared)
        assert w.mandate(mandate_id).status == MandateStatus.ACTIVE
        assert w.mandate(mandate_id).purpose_ended_at is None
        at_toast = {m["id"]: m["status"] for m in await w.control.items("mandates")}
        assert at_toast[w.mandate(mandate_id).toast_mandate_id] == "ACTIVE"
