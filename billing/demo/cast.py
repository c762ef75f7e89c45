"""Enroll the demo's people the real way: a card-on-file through the sandbox's setup-intent
flow, then the same use cases staff run (customer, active mandate, subscription or fee)."""

from __future__ import annotations

import calendar
from datetime import date, datetime
from typing import Any

from billing.demo.scenario import Fee, Member
from billing.manage import members, one_off, plans
from billing.sandbox.remote import SandboxControl
from billing.store.db import Store
from billing.store.tables import Customer, Mandate


async def card_on_file(control: SandboxControl, location: str, card: str, kind: str) -> Any:
    cof = await control.card_on_file(location, card, kind)
    if not cof.get("mandateId"):
        raise RuntimeError(f"the sandbox refused card ...{card[-4:]}: {cof.get('lastSetupError')}")
    return cof


def _mandate(
    session: Any, customer: Customer, cof: dict[str, Any], kind: str, now: datetime
) -> Mandate:
    card = cof.get("card") or {}
    expiry = card.get("expiry") or {}
    exp = (int(expiry["month"]), 2000 + int(str(expiry["year"])[-2:])) if expiry else None
    return members.add_active_mandate(
        session, customer=customer, location_guid=cof["location"], standing_instruction=kind,
        toast_mandate_id=cof["mandateId"], payment_method_id=cof["paymentMethodId"],
        card_brand=card.get("brand"), card_last4=card.get("lastFour"), card_exp=exp, now=now,
    )  # fmt: skip


def first_due(year: int, month: int, anchor_day: int) -> date:
    return date(year, month, min(anchor_day, calendar.monthrange(year, month)[1]))


async def subscribe(
    store: Store, control: SandboxControl, member: Member, *, start: date, now: datetime
) -> int:
    with store.transaction() as session:
        plan = plans.get(session, member.plan)
        location, kind = plan.location_guid, plan.kind
    cof = await card_on_file(control, location, member.card, kind)
    with store.transaction() as session:
        plan = plans.get(session, member.plan)
        customer = members.create_customer(session, email=member.email, name=member.name, now=now)
        mandate = _mandate(session, customer, cof, kind, now)
        sub = members.subscribe(
            session, customer=customer, plan=plan, mandate=mandate, start=start,
            anchor_day=member.anchor_day, now=now,
        )  # fmt: skip
        return sub.id or 0


async def no_show(
    store: Store, control: SandboxControl, fee: Fee, *, location: str, now: datetime
) -> int:
    cof = await card_on_file(control, location, fee.card, "UNSCHEDULED")
    with store.transaction() as session:
        customer = members.create_customer(session, email=fee.email, name=fee.name, now=now)
        mandate = _mandate(session, customer, cof, "UNSCHEDULED", now)
        charge = one_off.create(
            session, mandate_id=mandate.id or 0, amount_cents=fee.amount_cents,
            reason=fee.reason, due_at=now, now=now, check_item="No-show fee",
        )  # fmt: skip
        return charge.id or 0
