"""The enrollment HTTP API the merchant's website calls (FastAPI; thin routes over the use
cases in ``service`` and ``accounts``). Every route needs ``Authorization: Bearer <api_key>``.

The use cases mix blocking database transactions with awaited Toast calls. So that no
request's database work stalls the others, each use case runs on a worker thread (anyio's
pool, 40 at most) in its own short event loop with its own Toast client; the server's loop
only parses HTTP. The Toast token is shared through the store, as between workers.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from http import HTTPStatus
from typing import Annotated, Any, TypeVar

import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from billing.clock import Clock
from billing.clubs import api as clubs_api
from billing.enroll import accounts, docs, edges, idempotency, present, service
from billing.enroll.access_log import AccessLog
from billing.enroll.models import (
    CustomerSubscriptions,
    EnrollmentComplete,
    EnrollmentCreate,
    EnrollmentPublic,
    Problem,
    SubscriptionPublic,
)
from billing.errors import (
    AmbiguousLookup,
    BillingError,
    ConfigError,
    DomainError,
    DuplicateKey,
    InvalidTransition,
    NotFound,
)
from billing.events import api as events_api
from billing.events import pay_page as event_pay_page
from billing.links import pages as links_pages
from billing.notify import unsubscribe_page
from billing.reservations import api as reservations_api
from billing.settings import BillingSettings, api_key_problem
from billing.store.db import Store
from billing.toast import errors as toast_errors
from billing.toast.facade import ToastClient

log = logging.getLogger("billing.enroll")
T = TypeVar("T")
ClientFactory = Callable[[], AbstractAsyncContextManager[ToastClient]]
UseCase = Callable[[service.Context], Awaitable[T]]
Runner = Callable[[UseCase[T]], Awaitable[T]]
IdempotencyKey = Annotated[
    str, idempotency.header("Your key for this request: a repeat returns the same enrollment")
]
EnrollmentId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]
SubscriptionId = Annotated[int, Path(ge=1, le=2**31 - 1)]
CustomerRef = Annotated[str, Path(min_length=1, max_length=254, pattern=r"^[\x21-\x7e]+$")]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Missing or wrong API key"},
    404: {"model": Problem, "description": "Unknown plan, enrollment, customer or subscription"},
    409: {"model": Problem, "description": "Idempotency-Key reused, a state conflict, an email "
          "taken by a customer with another reference, or an ambiguous customer"},
    413: {"model": Problem, "description": "Request body over `serve.max_body_bytes`"},
    422: {"model": Problem, "description": "Invalid request: `fields` names the culprits"},
}


def create_app(
    settings: BillingSettings,
    store: Store,
    client_factory: ClientFactory,
    clock: Clock,
    *,
    with_demo_site: bool = False,
) -> FastAPI:
    """Refuses (ConfigError) a key that would let anyone in: see ``api_key_problem``."""
    problem = api_key_problem(settings)
    if problem is not None:
        raise ConfigError(problem, field="api_key")
    app = FastAPI(
        title="billing enrollment API",
        version="1",
        description="Enroll customers' cards through Toast's hosted checkout; manage their "
        "subscriptions. Authenticate with `Authorization: Bearer <api_key>`.",
        openapi_url=None,  # served by ``docs`` (offline assets; public, keyed or off)
        docs_url=None,
        redoc_url=None,
    )

    async def context() -> AsyncIterator[service.Context]:  # the demo site's, in-loop
        async with client_factory() as toast:
            yield service.Context(store, toast, clock, settings.toast.location_guid)

    async def run(use_case: UseCase[T]) -> T:
        async def with_client() -> T:
            async with client_factory() as toast:
                ctx = service.Context(store, toast, clock, settings.toast.location_guid)
                return await use_case(ctx)

        return await anyio.to_thread.run_sync(asyncio.run, with_client())

    key = settings.api_key.get_secret_value().encode()
    bearer = HTTPBearer(auto_error=False, description="The enrollment API key (BILLING_API_KEY)")

    scheme = Security(bearer)

    def authenticate(credentials: HTTPAuthorizationCredentials | None = scheme) -> None:
        given = credentials.credentials.encode() if credentials else b""
        if not (key and hmac.compare_digest(given, key)):  # an empty key never matches
            raise HTTPException(401, "missing or invalid API key",
                                headers={"WWW-Authenticate": "Bearer"})  # fmt: skip

    router = APIRouter(prefix="/v1", dependencies=[Depends(authenticate)], responses=ERRORS)
    _routes(router, run)
    reservations_api.routes(router, run)
    events_api.include(router, run)  # billing.events: booking with a deposit checkout
    app.include_router(router)
    app.include_router(clubs_api.router(store, clock), prefix="/v1", responses=ERRORS,
                       dependencies=[Depends(authenticate)])  # fmt: skip
    _handlers(app)
    docs.mount(app, access=settings.docs_access, key=key)
    unsubscribe_page.mount(app, settings=settings, store=store, clock=clock)
    links_pages.mount(app, settings=settings, run=run)  # members' card-update links
    event_pay_page.mount(app, settings=settings, run=run)  # staff payment links for events
    app.add_middleware(edges.Edges, max_body_bytes=settings.serve.max_body_bytes)
    app.add_middleware(AccessLog)  # outermost: it times and logs every answer, 413s included
    if with_demo_site:
        from billing.enroll import demo_site

        demo_site.mount(app, settings=settings, context=context)
    return app


def _routes(router: APIRouter, run: Runner[Any]) -> None:
    @router.post("/enrollments", status_code=201, response_model=EnrollmentPublic)
    async def create_enrollment(
        body: EnrollmentCreate, idempotency_key: IdempotencyKey
    ) -> EnrollmentPublic:
        """Open the intent for the checkout iframe (returns its secret): an OFF_SESSION setup
        intent, or with ``pay_now`` a payment intent for the first cycle."""
        view = await run(lambda ctx: service.start(ctx, body, key=idempotency_key))
        return present.enrollment(view)

    @router.get("/enrollments/{enrollment_id}", response_model=EnrollmentPublic)
    async def get_enrollment(enrollment_id: EnrollmentId) -> EnrollmentPublic:
        """Read the intent back from Toast; completes the enrollment once the card is in."""
        return present.enrollment(await run(lambda ctx: service.refresh(ctx, enrollment_id)))

    @router.post("/enrollments/{enrollment_id}/complete", response_model=EnrollmentPublic)
    async def complete_enrollment(
        enrollment_id: EnrollmentId, body: EnrollmentComplete | None = None
    ) -> EnrollmentPublic:
        """Called by the website when the iframe reports success (``card``: what it showed)."""
        card = body.card if body else None
        view = await run(lambda ctx: service.refresh(ctx, enrollment_id, card=card))
        return present.enrollment(view)

    @router.get("/customers/{customer_ref}/subscriptions", response_model=CustomerSubscriptions)
    async def customer_subscriptions(customer_ref: CustomerRef) -> CustomerSubscriptions:
        """A customer's subscriptions and upcoming charges (by id, email or your reference)."""

        async def account(ctx: service.Context) -> accounts.Account:
            return accounts.account(ctx, customer_ref)

        return present.account(await run(account))

    @router.post("/subscriptions/{subscription_id}/cancel", response_model=SubscriptionPublic)
    async def cancel_subscription(subscription_id: SubscriptionId) -> SubscriptionPublic:
        """Cancel now; future charges are cancelled and the mandate revoked."""
        return present.subscription(await run(lambda ctx: accounts.cancel(ctx, subscription_id)))

    @router.post("/subscriptions/{subscription_id}/card", status_code=201,
                 response_model=EnrollmentPublic)  # fmt: skip
    async def replace_card(
        subscription_id: SubscriptionId, idempotency_key: IdempotencyKey
    ) -> EnrollmentPublic:
        """Start a card replacement: a new setup intent whose mandate replaces the old one."""
        view = await run(
            lambda ctx: accounts.replace_card(ctx, subscription_id, key=idempotency_key)
        )
        return present.enrollment(view)


