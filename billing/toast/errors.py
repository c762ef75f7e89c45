"""Errors of the Toast client, on two axes: where it failed, and whether money may have moved.

    BillingError                          (billing.errors)
    └── ToastError                        .request_id .status .code .money_may_have_moved
        ├── ToastTransportError           no usable HTTP response came back
        │   ├── ToastNotSent              connect error/timeout, pool timeout: the request never
        │   │   │                         left this process. Money did NOT move; safe to retry.
        │   │   ├── ToastLoginUnavailable  no usable token and the login budget is spent
        │   │   │                         (.retry_after): not retried in place
        │   │   └── ToastLocationNotOwned  another worker owns the location's sending
        │   └── ToastOutcomeUnknown       read timeout, dropped connection, protocol error, or a
        │       │                         5xx after a mutating request was sent. Money MAY have
        │       │                         moved: read the object back (GET), never re-create.
        │       └── ToastServerOutcomeUnknown   5xx answer to a mutating call (also a
        │                                       ToastServerError: it has status and request id)
        └── ToastAPIError                 Toast answered definitively; money did NOT move
            ├── ToastDeclined             confirm answered with a declined authorization
            │                             (.decline_type, .decline_code, .intent)
            ├── ToastInvalidRequest       400 (.field when Toast names one)
            ├── ToastAuthFailed           401 / 403 (bad credentials, or token refused twice)
            ├── ToastNotFound             404: does not exist, or expired
            ├── ToastConflict             409: wrong state for this call / not scoped
            ├── ToastRateLimited          429 (.retry_after seconds)
            └── ToastServerError          5xx to a read: nothing changed, retryable
                └── ToastServerOutcomeUnknown   (see above)

``money_may_have_moved`` is True only for ``ToastOutcomeUnknown`` (one ``isinstance`` check).
Every error carries Toast's ``requestId`` when the response had one, and ``str(error)`` shows it.
Messages are passed through ``redact`` so no token or session secret can leak through them.

httpx exceptions are translated in ONE place, ``translate_transport_errors``; HTTP statuses are
mapped to classes in ONE function, ``error_from_response``.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import httpx

from billing.errors import BillingError

_SECRET_PATTERNS = (
    re.compile(r"(?i)bearer\s+\S+"),
    re.compile(r"[A-Za-z0-9_-]*_SECRET_\S*"),
    re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"),  # a JWT
)


def redact(text: str) -> str:
    """Mask anything shaped like a bearer token, JWT or session secret."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub("[REDACTED]", text)
    return text


class ToastError(BillingError):
    """Root of every error the Toast client raises."""

    money_may_have_moved: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        request_id: str | None = None,
        field: str | None = None,
        can_retry: bool | None = None,
    ) -> None:
        super().__init__(redact(message), field=field)
        self.status = status
        self.code = code
        self.request_id = request_id
        self.can_retry = can_retry

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.code is not None:
            parts.append(f"code={self.code}")
        if self.field:
            parts.append(f"field={self.field}")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        return " ".join(parts)

    @property
    def user_message(self) -> str:
        """A line for CLI output: the message without diagnostics."""
        return self.message


class ToastTransportError(ToastError):
    """No usable HTTP response came back."""


class ToastNotSent(ToastTransportError):
    """The request never left: safe to retry, nothing happened at Toast."""


class ToastLoginUnavailable(ToastNotSent):
    """No usable token, and the login budget is spent until ``retry_after`` seconds from now:
    the request was not sent. Not retried in place (waiting an hour inside a call would freeze
    the caller); the engine stops starting charges and tries again when the budget allows."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ToastLocationNotOwned(ToastNotSent):
    """Another worker sends to this location now (``billing.engine.ownership``): the request
    was not sent. Not retried in place; the location's owner takes the work."""


class ToastOutcomeUnknown(ToastTransportError):
    """The request may have been processed: read back before doing anything else."""

    money_may_have_moved = True


