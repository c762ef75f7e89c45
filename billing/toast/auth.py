"""Machine-client authentication: one bearer token for all locations, shared and refreshed.

``ToastAuth`` is an ``httpx.Auth`` whose ``async_auth_flow`` (the sans-I/O generator pattern)
attaches ``Authorization: Bearer`` to each request and, when needed, yields a login request first:

- no usable token (none yet, or within ``refresh_margin_s`` of expiry) -> log in, then send;
- the request got 401 -> forget that token, get another (from the cache or one login) and
  re-send **once**; a second 401 is returned as is (the requester raises ``ToastAuthFailed``).

Concurrent callers share one refresh: the first takes the lock and logs in, the others wait
and then use its token. Logins are limited twice: through the rate limiter's per-IP bucket
(login carries no location), and by a login budget (Toast: never more than two logins per hour)
that raises ``ToastRateLimited`` rather than exceed it.

Several worker processes share the token through a ``TokenCache`` (see below): before logging
in, a worker loads the cache; after logging in, it saves. ``InMemoryTokenCache`` is the
in-process implementation; the store provides a database-backed one.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import json
import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import httpx
from pydantic import SecretStr

import billing
from billing.clock import Clock
from billing.toast import errors
from billing.toast.ratelimit import RateLimiter

log = logging.getLogger("billing.toast.auth")

USER_AGENT = f"billing/{billing.__version__}"
LOGIN_PATH = "/authentication/v1/authentication/login"
LOCATION_HEADER = "Toast-Restaurant-External-ID"


@dataclass(frozen=True, slots=True, kw_only=True)
class CachedToken:
    """A bearer token and its expiry (UTC). The token never appears in ``repr``."""

    access_token: str = field(repr=False)
    expires_at: datetime

    @property
    def fingerprint(self) -> str:
        """A short, non-reversible id of the token, safe to log and compare."""
        return hashlib.sha256(self.access_token.encode()).hexdigest()[:12]

    def usable(self, now: datetime, margin: timedelta) -> bool:
        return now < self.expires_at - margin

    def __repr__(self) -> str:
        return f"CachedToken(fingerprint={self.fingerprint}, expires_at={self.expires_at!r})"


class TokenCache(Protocol):
    """Where the current token is shared between processes.

    ``load`` returns the last saved token or None; it may return an expired token (the caller
    checks expiry). ``save`` replaces the stored token. Both must be safe to call concurrently
    from many processes; last writer wins is fine (every token saved is a valid Toast token).
    Implementations must never log or print the token.
    """

    async def load(self) -> CachedToken | None: ...

    async def save(self, token: CachedToken) -> None: ...


class InMemoryTokenCache:
    """The token cache of a single process."""

    def __init__(self) -> None:
        self._token: CachedToken | None = None

    async def load(self) -> CachedToken | None:
        return self._token

    async def save(self, token: CachedToken) -> None:
        self._token = token

    def __repr__(self) -> str:
        return f"InMemoryTokenCache({self._token!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class Credentials:
    client_id: str
    client_secret: SecretStr


class LoginBudget:
    """At most ``max_logins`` tokens received per ``window_s`` seconds in this process, and at
    most ``max_tries`` login requests sent in the same window (answered or not).

    Sandbox ASSUMPTION A28: a login whose answer was lost issued no second token (Toast returns
    the same token until its last minute), so it spends a *try*, not a login. Time is the
    clock's ``now()``, the same time base as the token's expiry, so a simulated clock that
    ages tokens also refills the budget (it did not when counted in monotonic seconds: a
    simulated year stalled after three months of daily tokens).
    """

    def __init__(
        self, *, max_logins: int, window_s: float, clock: Clock, max_tries: int | None = None
    ) -> None:
        self._max = max_logins
        self._max_tries = max_tries if max_tries is not None else max_logins * 3
        self._window = timedelta(seconds=window_s)
        self._clock = clock
        self._logins: collections.deque[datetime] = collections.deque()
        self._tries: collections.deque[datetime] = collections.deque()

    def _trim(self, now: datetime) -> None:
        for times in (self._logins, self._tries):
            while times and times[0] <= now - self._window:
                times.popleft()

    def wait_s(self) -> float:
        """Seconds until a login may be sent (0: now)."""
        now = self._clock.now()
        self._trim(now)
        waits = [0.0]
        if len(self._logins) >= self._max:
            waits.append((self._logins[0] + self._window - now).total_seconds())
        if len(self._tries) >= self._max_tries:
            waits.append((self._tries[0] + self._window - now).total_seconds())
        return max(waits)

    def spend(self) -> None:
        """Record a login request about to be sent, or raise ``ToastLoginUnavailable``."""
        wait = self.wait_s()
        if wait > 0:
            raise errors.ToastLoginUnavailable(
                f"login budget of {self._max} per {self._window.total_seconds():g}s spent; "
                f"next login in {wait:.0f}s",
                retry_after=wait,
            )
        self._tries.append(self._clock.now())

    def answered(self) -> None:
        """The login answered with a token: it counts toward the budget of logins."""
        self._logins.append(self._clock.now())


def is_login_request(request: httpx.Request) -> bool:
    return request.url.path.endswith(LOGIN_PATH)


class ToastAuth(httpx.Auth):
    requires_response_body = True

    def __init__(
        self,
        *,
        credentials: Credentials,
        login_url: str,
        cache: TokenCache,
        clock: Clock,
        limiter: RateLimiter,
        budget: LoginBudget,
        refresh_margin_s: float = 30.0,
        login_timeout: httpx.Timeout | None = None,
    ) -> None:
        self._credentials = credentials
        self._login_url = login_url
        self._cache = cache
        self._clock = clock
        self._limiter = limiter
        self._budget = budget
        self._margin = timedelta(seconds=refresh_margin_s)
        self._login_timeout = login_timeout
        self._token: CachedToken | None = None
        self._rejected: set[str] = set()
        self._lock = asyncio.Lock()
        self.logins = 0

    def __repr__(self) -> str:
        return f"ToastAuth(client_id={self._credentials.client_id!r}, token={self._token!r})"

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        for attempt in range(2):
            token = await self._usable()
            if token is None:
                async with self._lock:
                    token = await self._usable()
                    if token is None:
                        login = self._login_request()
                        await self._limiter.acquire(None)
                        try:
                            answer = yield login
                        finally:
                            self._limiter.done(None)
                        token = await self._accept_login(answer)
            if attempt:
                # The re-sent request is in flight until the requester's ``done``; the refused
                # one counts as completed once the re-send is granted (later than it was).
                location = request.headers.get(LOCATION_HEADER)
                await self._limiter.acquire(location)
                self._limiter.done(location)
            request.headers["Authorization"] = f"Bearer {token.access_token}"
            response = yield request
            if response.status_code != 401:
                return
            self._rejected.add(token.fingerprint)

    async def _usable(self) -> CachedToken | None:
        """The token to use now, from memory or the shared cache; None if a login is needed."""
        now = self._clock.now()
        if self._fits(self._token, now):
            return self._token
        token = await self._cache.load()
        if not self._fits(token, now):
            return None
        self._token = token
        return token

    def _fits(self, token: CachedToken | None, now: datetime) -> bool:
        return (
            token is not None
            and token.usable(now, self._margin)
            and token.fingerprint not in self._rejected
        )

    def _login_request(self) -> httpx.Request:
        self._budget.spend()
        body = {
            "clientId": self._credentials.client_id,
            "clientSecret": self._credentials.client_secret.get_secret_value(),
            "userAccessType": "TOAST_MACHINE_CLIENT",
        }
        extensions = {"timeout": self._login_timeout.as_dict()} if self._login_timeout else {}
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        return httpx.Request(
            "POST", self._login_url, json=body, headers=headers, extensions=extensions
        )

    def unavailable_s(self) -> float:
        """Seconds until this client can authenticate a request: 0 while it holds a usable
        token (or may log in now), else until the login budget allows one."""
        if self._fits(self._token, self._clock.now()):
            return 0.0
        return self._budget.wait_s()

    async def _accept_login(self, response: httpx.Response) -> CachedToken:
        self.logins += 1
        await response.aread()
        if response.status_code != 200:
            raise _login_error(response)
        self._budget.answered()
        try:
            payload = json.loads(response.content)["token"]
            seconds = float(payload["expiresIn"])
            access_token = str(payload["accessToken"])
        except (ValueError, KeyError, TypeError) as exc:
            raise errors.ToastNotSent("login answer has no usable token") from exc
        token = CachedToken(
            access_token=access_token,
            expires_at=self._clock.now() + timedelta(seconds=seconds),
        )
        self._rejected.discard(token.fingerprint)
        self._token = token
        await self._cache.save(token)
        log.info(
            "logged in to Toast; token %s expires at %s",
            token.fingerprint,
            token.expires_at.isoformat(),
            extra={"action": "toast_login", "token_fingerprint": token.fingerprint},
        )
        return token


def _login_error(response: httpx.Response) -> errors.ToastError:
    """A failed login: the API call itself was never sent, so nothing happened at Toast."""
    error = errors.error_from_response(response, mutating=False)
    if isinstance(error, errors.ToastAuthFailed | errors.ToastRateLimited):
        return error
    return errors.ToastNotSent(
        f"login failed: {error.message}", status=error.status, request_id=error.request_id
    )
