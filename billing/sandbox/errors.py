"""One class per documented Toast error, each with its HTTP status and ``ErrorMessage`` body.

    SandboxApiError
    ├── InvalidRequest          400  malformed or missing fields (validation)
    │   └── AmountEmpty         400  code 10025 "Payment amount cannot be empty" (Toast's example)
    ├── Unauthorized            401  bad client credentials, missing/expired/invalid token
    ├── Forbidden               403  no permission; unknown location
    ├── NotFound                404  customer / payment method / mandate / intent does not exist
    │   └── IntentExpired       404  intent past its lifetime (24 h payment, 30 min setup)
    ├── Conflict                409  the object's state does not allow this
    │   ├── IntentNotModifiable      "payment intent cannot be updated" (PROCESSING, captured...)
    │   ├── PaymentMethodNotScoped   "payment method not found or hasn't been scoped to ..."
    │   ├── MandateNotUsable         ASSUMPTION: inactive mandate / wrong location for a MIT
    │   └── IdempotencyKeyReused     ASSUMPTION: same Toast-Idempotency-Key, different body
    ├── TooManyRequests         429  rate limit (carries Retry-After)
    └── ServerError             5xx  internal error (fault injection), canRetry true

ASSUMPTION: Toast publishes no catalogue of hosted-checkout error ``code`` values; apart from
10025 (seen in Toast's example) the numeric codes below are ours.
"""

from __future__ import annotations

from typing import Any, ClassVar


class SandboxApiError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[int] = 10000
    default_message: ClassVar[str] = "bad request"
    can_retry: ClassVar[bool | None] = False

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.field = field

    def status_code(self) -> int:
        return self.status

    def body(self, request_id: str) -> dict[str, Any]:
        return error_body(
            self.status_code(),
            self.code,
            self.message,
            request_id,
            field=self.field,
            can_retry=self.can_retry,
        )


def error_body(
    status: int,
    code: int,
    message: str,
    request_id: str,
    *,
    field: str | None = None,
    can_retry: bool | None = None,
) -> dict[str, Any]:
    """Toast's ``ErrorMessage`` shape (payments reference version)."""
    return {
        "status": status,
        "code": code,
        "message": message,
        "messageKey": None,
        "fieldName": field,
        "link": None,
        "requestId": request_id,
        "developerMessage": None,
        "errors": [],
        "canRetry": can_retry,
    }


class InvalidRequest(SandboxApiError):
    status = 400
    code = 10000


class AmountEmpty(InvalidRequest):
    code = 10025
    default_message = "Payment amount cannot be empty"


class Unauthorized(SandboxApiError):
    status = 401
    code = 10401
    default_message = "client is not authorized"


class Forbidden(SandboxApiError):
    status = 403
    code = 10403
    default_message = "forbidden"


class NotFound(SandboxApiError):
    status = 404
    code = 10404
    default_message = "not found"


class IntentExpired(NotFound):
    code = 10405
    default_message = "intent expired or does not exist"


class Conflict(SandboxApiError):
    status = 409
    code = 10409
    default_message = "conflict"


class IntentNotModifiable(Conflict):
    code = 10410
    default_message = "payment intent cannot be updated"


class PaymentMethodNotScoped(Conflict):
    code = 10411
    default_message = "payment method not found or hasn't been scoped to the payment intent"


class MandateNotUsable(Conflict):
    code = 10412
    default_message = "mandate is not active"


class IdempotencyKeyReused(Conflict):
    code = 10413
    default_message = "Toast-Idempotency-Key was already used with a different request"


class TooManyRequests(SandboxApiError):
    status = 429
    code = 10429
    default_message = "too many requests"
    can_retry = True

    def __init__(self, retry_after_s: int, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, retry_after_s)


class ServerError(SandboxApiError):
    status = 500
    code = 10500
    default_message = "could not be processed due to an internal error"
    can_retry = True

    def __init__(self, status: int = 500, message: str | None = None) -> None:
        super().__init__(message)
        self._status = status

    def status_code(self) -> int:
        return self._status
