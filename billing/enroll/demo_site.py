"""The demo merchant website served by ``billing serve --demo-site`` (sandbox mode only).

Three offers ("Join the wine club", "Pay the catering deposit in installments", "Hold a
reservation with a card"). The site plays the merchant's server: it starts the enrollment
in-process (the same use case as ``POST /v1/enrollments``), embeds the sandbox's checkout
iframe, hands it the session secret by ``postMessage`` as Toast's SDK ``initialize`` does,
and completes the enrollment when the iframe reports success.
"""

from __future__ import annotations

import html
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from billing.domain import money
from billing.enroll import checkout_embed, service
from billing.enroll.models import CustomerIn, EnrollmentCreate
from billing.errors import BillingError
from billing.manage import plans
from billing.settings import BillingSettings
from billing.store.db import Store

ContextFactory = Callable[[], AsyncIterator[service.Context]]


@dataclass(frozen=True, slots=True)
class Offer:
    slug: str
    title: str
    blurb: str
    plan: str | None = None
    fee_purpose: str | None = None
    pay_now_label: str | None = None  # offered: take the first payment at signup


OFFERS = (
    Offer("wine-club", "Join the wine club", "Two bottles a month, $45.00 monthly.",
          plan="wine-club", pay_now_label="Pay the first month ($45.00) now"),
    Offer("catering-deposit", "Pay the catering deposit in installments",
          "A $1,200.00 deposit in 4 weekly installments.", plan="catering-deposit",
          pay_now_label="Pay the first installment ($300.00) now"),
    Offer("reservation-hold", "Hold a reservation with a card",
          "No charge now; a $25.00 fee only if you do not show up.",
          fee_purpose="reservation no-show fee"),
)  # fmt: skip
DEMO_PLANS = (
    plans.PlanCreate(code="wine-club", name="Wine club", kind="RECURRING", amount_cents=4500,
                     interval_unit="month", check_item="Wine club"),
    plans.PlanCreate(code="catering-deposit", name="Catering deposit", kind="INSTALLMENT",
                     total_cents=120_000, installments=4, interval_unit="week",
                     check_item="Catering deposit"),
)  # fmt: skip


def ensure_demo_plans(store: Store, *, location_guid: str, now: datetime) -> None:
    """Create the demo site's plans when missing (sandbox mode only)."""
    with store.transaction() as session:
        for spec in DEMO_PLANS:
            if plans.latest(session, spec.code) is None:
                located = spec.model_copy(update={"location_guid": location_guid})
                plans.create(session, located, now=now)


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>body{{font-family:system-ui,sans-serif;"
        f"max-width:640px;margin:2em auto}} iframe{{width:100%;height:380px;border:1px solid "
        f"#ccc}} .offer{{margin:1em 0}}</style></head><body><h1>{html.escape(title)}</h1>"
        f"{body}</body></html>",
        headers={"Cache-Control": "no-store"},
    )


def mount(
    app: FastAPI, *, settings: BillingSettings, context: ContextFactory
) -> None:
    sandbox = settings.toast.base_url
    ctx_of: Callable[[], AbstractAsyncContextManager[service.Context]] = asynccontextmanager(
        context
    )

    @app.get("/", include_in_schema=False)
    async def index() -> Response:
        items = "".join(
            f"<div class='offer'><a href='/demo/join/{o.slug}'>{html.escape(o.title)}</a>"
            f" <span>{html.escape(o.blurb)}</span></div>" for o in OFFERS
        )
        return _page("The Sandbox Bistro", items)

    @app.get("/demo/join/{slug}", include_in_schema=False)
    async def join_form(slug: str) -> Response:
        offer = _offer(slug)
        token = uuid.uuid4()
        return _page(offer.title, (
            f"<p>{html.escape(offer.blurb)}</p><form method='post'>"
            f"<input type='hidden' name='token' value='{token}'>"
            "<label>Email <input type='email' name='email' required></label><br>"
            "<label>Name <input type='text' name='name'></label><br>"
            f"{_pay_now_box(offer)}"
            "<button type='submit'>Continue to payment</button></form>"
        ))  # fmt: skip

    @app.post("/demo/join/{slug}", include_in_schema=False)
    async def join(slug: str, request: Request) -> Response:
        offer, form = _offer(slug), await checkout_embed.form_of(request)
        try:
            spec = EnrollmentCreate(
                plan=offer.plan, fee_purpose=offer.fee_purpose,
                customer=CustomerIn(email=form.get("email", ""), name=form.get("name", "")),
                pay_now=offer.pay_now_label is not None and form.get("pay_now") == "on",
            )  # fmt: skip
            async with ctx_of() as ctx:
                view = await service.start(ctx, spec, key=f"demo-{form.get('token', '')}")
        except (ValueError, BillingError) as exc:
            return _page(offer.title, f"<p role='alert'>Sorry: {html.escape(str(exc))}</p>")
        return _page(offer.title, _checkout(view, sandbox))

    @app.post("/demo/enrollments/{enrollment_id}/complete", include_in_schema=False)
    async def complete(enrollment_id: str, request: Request) -> Response:
        async with ctx_of() as ctx:
            card = checkout_embed.card_of(await checkout_embed.form_of(request))
            await service.refresh(ctx, enrollment_id, card=card)
        return RedirectResponse(f"/demo/enrollments/{enrollment_id}", status_code=303)

    @app.get("/demo/enrollments/{enrollment_id}", include_in_schema=False)
    async def status(enrollment_id: str) -> Response:
        async with ctx_of() as ctx:
            view = await service.refresh(ctx, enrollment_id)
        return _page("Your enrollment", _status(view))


def _pay_now_box(offer: Offer) -> str:
    if offer.pay_now_label is None:
        return ""
    return (f"<label><input type='checkbox' name='pay_now'> "
            f"{html.escape(offer.pay_now_label)}</label><br>")  # fmt: skip


def _offer(slug: str) -> Offer:
    from fastapi import HTTPException

    for offer in OFFERS:
        if offer.slug == slug:
            return offer
    raise HTTPException(404, "no such offer")


def _checkout(view: service.View, sandbox: str) -> str:
    row = view.enrollment
    return (
        f"<p id='enrollment' data-id='{row.id}'>Enter your card below.</p>"
        + checkout_embed.embed(sandbox=sandbox, session_secret=view.session_secret,
                               action=f"/demo/enrollments/{row.id}/complete")
    )  # fmt: skip


def _status(view: service.View) -> str:
    row, mandate = view.enrollment, view.mandate
    what = html.escape(view.plan_code or row.fee_purpose or "")
    if row.status == "completed":
        card = f"{mandate.card_brand or 'card'} ending {mandate.card_last4 or '????'}"
        paid = ""
        if view.first_payment_cents is not None and view.message is None:
            paid = f"We charged {money.format_cents(view.first_payment_cents)} today. "
        elif view.message:
            paid = f"{html.escape(view.message)}. "
        return (f"<p id='status' data-status='completed'>You're in: {what}. {paid}"
                f"We will charge your {html.escape(card)} as agreed.</p>")  # fmt: skip
    if row.status == "pending":
        return f"<p id='status' data-status='pending'>Waiting for your card ({what}).</p>"
    message = html.escape(view.message or row.status)
    return (f"<p id='status' data-status='{row.status}'>{message}</p>"
            "<p><a href='/'>Start again</a></p>")  # fmt: skip
