"""The card-update page ``billing serve`` shows at ``/card/<token>`` (no API key: the token
is the capability). Every answer is a plain page: a used, expired or unknown link says so;
nothing shows a stack trace, an id or a secret. The access log names the route, never the
token (``billing.enroll.access_log``).

In sandbox mode the page hosts the sandbox's stand-in for Toast's checkout iframe and hands
it the setup intent's session secret by ``postMessage``, as Toast's SDK ``initialize`` does.
Production would load Toast's SDK with the iframe credentials, which billing does not model
yet: there the page says the card cannot be updated online.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from billing.enroll import checkout_embed, service
from billing.enroll.models import CardIn
from billing.links import flow, rules
from billing.settings import BillingSettings

log = logging.getLogger("billing.links")
T = TypeVar("T")
V = TypeVar("V")
Runner = Callable[[Callable[[service.Context], Awaitable[T]]], Awaitable[T]]


def mount(app: FastAPI, *, settings: BillingSettings, run: Runner[Any]) -> None:
    mount_token_page(
        app, path=rules.PATH, settings=settings, run=run, log=log, failed="card_link_page_failed",
        opens=flow.open_checkout, completes=flow.complete, render=_render,
        unavailable=_unavailable,
    )  # fmt: skip


def mount_token_page(
    app: FastAPI, *, path: str, settings: BillingSettings, run: Runner[Any],
    log: logging.Logger, failed: str,
    opens: Callable[[service.Context, str], Awaitable[V]],
    completes: Callable[[service.Context, str, CardIn | None], Awaitable[V]],
    render: Callable[[V, str, str, str | None], HTMLResponse],
    unavailable: Callable[[str], HTMLResponse],
) -> None:  # fmt: skip
    """``GET path/<token>`` (open the checkout) and ``POST path/<token>/done`` (the card the
    iframe reported), for every page whose token is the capability (card-update and event
    payment links): sandbox mode only, and never a stack trace, the path or the token."""
    merchant = settings.notify.merchant_name
    sandbox = settings.toast.base_url if settings.mode == "sandbox" else None

    async def answer(use_case: Callable[[service.Context], Awaitable[V]],
                     token: str) -> HTMLResponse:  # fmt: skip
        try:
            visit = await run(use_case)
        except Exception as exc:  # never a stack trace, the path or the token
            log.error(failed, extra={"action": failed, "error": type(exc).__name__})
            return page(merchant, "Something went wrong", "<p role='alert'>Sorry, something "
                         "went wrong on our side. Please try the link again later.</p>", 500)
        return render(visit, token, merchant, sandbox)

    @app.get(path + "/{token}", include_in_schema=False)
    async def show(token: str) -> HTMLResponse:
        if sandbox is None:
            return unavailable(merchant)
        return await answer(lambda ctx: opens(ctx, token), token)

    @app.post(path + "/{token}/done", include_in_schema=False)
    async def done(token: str, request: Request) -> HTMLResponse:
        if sandbox is None:
            return unavailable(merchant)
        card = checkout_embed.card_of(await checkout_embed.form_of(request))
        return await answer(lambda ctx: completes(ctx, token, card), token)


def page(merchant: str, title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='robots' content='noindex'><meta name='referrer' content='no-referrer'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>body{{font-family:system-ui,sans-serif;"
        "max-width:640px;margin:2em auto;padding:0 1em} iframe{width:100%;height:380px;"
        f"border:1px solid #ccc}}</style></head><body><p>{html.escape(merchant)}</p>"
        f"<h1>{html.escape(title)}</h1>{body}</body></html>",
        status_code=status, headers={"Cache-Control": "no-store"},
    )  # fmt: skip


def _unavailable(merchant: str) -> HTMLResponse:
    return page(merchant, "Update your card", f"<p id='link' data-state='unavailable'>Your "
                 f"card cannot be updated online yet: please contact {html.escape(merchant)}."
                 "</p>", 503)  # fmt: skip


def _render(visit: flow.Visit, token: str, merchant: str, sandbox: str | None) -> HTMLResponse:
    contact = f"please contact {html.escape(merchant)}"
    if visit.state is None:
        return page(merchant, "Link not valid", "<p id='link' data-state='unknown'>This link "
                     f"is not valid. If you copied it from an email, check it is complete, or "
                     f"{contact} for a new one.</p>", 404)  # fmt: skip
    if visit.state == rules.State.USED:
        if visit.just_used:
            again = (" We will try the declined payment again within minutes."
                     if visit.retrying else "")  # fmt: skip
            return page(merchant, "Card updated", "<p id='link' data-state='updated'>Thank "
                         f"you: your {html.escape(visit.new_card)} is now on file and replaces "
                         f"your {html.escape(visit.card)}.{again}</p>")  # fmt: skip
        return page(merchant, "Link already used", "<p id='link' data-state='used'>This link "
                     f"was already used: your {html.escape(visit.new_card)} is on file. Each "
                     f"link works once; {contact} if you need to change the card again.</p>",
                     410)  # fmt: skip
    if visit.state == rules.State.REPLACED:
        return page(merchant, "Card already changed", "<p id='link' data-state='replaced'>"
                     f"The {html.escape(visit.card)} this link was for is no longer on file, "
                     f"so the link no longer works; {contact} if you need help.</p>", 410)
    if visit.state == rules.State.EXPIRED:
        return page(merchant, "Link expired", "<p id='link' data-state='expired'>This link "
                     f"has expired; {contact} for a new one.</p>", 410)  # fmt: skip
    message = (f"<p role='alert' id='message'>{html.escape(visit.message)}</p>"
               if visit.message else "")  # fmt: skip
    if visit.session_secret is None or sandbox is None:
        return page(merchant, "Update your card", message or "<p>Please try again later.</p>",
                     503)  # fmt: skip
    return page(merchant, "Update your card", (
        f"<p id='link' data-state='open'>Enter a new card to replace your "
        f"{html.escape(visit.card)}. It will be used for the same payments, as you agreed."
        f"</p>{message}{_checkout(token, visit.session_secret, sandbox)}"
    ))  # fmt: skip


def _checkout(token: str, secret: str, sandbox: str) -> str:
    return checkout_embed.embed(sandbox=sandbox, session_secret=secret,
                                action=f"{rules.PATH}/{token}/done")  # fmt: skip