class ToastAPIError(ToastError):
    """Toast answered with a definitive error."""


class ToastDeclined(ToastAPIError):
    """A confirm came back with a declined authorization (no money moved)."""

    def __init__(
        self,
        message: str,
        *,
        decline_type: str | None,
        decline_code: str | None,
        intent: Any = None,
        **kw: Any,
    ) -> None:
        super().__init__(message, **kw)
        self.decline_type = decline_type
        self.decline_code = decline_code
        self.intent = intent


class ToastInvalidRequest(ToastAPIError):
    """400: the request was malformed; ``field`` names the culprit when Toast says."""


class ToastAuthFailed(ToastAPIError):
    """401/403: credentials refused, or a fresh token refused."""


class ToastNotFound(ToastAPIError):
    """404: no such object, or it expired."""


class ToastConflict(ToastAPIError):
    """409: the object is in a state that does not allow this call."""


class ToastRateLimited(ToastAPIError):
    """429: too many requests; ``retry_after`` is seconds to wait (None if not given)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ToastServerError(ToastAPIError):
    """5xx to a call that changes nothing (a read, or a login)."""


class ToastServerOutcomeUnknown(ToastOutcomeUnknown, ToastServerError):
    """5xx after a mutating request was sent: Toast may or may not have applied it."""


_BY_STATUS: dict[int, type[ToastAPIError]] = {
    400: ToastInvalidRequest,
    401: ToastAuthFailed,
    403: ToastAuthFailed,
    404: ToastNotFound,
    409: ToastConflict,
    422: ToastInvalidRequest,
    429: ToastRateLimited,
}


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        data = json.loads(response.content or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (the HTTP-date form is not used by Toast and is ignored)."""
    raw = response.headers.get("Retry-After")
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None


def error_from_response(response: httpx.Response, *, mutating: bool) -> ToastAPIError:
    """Map an error response to its class: the ONE place statuses become exceptions."""
    body = _body(response)
    status = response.status_code
    request_id = body.get("requestId") or response.headers.get("X-Request-Id")
    kw: dict[str, Any] = {
        "status": status,
        "code": _int_or_none(body.get("code")),
        "request_id": str(request_id) if request_id else None,
        "field": body.get("fieldName") or None,
        "can_retry": body.get("canRetry") if isinstance(body.get("canRetry"), bool) else None,
    }
    message = str(body.get("message") or response.reason_phrase or f"HTTP {status}")
    if status >= 500:
        cls: type[ToastAPIError] = ToastServerOutcomeUnknown if mutating else ToastServerError
        return cls(message, **kw)
    if status == 429:
        return ToastRateLimited(message, retry_after=retry_after_seconds(response), **kw)
    return _BY_STATUS.get(status, ToastAPIError)(message, **kw)


_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
)


def _request_of(exc: httpx.HTTPError) -> httpx.Request | None:
    try:
        return exc.request
    except RuntimeError:
        return None


@contextlib.contextmanager
def translate_transport_errors(
    method: str, path: str, *, preflight: Callable[[httpx.Request], bool] = lambda _: False
) -> Iterator[None]:
    """The ONE place httpx exceptions become Toast errors; no bare httpx exception escapes.

    ``preflight`` tells whether a failed request was a preliminary one (the login the auth flow
    sends before the call): whatever happened to it, the call itself was not sent.
    """
    try:
        yield
    except ToastError:
        raise
    except httpx.InvalidURL as exc:
        raise ToastNotSent(f"{method} {path} not sent: invalid URL") from exc
    except (httpx.HTTPError, httpx.StreamError) as exc:
        request = _request_of(exc) if isinstance(exc, httpx.HTTPError) else None
        name = type(exc).__name__
        if isinstance(exc, _NOT_SENT) or (request is not None and preflight(request)):
            raise ToastNotSent(f"{method} {path} not sent: {name}") from exc
        raise ToastOutcomeUnknown(f"{method} {path} outcome unknown: {name}") from exc
