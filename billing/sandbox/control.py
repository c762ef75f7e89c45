"""The control API under ``/__sandbox__/`` (test mode only): clock, reset, faults, tokens,
listings for assertions, and a one-call card-on-file helper that runs the real flow."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from billing.sandbox import payment_methods, setup_intents
from billing.sandbox.assumptions import ASSUMPTIONS
from billing.sandbox.auth import invalidate_all
from billing.sandbox.call import JSON, Call
from billing.sandbox.errors import InvalidRequest, SandboxApiError
from billing.sandbox.faults import FaultSettings
from billing.sandbox.validate import STANDING_INSTRUCTIONS, canonical_uuid, enum_field

if TYPE_CHECKING:
    from billing.sandbox.app import Sandbox

PREFIX = "/__sandbox__"
Handler = Callable[["Sandbox", Request], Awaitable[Any]]


def routes(sandbox: Sandbox) -> list[Route]:
    table: list[tuple[str, str, Handler]] = [
        ("GET", "/clock", get_clock),
        ("POST", "/clock", set_clock),
        ("POST", "/reset", reset),
        ("GET", "/faults", get_faults),
        ("POST", "/faults", set_faults),
        ("POST", "/tokens/invalidate", invalidate),
        ("GET", "/payment-intents", list_payment_intents),
        ("GET", "/setup-intents", list_setup_intents),
        ("GET", "/mandates", list_mandates),
        ("GET", "/payment-methods", list_payment_methods),
        ("GET", "/customers", list_customers),
        ("GET", "/order-payments", list_order_payments),
        ("GET", "/requests", list_requests),
        ("GET", "/stats", stats),
        ("POST", "/cards-on-file", card_on_file),
        ("GET", "/assumptions", assumptions),
    ]
    return [
        Route(PREFIX + path, _wrap(sandbox, fn), methods=[method]) for method, path, fn in table
    ]


def _wrap(sandbox: Sandbox, fn: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def handle(request: Request) -> Response:
        try:
            sandbox.state.tick()
            status, payload = 200, await fn(sandbox, request)
        except SandboxApiError as exc:
            status, payload = exc.status_code(), exc.body("control")
        return Response(json.dumps(payload), status, media_type="application/json")

    return handle


async def _body(request: Request) -> JSON:
    raw = await request.body()
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        raise InvalidRequest("request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidRequest("request body must be a JSON object")
    return body


def _clock_json(sandbox: Sandbox) -> JSON:
    clock = sandbox.state.clock
    return {"now": clock.now().isoformat(), "offsetSeconds": clock.offset_seconds}


async def get_clock(sandbox: Sandbox, request: Request) -> Any:
    return _clock_json(sandbox)


async def set_clock(sandbox: Sandbox, request: Request) -> Any:
    body = await _body(request)
    clock = sandbox.state.clock
    try:
        if "set" in body:
            clock.set(datetime.fromisoformat(str(body["set"]).replace("Z", "+00:00")))
        elif "advanceSeconds" in body:
            clock.advance(float(body["advanceSeconds"]))
        else:
            raise InvalidRequest("send {'set': ISO instant} or {'advanceSeconds': n}")
    except (ValueError, TypeError) as exc:
        raise InvalidRequest(str(exc)) from None
    sandbox.state.tick()
    return _clock_json(sandbox)


async def reset(sandbox: Sandbox, request: Request) -> Any:
    body = await _body(request)
    sandbox.reset(keep_faults=bool(body.get("keepFaults", False)))
    return {"ok": True}


async def get_faults(sandbox: Sandbox, request: Request) -> Any:
    return sandbox.state.faults.settings.public()


async def set_faults(sandbox: Sandbox, request: Request) -> Any:
    try:
        settings = FaultSettings.model_validate(await _body(request))
    except ValidationError as exc:
        raise InvalidRequest(f"invalid faults: {exc.errors(include_url=False)}") from None
    sandbox.state.faults.configure(settings)
    return settings.public()


async def invalidate(sandbox: Sandbox, request: Request) -> Any:
    return {"invalidated": invalidate_all(sandbox.state)}


async def list_payment_intents(sandbox: Sandbox, request: Request) -> Any:
    return {
        "items": [
            {**pi.to_json(), "location": pi.location, "authorizationAttempts": pi.attempts}
            for pi in sandbox.state.t.payment_intents.values()
        ]
    }


async def list_setup_intents(sandbox: Sandbox, request: Request) -> Any:
    return {
        "items": [
            {**si.to_json(), "location": si.location}
            for si in sandbox.state.t.setup_intents.values()
        ]
    }


async def list_mandates(sandbox: Sandbox, request: Request) -> Any:
    return {
        "items": [
            {**m.to_json(), "location": m.location} for m in sandbox.state.t.mandates.values()
        ]
    }


async def list_payment_methods(sandbox: Sandbox, request: Request) -> Any:
    return {
        "items": [
            {
                **pm.to_json(),
                "customerId": pm.customer_id,
                "detached": pm.detached,
                "saved": pm.saved,
            }
            for pm in sandbox.state.t.payment_methods.values()
        ]
    }


async def list_customers(sandbox: Sandbox, request: Request) -> Any:
    return {
        "items": [
            {**c.to_json(), "location": c.location} for c in sandbox.state.t.customers.values()
        ]
    }


async def list_order_payments(sandbox: Sandbox, request: Request) -> Any:
    return {"items": [e.to_json() for e in sandbox.state.t.ledger.values()]}


async def list_requests(sandbox: Sandbox, request: Request) -> Any:
    query = request.query_params
    location, path = query.get("location"), query.get("path")
    method, status = query.get("method"), query.get("status")
    items = [
        r.to_json()
        for r in sandbox.state.requests
        if (location is None or r.location == location)
        and (path is None or path in r.path)
        and (method is None or r.method == method.upper())
        and (status is None or str(r.status) == status)
    ]
    return {"items": items}


async def stats(sandbox: Sandbox, request: Request) -> Any:
    return {**sandbox.state.stats.to_json(), "requests": len(sandbox.state.requests)}


async def assumptions(sandbox: Sandbox, request: Request) -> Any:
    return {"items": [a.to_json() for a in ASSUMPTIONS]}


async def card_on_file(sandbox: Sandbox, request: Request) -> Any:
    """OFF_SESSION setup intent -> payment method -> confirm, through the real operations."""
    body = await _body(request)
    state = sandbox.state
    location = canonical_uuid(body.get("location")) or next(iter(sorted(state.locations)))
    instruction = enum_field(
        body, "standingInstructionType", STANDING_INSTRUCTIONS, default="RECURRING"
    )
    setup = {
        "usage": "OFF_SESSION",
        "standingInstructionType": instruction,
        "customerId": body.get("customerId"),
    }
    _, intent = setup_intents.create(state, Call(location=location, body=setup))
    expiry = body.get("expiry") or {"month": "12", "year": str(state.clock.now().year + 3)}
    card = {
        "type": "CARD",
        "usage": "OFF_SESSION",
        "card": {
            "number": str(body.get("cardNumber", "4111111111111111")),
            "cvv": "123",
            "expiry": expiry,
        },
    }
    headers = {
        "toast-session-secret": intent["sessionSecret"],
        "toast-idempotency-key": str(uuid.uuid4()),
    }
    _, method = payment_methods.create(state, Call(location=location, body=card, headers=headers))
    confirm = {"sessionSecret": intent["sessionSecret"], "paymentMethodId": method["id"]}
    _, done = setup_intents.confirm(
        state, Call(location=location, body=confirm, params={"id": intent["id"]})
    )
    return {
        "setupIntentId": done["id"],
        "paymentMethodId": method["id"],
        "mandateId": done["mandateId"],
        "status": done["status"],
        "lastSetupError": done["lastSetupError"],
        "customerId": done["customerId"],
        "location": location,
        "card": method["card"],
    }
