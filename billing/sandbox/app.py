"""The thin ASGI layer: each route parses the request, calls one state operation, serializes.

Around every API call (never the control API) ``dispatch`` applies, in order: fault latency,
the rate limit, 429/5xx faults (before processing), due timed transitions, the bearer token,
the location header, the operation itself, the response headers, the request log, and a
lost-response fault (after processing).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from billing.sandbox import (
    auth,
    checkout,
    customers,
    orders,
    payment_intents,
    payment_methods,
    setup_intents,
)
from billing.sandbox.call import Call, Reply
from billing.sandbox.config import SandboxConfig
from billing.sandbox.errors import (
    Forbidden,
    InvalidRequest,
    SandboxApiError,
    ServerError,
    TooManyRequests,
    Unauthorized,
    error_body,
)
from billing.sandbox.faults import NO_FAULT, FaultPlan
from billing.sandbox.lost import LostResponse
from billing.sandbox.ratelimit import Decision, RateLimiter
from billing.sandbox.state import SandboxState
from billing.sandbox.validate import canonical_uuid

LOCATION_HEADER = "toast-restaurant-external-id"
Operation = Callable[[SandboxState, Call], Reply]
LocationRule = Literal["required", "optional"]


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str
    op: Operation
    location: LocationRule = "optional"
    auth: bool = True


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("POST", "/authentication/v1/authentication/login", auth.login, auth=False),
    Endpoint("POST", "/v1/customers", customers.create, "required"),
    Endpoint("GET", "/v1/customers/{id}/payment-methods", customers.list_payment_methods,
             "required"),
    Endpoint("POST", "/v1/setup-intents", setup_intents.create),
    Endpoint("GET", "/v1/setup-intents/{id}", setup_intents.get),
    Endpoint("POST", "/v1/setup-intents/{id}", setup_intents.update),
    Endpoint("POST", "/v1/setup-intents/{id}/confirm", setup_intents.confirm),
    Endpoint("POST", "/v1/payment-methods", payment_methods.create),
    Endpoint("POST", "/v1/payment-methods/{id}/detach", payment_methods.detach, "required"),
    Endpoint("GET", "/v1/payment-methods/{id}/mandates", payment_methods.list_mandates),
    Endpoint("GET", "/v1/mandates/{id}", payment_methods.get_mandate),
    Endpoint("DELETE", "/v1/mandates/{id}", payment_methods.revoke_mandate),
    Endpoint("POST", "/v1/payment-intents", payment_intents.create, "required"),
    Endpoint("GET", "/v1/payment-intents/{id}", payment_intents.get, "required"),
    Endpoint("POST", "/v1/payment-intents/{id}", payment_intents.update, "required"),
    Endpoint("POST", "/v1/payment-intents/{id}/confirm", payment_intents.confirm, "required"),
    Endpoint("POST", "/orders/v2/orders", orders.create_order, "required"),
    Endpoint("POST", "/orders/v2/orders/{order}/checks/{check}/payments", orders.add_payments,
             "required"),
    Endpoint("GET", "/orders/v2/payments/{guid}", orders.get_payment, "required"),
)


class Sandbox:
    """State + rate limiter + the Starlette app serving them."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.state = SandboxState(config)
        self.limiter = RateLimiter(config.rate_per_second, config.rate_per_15min)
        self.epoch_offset = self.state.clock.real_now().timestamp() - time.monotonic()
        routes = [Route(e.path, self._endpoint(e), methods=[e.method]) for e in ENDPOINTS]
        routes += checkout.routes(self)  # the stand-in for the hosted checkout iframe
        if config.test_mode:
            from billing.sandbox import control

            routes += control.routes(self)
        handlers = {404: _not_found, 405: _not_found}
        self.starlette = Starlette(routes=routes, exception_handlers=handlers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope["sandbox.raw_send"] = send  # lets a lost-response fault drop the connection
        await self.starlette(scope, receive, send)

    def reset(self, *, keep_faults: bool = False) -> None:
        self.state.reset(keep_faults=keep_faults)
        self.limiter.reset()

    def _endpoint(self, endpoint: Endpoint) -> Callable[[Request], Any]:
        async def handle(request: Request) -> Response:
            return await self.dispatch(request, endpoint)
        return handle

    async def dispatch(self, request: Request, endpoint: Endpoint) -> Response:
        mono = time.monotonic()
        headers = request.headers
        raw_location = headers.get(LOCATION_HEADER)
        client = request.client.host if request.client else "unknown"
        decision = self.limiter.hit(raw_location or f"ip:{client}", mono)
        request_id = str(uuid.uuid4())
        plan = self._plan(request)
        try:
            if plan.latency_s:
                await asyncio.sleep(plan.latency_s)
            self._refuse_early(decision, plan)
            body = await _json_body(request)
            status, payload = self._run(request, endpoint, raw_location, body)
        except SandboxApiError as exc:
            status, payload = exc.status_code(), exc.body(request_id)
            retry_after = exc.retry_after_s if isinstance(exc, TooManyRequests) else None
        else:
            retry_after = None
        response = self._response(status, payload, decision, request_id, retry_after)
        self.state.record_request(request.method, request.url.path, raw_location, status, mono,
                                  mono + self.epoch_offset, plan.label, plan.hold_s)
        if plan.hold_s:
            await asyncio.sleep(plan.hold_s)  # processed; the answer is held (A29)
        return LostResponse(response) if plan.lose_response else response

    def _plan(self, request: Request) -> FaultPlan:
        faults = self.state.faults
        if not faults.active:
            return NO_FAULT
        storm = faults.storm_retry_after()
        plan = faults.plan(request.method, request.url.path)
        if storm is not None:
            return FaultPlan(latency_s=plan.latency_s, throttle=True)
        return plan

    def _refuse_early(self, decision: Decision, plan: FaultPlan) -> None:
        if not decision.allowed:
            raise TooManyRequests(decision.retry_after_s)
        if plan.throttle:
            storm = self.state.faults.storm_retry_after()
            raise TooManyRequests(storm or 1, "too many requests (injected)")
        if plan.error_status is not None:
            raise ServerError(plan.error_status, "injected server error (not processed)")

    def _run(self, request: Request, endpoint: Endpoint, raw_location: str | None,
             body: Any) -> Reply:
        state = self.state
        state.tick()
        if endpoint.auth:
            auth.verify(state, request.headers.get("authorization"))
        location = self._location(raw_location, endpoint.location)
        call = Call(location=location, body=body, params=request.path_params,
                    headers=request.headers)
        return endpoint.op(state, call)

    def _location(self, raw: str | None, rule: LocationRule) -> str | None:
        if raw is None:
            if rule == "required":
                raise InvalidRequest("Toast-Restaurant-External-ID header is required",
                                     field="Toast-Restaurant-External-ID")
            return None
        location = canonical_uuid(raw)
        if location is None:
            raise InvalidRequest("Toast-Restaurant-External-ID must be a GUID",
                                 field="Toast-Restaurant-External-ID")
        if location not in self.state.locations:
            # ASSUMPTION: an unknown or not-enabled location is refused with 403.
            refuse = Unauthorized if self.config.assumptions.unknown_location_status == 401 else (
                Forbidden)
            raise refuse("restaurant location is not accessible to this client")
        return location

    def _response(self, status: int, payload: Any, decision: Decision, request_id: str,
                  retry_after: int | None) -> Response:
        headers = {
            "X-Toast-RateLimit-By": "GLOBAL",
            "X-Toast-RateLimit-Remaining": str(decision.remaining),
            "X-Toast-RateLimit-Reset": str(math.ceil(decision.reset_at + self.epoch_offset)),
            "X-Request-Id": request_id,
        }
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        if payload is None:
            return Response(status_code=status, headers=headers)
        content = json.dumps(payload, separators=(",", ":")).encode()
        return Response(content, status, headers, media_type="application/json")


async def _json_body(request: Request) -> Any:
    if request.method == "GET":
        return None
    raw = await request.body()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise InvalidRequest("request body is not valid JSON") from None


async def _not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    body = error_body(status, 10404, "no such endpoint", str(uuid.uuid4()))
    return Response(json.dumps(body), status, media_type="application/json")
