"""A declined wine-club member, the decline email they received over SMTP, and the link in it:
shared by the in-process tests and the browser test."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import httpx
from pydantic import SecretStr
from sqlmodel import col, select

from billing.settings import BillingSettings
from billing.store.tables import Attempt, CardLink, Charge, Mandate, Message
from tests.engine.world import World
from tests.notify import club
from tests.notify.mailbox import Mailbox, Received

DECLINES = "4000000000000275"  # saves fine, then every payment declines (generic: retried)
APPROVE = "4111111111111111"
PUBLIC = "https://club.hillside.example"
LINK = re.compile(re.escape(PUBLIC) + r"/card/([A-Za-z0-9_-]+)")
FIRST_DUE = date(2027, 1, 5)
DECLINED_AT = datetime(2027, 1, 5, 18, 30, tzinfo=UTC)  # after the 10:00 Los Angeles charge


def settings(w: World, sandbox: Any, db_url: str, box: Mailbox, **serve: Any) -> BillingSettings:
    base = club.settings(sandbox, db_url, box, kinds_off=["reminder"])
    spec = {**base.serve.model_dump(), "public_url": PUBLIC, **serve}
    return base.model_copy(update={"serve": type(base.serve)(**spec),
                                   "api_key": SecretStr("k" * 32)})  # fmt: skip


async def declined_member(w: World, config: BillingSettings, box: Mailbox) -> Received:
    """Bob's first charge declines and his decline email arrives; returns it."""
    club.wine_plan(w)
    await club.member(w, "bob@example.com", card=DECLINES, start=FIRST_DUE, name="Bob")
    await w.run_until(DECLINED_AT)
    assert await club.dispatch(w, config) == 1
    [mail] = box.wait_for(1)
    assert mail.message["Subject"] == f"Your payment to {club.MERCHANT} was declined"
    return mail


def link_in(mail: Received) -> str:
    """The link of the text body (the HTML one carries the same)."""
    found = LINK.findall(mail.text)
    assert len(found) == 1, mail.text
    assert LINK.findall(mail.html) == found
    return f"{PUBLIC}/card/{found[0]}"


def path_of(url: str) -> str:
    return url.removeprefix(PUBLIC)


def secret_in(page: str) -> str:
    match = re.search(r'"sessionSecret": "([^"]+)"', page)
    assert match, page
    return match.group(1)


async def checkout(sandbox_url: str, secret: str, card: str = APPROVE) -> dict[str, Any]:
    """What the member does in the hosted checkout (the sandbox's stand-in iframe)."""
    body = {"sessionSecret": secret, "authorize": True, "card": {
        "number": card, "cvv": "123", "expiry": {"month": "12", "year": "30"}}}  # fmt: skip
    async with httpx.AsyncClient(base_url=sandbox_url) as browser:
        reply = await browser.post("/__sandbox__/checkout/confirm", json=body)
    assert reply.status_code == 200, reply.text
    result: dict[str, Any] = reply.json()
    return result


def done_form(result: dict[str, Any]) -> dict[str, str]:
    """What the page's script posts once the iframe reports success."""
    card = result["card"]
    return {"brand": card["brand"], "last_four": card["lastFour"],
            "exp_month": str(card["expiry"]["month"]), "exp_year": str(card["expiry"]["year"])}


def rows(w: World) -> tuple[list[Mandate], list[Charge], list[Attempt], list[CardLink]]:
    with w.store.transaction() as session:
        return (list(session.exec(select(Mandate).order_by(col(Mandate.id))).all()),
                list(session.exec(select(Charge).order_by(col(Charge.id))).all()),
                list(session.exec(select(Attempt).order_by(col(Attempt.id))).all()),
                list(session.exec(select(CardLink).order_by(col(CardLink.id))).all()))


def messages(w: World) -> list[Message]:
    with w.store.transaction() as session:
        return list(session.exec(select(Message).order_by(col(Message.id))).all())
