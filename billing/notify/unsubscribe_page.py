"""The unsubscribe page in ``billing serve``: GET shows what the link will do and a button,
POST records the opt-out (a link preview or a mail scanner that only GETs changes nothing).
Public: the signed token is the only credential, and it can only refuse reminders."""

from __future__ import annotations

import asyncio
import html

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from billing.clock import Clock
from billing.notify import optouts, unsubscribe
from billing.settings import BillingSettings, link_secret
from billing.store.db import Store
from billing.store.tables import Customer

PAGE = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
    "<meta name='viewport' content='width=device-width, initial-scale=1'>"
    "<title>{title}</title></head><body style='font-family: sans-serif; max-width: 32rem; "
    "margin: 2rem auto; padding: 0 1rem'><h1>{title}</h1>{body}</body></html>"
)


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(PAGE.format(title=html.escape(title), body=body), status_code=status)


def _unknown() -> HTMLResponse:
    return _page("Link not valid", "<p>This unsubscribe link is not valid. Please use the link "
                 "in your latest email.</p>", 404)  # fmt: skip


def mount(app: FastAPI, *, settings: BillingSettings, store: Store, clock: Clock) -> None:
    secret = link_secret(settings)
    merchant = html.escape(settings.notify.merchant_name)

    def record(request: unsubscribe.Request) -> bool:
        with store.transaction() as session:
            if session.get(Customer, request.customer_id) is None:
                return False
            optouts.opt_out(session, request.customer_id, request.kind, now=clock.now())
            return True

    @app.get("/unsubscribe/{token}", include_in_schema=False)
    async def confirm(token: str) -> HTMLResponse:
        if unsubscribe.read(secret, token) is None:
            return _unknown()
        return _page("Stop payment reminders?", (
            f"<p>You will no longer get reminders from {merchant} before a payment. Receipts, "
            "notices about declined payments, and notices the card networks require (such as "
            "a price change) will still be sent.</p>"
            "<form method='post'><button type='submit'>Stop reminders</button></form>"
        ))  # fmt: skip

    @app.post("/unsubscribe/{token}", include_in_schema=False)
    async def unsubscribe_now(token: str) -> HTMLResponse:
        request = unsubscribe.read(secret, token)
        if request is None or not await asyncio.to_thread(record, request):
            return _unknown()
        return _page("Reminders stopped", f"<p>You will no longer get payment reminders from "
                     f"{merchant}.</p>")  # fmt: skip
