"""The event payment page ``billing serve`` shows at ``/pay/<token>`` (no API key: the token is
the capability), for staff payment links (``billing.events.links``). Like the card-update page
(``billing.links.pages``): plain pages, nothing shows an id, a secret or a stack trace, and the
access log names the route, never the token. The page states the schedule the guest consents
to next to the hosted checkout (in sandbox mode the sandbox's stand-in iframe).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from billing.domain import money
from billing.enroll import checkout_embed, service
from billing.events import links
from billing.events.rules import LinkState
from billing.links.pages import mount_token_page, page
from billing.settings import BillingSettings

log = logging.getLogger("billing.events")
T = TypeVar("T")
Runner = Callable[[Callable[[service.Context], Awaitable[T]]], Awaitable[T]]


def mount(app: FastAPI, *, settings: BillingSettings, run: Runner[Any]) -> None:
    mount_token_page(
        app, path=links.PATH, settings=settings, run=run, log=log,
        failed="event_link_page_failed", opens=links.open_checkout, completes=links.complete,
        render=_render, unavailable=_unavailable,
    )  # fmt: skip


def _unavailable(merchant: str) -> HTMLResponse:
    return page(merchant, "Pay for your event", "<p id='link' data-state='unavailable'>This "
                f"payment cannot be made online yet: please contact {html.escape(merchant)}."
                "</p>", 503)  # fmt: skip


def _what(visit: links.Visit) -> str:
    return "deposit" if visit.purpose == links.DEPOSIT else "balance"


def _render(visit: links.Visit, token: str, merchant: str, sandbox: str | None) -> HTMLResponse:
    contact = f"please contact {html.escape(merchant)}"
    title = html.escape(visit.title)
    if visit.state is None:
        return page(merchant, "Link not valid", "<p id='link' data-state='unknown'>This link "
                    f"is not valid. Check it is complete, or {contact} for a new one.</p>", 404)
    if visit.state == LinkState.USED:
        paid = html.escape(money.format_cents(visit.paid_cents))
        if visit.just_used:
            later = (" The card is kept for the later payments of the schedule; you are told "
                     "each amount before it is charged." if visit.purpose == links.DEPOSIT
                     else "")  # fmt: skip
            return page(merchant, "Thank you", "<p id='link' data-state='paid'>Thank you: your "
                        f"{_what(visit)} of {paid} for {title} is paid.{later}</p>")  # fmt: skip
        return page(merchant, "Link already used", "<p id='link' data-state='used'>This link "
                    f"was already used: the {_what(visit)} of {paid} for {title} is paid. Each "
                    f"link works once; {contact} if you need help.</p>", 410)  # fmt: skip
    if visit.state == LinkState.SETTLED:
        return page(merchant, "Nothing to pay", "<p id='link' data-state='settled'>There is "
                    f"nothing to pay through this link for {title} any more; {contact} if you "
                    "have a question.</p>", 410)  # fmt: skip
    if visit.state == LinkState.EXPIRED:
        return page(merchant, "Link expired", "<p id='link' data-state='expired'>This link has "
                    f"expired; {contact} for a new one.</p>", 410)  # fmt: skip
    message = (f"<p role='alert' id='message'>{html.escape(visit.message)}</p>"
               if visit.message else "")  # fmt: skip
    if visit.session_secret is None or sandbox is None:
        return page(merchant, "Pay for your event", message or "<p>Please try again later.</p>",
                    503)  # fmt: skip
    amount = html.escape(money.format_cents(visit.amount_cents))
    embed = checkout_embed.embed(sandbox=sandbox, session_secret=visit.session_secret,
                                 action=f"{links.PATH}/{token}/done")  # fmt: skip
    return page(merchant, f"Pay the {_what(visit)} for {visit.title}", (
        f"<p id='link' data-state='open'>Pay <strong id='amount'>{amount}</strong> now: the "
        f"{_what(visit)} for {title}.</p><p id='consent'>{html.escape(visit.consent)}</p>"
        f"{message}{embed}"
    ))  # fmt: skip
