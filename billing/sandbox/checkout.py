"""A stand-in for Toast's hosted checkout iframe, so enrollment runs in a browser offline.

``GET /__sandbox__/checkout`` serves the iframe page (card fields, "Remember this card", "I
authorize this business to charge my card as outlined in the terms"). Like the real SDK, the
parent page hands it the intent's session secret with ``postMessage`` (never in a URL); the
page answers with a ``toast-checkout:result`` message carrying the outcome and the card's
display details (brand, last four, expiry), as the SDK's result events do.

ASSUMPTION: the real iframe authenticates with iframe credentials, which the sandbox does not
model. Here the session secret is the capability: ``POST /__sandbox__/checkout/confirm`` takes
it with the card and runs create-payment-method + confirm through the real operations
(``payment_methods.create``, ``setup_intents.confirm`` / ``payment_intents.confirm``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from importlib import resources
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from billing.sandbox import payment_intents, payment_methods, setup_intents
from billing.sandbox.call import JSON, Call
from billing.sandbox.errors import InvalidRequest, PaymentMethodNotScoped, SandboxApiError
from billing.sandbox.models import PaymentIntent, SetupIntent

if TYPE_CHECKING:
    from billing.sandbox.app import Sandbox

PREFIX = "/__sandbox__/checkout"


def routes(sandbox: Sandbox) -> list[Route]:
    async def page(request: Request) -> Response:
        html = resources.files("billing.sandbox").joinpath("checkout.html").read_text()
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    def answering(action: Callable[[Sandbox, JSON], JSON]) -> Callable[..., Any]:
        async def endpoint(request: Request) -> Response:
            try:
                sandbox.state.tick()
                status, payload = 200, action(sandbox, await _body(request))
            except SandboxApiError as exc:
                status, payload = exc.status_code(), exc.body("checkout")
            return Response(json.dumps(payload), status, media_type="application/json")

        return endpoint

    return [Route(PREFIX, page, methods=["GET"]),
            Route(PREFIX + "/describe", answering(_describe), methods=["POST"]),
            Route(PREFIX + "/confirm", answering(_confirm), methods=["POST"])]  # fmt: skip


async def _body(request: Request) -> JSON:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        raise InvalidRequest("request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidRequest("request body must be a JSON object")
    return body


def _intent(sandbox: Sandbox, secret: Any) -> PaymentIntent | SetupIntent:
    intent_id = sandbox.state.t.secrets.get(secret) if isinstance(secret, str) else None
    if intent_id is None:
        raise PaymentMethodNotScoped("unknown or expired session secret")
    payment = sandbox.state.t.payment_intents.get(intent_id)
    if payment is not None and payment.off_session:
        raise InvalidRequest("a merchant-initiated intent is not confirmed in the checkout")
    return payment if payment is not None else sandbox.state.setup_intent(intent_id)


def _needs_consent(intent: PaymentIntent | SetupIntent) -> bool:
    """An OFF_SESSION setup, or a customer-initiated payment that creates a mandate."""
    if isinstance(intent, SetupIntent):
        return intent.usage == "OFF_SESSION"
    return intent.standing_instruction_type is not None


def _describe(sandbox: Sandbox, body: JSON) -> JSON:
    """What the page is confirming, so it can say "Pay $45.00" or "Save card"."""
    intent = _intent(sandbox, body.get("sessionSecret"))
    if isinstance(intent, SetupIntent):
        return {"kind": "setup", "amount": None, "currency": None,
                "consentRequired": _needs_consent(intent)}  # fmt: skip
    return {"kind": "payment", "amount": intent.amount, "currency": "USD",
            "consentRequired": _needs_consent(intent)}  # fmt: skip


def _usage(intent: PaymentIntent | SetupIntent, remember: bool, authorize: bool) -> str | None:
    needs_consent = _needs_consent(intent)
    if needs_consent and not authorize:
        raise InvalidRequest("tick \"I authorize this business to charge my card as outlined "
                             "in the terms\" to save this card", field="authorize")  # fmt: skip
    remember = remember and intent.customer_id is not None  # no profile: nothing to save to
    if authorize and (needs_consent or intent.standing_instruction_type):
        return "ON_AND_OFF_SESSION" if remember else "OFF_SESSION"
    return "ON_SESSION" if remember else None


def _confirm(sandbox: Sandbox, body: JSON) -> JSON:
    secret = body.get("sessionSecret")
    intent = _intent(sandbox, secret)
    usage = _usage(intent, bool(body.get("rememberCard")), bool(body.get("authorize")))
    state, location = sandbox.state, intent.location
    card_body = {"type": "CARD", "card": body.get("card"), "usage": usage}
    if body.get("postalCode"):
        card_body["billingDetails"] = {"postalCode": str(body["postalCode"])}
    headers = {"toast-session-secret": str(secret), "toast-idempotency-key": str(uuid.uuid4())}
    _, method = payment_methods.create(state, Call(location=location, body=card_body,
                                                   headers=headers))  # fmt: skip
    confirm = {"sessionSecret": secret, "paymentMethodId": method["id"]}
    call = Call(location=location, body=confirm, params={"id": intent.id})
    if isinstance(intent, SetupIntent):
        _, done = setup_intents.confirm(state, call)
        error = done.get("lastSetupError")
    else:
        if intent.customer_id and usage in ("ON_SESSION", "ON_AND_OFF_SESSION"):
            confirm["customerId"] = intent.customer_id
        _, done = payment_intents.confirm(state, call)
        error = done.get("lastPaymentError")
    return {
        "intentId": done["id"],
        "status": done["status"],
        "mandateId": done.get("mandateId"),
        "paymentMethodId": method["id"],
        "card": method["card"],
        "error": error,
    }