def _problem(status: int, message: str, field: str | None = None, **extra: Any) -> JSONResponse:
    body = Problem(error=message, field=field, fields=[field] if field else []).model_dump()
    return JSONResponse({**body, **extra}, status_code=status)


def _reason(exc: StarletteHTTPException) -> str:
    """The detail given, or the status phrase in lower case ("method not allowed")."""
    try:
        phrase = HTTPStatus(exc.status_code).phrase
    except ValueError:
        phrase = "error"
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail else phrase
    return detail.lower() if detail == phrase else detail


def _status_for(exc: BillingError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, service.IdempotencyConflict | DuplicateKey | InvalidTransition
                  | AmbiguousLookup):  # fmt: skip
        return 409
    if isinstance(exc, service.EnrollmentFailed | toast_errors.ToastAPIError):
        return 502
    if isinstance(exc, toast_errors.ToastTransportError):
        return 503
    return 422 if isinstance(exc, DomainError) else 500


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        """Starlette's and FastAPI's own errors (401, 404, 405, ...) in the same shape."""
        response = _problem(exc.status_code, _reason(exc))
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("enrollment_api_unexpected", extra={"action": "enrollment_api_unexpected",
                  "error": type(exc).__name__, "path": request.url.path})  # fmt: skip
        return _problem(500, "internal error")

    @app.exception_handler(BillingError)
    async def billing_error(request: Request, exc: BillingError) -> JSONResponse:
        status = _status_for(exc)
        if status >= 500:
            log.warning("enrollment_api_error", extra={"action": "enrollment_api_error",
                        "error": type(exc).__name__, "path": request.url.path})  # fmt: skip
        return _problem(status, exc.message, exc.field)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": [str(p) for p in err.get("loc", ())], "msg": str(err.get("msg", "")),
             "type": str(err.get("type", ""))}
            for err in exc.errors()
        ]  # fmt: skip
        fields = [".".join(e["loc"][1:] if len(e["loc"]) > 1 else e["loc"]) for e in errors]
        body = Problem(error="invalid request", field=fields[0] if fields else None,
                       fields=fields).model_dump()  # fmt: skip
        return JSONResponse({**body, "detail": errors}, status_code=422)
