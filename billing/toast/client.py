"""The single requester: the only code that knows base URLs, auth, headers, retries and limits.

Resource modules (``payment_intents``, ``setup_intents``, ...) describe a call as a ``Call``
and hand it to ``Requester.send``, which for every attempt:

1. builds the request: absolute URL, ``User-Agent: billing/<version>``,
   ``Toast-Restaurant-External-ID``, the call's own headers, the timeout of its kind;
2. waits for the per-location rate limiter (one shared ``RateLimiter`` per process), which
   counts it in flight until its answer comes back;
3. sends it through the injected ``httpx.AsyncClient`` with ``ToastAuth`` (bearer token,
   login when needed, one re-login on 401);
4. translates transport failures (``errors.translate_transport_errors``) and error statuses
   (``errors.error_from_response``) into the ``ToastError`` tree;
5. asks the pure ``retry.decide`` whether to try again, and sleeps with jittered backoff.

Logging: one DEBUG line per attempt with method, path, status, latency and request id, and an
INFO line per retry. Headers and bodies are never logged (they carry tokens and secrets).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from billing.clock import Clock
from billing.settings import ToastSettings
from billing.toast import auth, errors, retry
from billing.toast.ratelimit import RateLimiter, Sleep

log = logging.getLogger("billing.toast")

USER_AGENT = auth.USER_AGENT
LOCATION_HEADER = auth.LOCATION_HEADER
SESSION_SECRET_HEADER = "Toast-Session-Secret"
IDEMPOTENCY_HEADER = "Toast-Idempotency-Key"

TimeoutKind = Literal["read", "confirm"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Call:
    """One API call. ``safe``: re-sending it cannot cause a second effect (reads, or calls
    carrying an idempotency key), so an unknown outcome may be retried."""

    action: str
    method: str
    path: str
    location: str | None
    json: Any = field(default=None, repr=False)  # bodies may hold session secrets
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    safe: bool = False
    timeout: TimeoutKind = "read"
    orders_api: bool = False

    @property
    def mutating(self) -> bool:
        return self.method != "GET"


class Requester:
    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        settings: ToastSettings,
        clock: Clock,
        limiter: RateLimiter | None = None,
        token_cache: auth.TokenCache | None = None,
        rng: random.Random | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._http = http
        self._settings = settings
        self._timeouts = {kind: self._timeout(kind).as_dict() for kind in ("read", "confirm")}
        self._clock = clock
        self._rng = rng or random.Random()
        self._sleep = sleep
        self.limiter = limiter or RateLimiter(
            per_second=settings.rate_per_second,
            per_15min=settings.rate_per_15min,
            clock=clock,
            sleep=sleep,
        )
        self.policy = retry.RetryPolicy(
            max_attempts=settings.max_retries + 1,
            base_delay_s=settings.retry_base_delay_s,
            max_delay_s=settings.retry_max_delay_s,
            deadline_s=settings.retry_deadline_s,
        )
        self.auth = auth.ToastAuth(
            credentials=auth.Credentials(
                client_id=settings.client_id, client_secret=settings.client_secret
            ),
            login_url=settings.base_url + auth.LOGIN_PATH,
            cache=token_cache or auth.InMemoryTokenCache(),
            clock=clock,
            limiter=self.limiter,
            budget=auth.LoginBudget(
                max_logins=settings.max_logins_per_hour, window_s=3600.0, clock=clock,
                max_tries=settings.max_login_tries_per_hour,
            ),
            refresh_margin_s=settings.token_refresh_margin_s,
            login_timeout=self._timeout("read"),
        )

    def __repr__(self) -> str:
        return f"Requester(base_url={self._settings.base_url!r}, limiter={self.limiter!r})"

    async def send(self, call: Call) -> httpx.Response:
        """Send ``call`` (with safe retries); return its 2xx response or raise a ToastError."""
        started = self._clock.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._attempt(call, attempt)
            except errors.ToastError as error:
                decision = self._decide(call, error, attempt, started)
                if decision is None:
                    raise
            _log_retry(call, attempt, decision)
            await self._sleep(decision.delay_s)

    def _decide(
        self, call: Call, error: errors.ToastError, attempt: int, started: float
    ) -> retry.RetryDecision | None:
        if isinstance(error, errors.ToastRateLimited) and error.retry_after:
            self.limiter.block(call.location, error.retry_after)
        return retry.decide(
            self.policy,
            error,
            attempt=attempt,
            elapsed_s=self._clock.monotonic() - started,
            safe=call.safe,
            rng=self._rng,
        )

    async def _attempt(self, call: Call, attempt: int) -> httpx.Response:
        request = self._build(call)
        await self.limiter.acquire(call.location)
        sent_at = self._clock.monotonic()
        try:
            with errors.translate_transport_errors(
                call.method, call.path, preflight=auth.is_login_request
            ):
                response = await self._http.send(request, auth=self.auth)
        finally:
            self.limiter.done(call.location)  # answered or failed: it counts from now
        _log_attempt(call, attempt, response, self._clock.monotonic() - sent_at)
        if response.is_success:
            return response
        raise errors.error_from_response(response, mutating=call.mutating)

    def _build(self, call: Call) -> httpx.Request:
        """The request itself, not ``AsyncClient.build_request``: that merges the client's
        default headers and cookies and parses the URL twice (by profile, a third of the
        client's CPU a request outside the transport). The injected client's defaults are
        therefore not used: every header Toast needs is set here."""
        base = self._settings.orders_base_url if call.orders_api else None
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **call.headers}
        if call.location is not None:
            headers[LOCATION_HEADER] = call.location
        content = None
        if call.json is not None:
            content = json.dumps(call.json, ensure_ascii=False, separators=(",", ":"),
                                 allow_nan=False).encode("utf-8")  # fmt: skip
            headers["Content-Type"] = "application/json"
        return httpx.Request(
            call.method,
            (base or self._settings.base_url) + call.path,
            headers=headers,
            content=content,
            extensions={"timeout": self._timeouts[call.timeout]},
        )

    def _timeout(self, kind: TimeoutKind) -> httpx.Timeout:
        s = self._settings
        read = s.confirm_timeout_s if kind == "confirm" else s.read_timeout_s
        return httpx.Timeout(read, connect=s.connect_timeout_s, pool=s.connect_timeout_s)


def _log_attempt(call: Call, attempt: int, response: httpx.Response, latency_s: float) -> None:
    if not log.isEnabledFor(logging.DEBUG):
        return  # the hot path: do not build the record's fields for nothing
    log.debug(
        "%s %s -> %s in %.0f ms",
        call.method,
        call.path,
        response.status_code,
        latency_s * 1000,
        extra={
            "action": "toast_request",
            "call": call.action,
            "method": call.method,
            "path": call.path,
            "status": response.status_code,
            "latency_ms": round(latency_s * 1000, 1),
            "request_id": response.headers.get("X-Request-Id"),
            "attempt": attempt,
            "location": call.location,
        },
    )


def _log_retry(call: Call, attempt: int, decision: retry.RetryDecision) -> None:
    log.info(
        "retrying %s %s after %s (attempt %d, in %.2f s)",
        call.method,
        call.path,
        decision.reason,
        attempt,
        decision.delay_s,
        extra={
            "action": "toast_retry",
            "call": call.action,
            "reason": decision.reason,
            "attempt": attempt,
            "delay_s": round(decision.delay_s, 3),
            "location": call.location,
        },
    )
