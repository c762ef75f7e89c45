"""A small wine club wired for messages: the engine world of tests/engine plus members with
real cards-on-file (brand and last four from the sandbox) and settings pointing the mail at a
real SMTP server on loopback."""

from __future__ import annotations

from datetime import date
from typing import Any

from billing.manage import members, plans
from billing.notify import dispatcher
from billing.sandbox import SandboxHandle
from billing.settings import BillingSettings, MailSettings, NotifySettings
from tests.engine.world import APPROVE, World, engine_settings
from tests.notify.mailbox import Mailbox

MERCHANT = "Hillside Winery"
MANAGE = "https://hillside.example/account"
CANCEL = "https://hillside.example/account/cancel"


def settings(sandbox: SandboxHandle, db_url: str, box: Mailbox, **notify: Any) -> BillingSettings:
    base = engine_settings(sandbox, db_url)
    mail = MailSettings(host=box.host, port=box.port, from_address="club@hillside.example",
                        reply_to="hello@hillside.example", timeout_s=10)  # fmt: skip
    spec = {"merchant_name": MERCHANT, "manage_url": MANAGE, "cancel_url": CANCEL,
            "retry_base_s": 60, **notify}  # fmt: skip
    return base.model_copy(update={"mail": mail, "notify": NotifySettings(**spec)})


def wine_plan(w: World, **spec: Any) -> None:
    w.plan(code="wine", name="Wine club", kind="RECURRING", amount_cents=4500,
           interval_unit="month", timezone="America/Los_Angeles", local_time="10:00",
           **spec)  # fmt: skip


async def member(
    w: World, email: str, *, card: str = APPROVE, start: date, plan_code: str = "wine",
    name: str = "",
) -> int:  # fmt: skip
    """A member enrolled the real way: a card-on-file in the sandbox, then subscribed."""
    cof = await w.card(card, "RECURRING")
    now = w.clock.now()
    with w.store.transaction() as session:
        plan = plans.get(session, plan_code)
        customer = members.create_customer(session, email=email, name=name, now=now)
        mandate = members.add_active_mandate(
            session, customer=customer, location_guid=w.location, standing_instruction=plan.kind,
            toast_mandate_id=cof["mandateId"], payment_method_id=cof["paymentMethodId"],
            card_brand=cof["card"]["brand"], card_last4=cof["card"]["lastFour"],
            card_exp=(int(cof["card"]["expiry"]["month"]), int(cof["card"]["expiry"]["year"])),
            now=now,
        )  # fmt: skip
        sub = members.subscribe(session, customer=customer, plan=plan, mandate=mandate,
                                start=start, anchor_day=None, now=now)  # fmt: skip
        assert sub.id is not None
        return sub.id


async def dispatch(w: World, config: BillingSettings) -> int:
    return await dispatcher.dispatch_once(w.store, w.clock, config)
