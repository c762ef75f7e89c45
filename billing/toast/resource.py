"""What every resource module shares: build a validated body, send a Call, parse the answer."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from billing.toast import errors
from billing.toast.client import Call, Requester

M = TypeVar("M", bound=BaseModel)


def build(model: type[M], **fields: Any) -> M:
    """Validate a request body before anything is sent; a bad value is ``ToastInvalidRequest``
    with ``status=None`` (refused locally) and ``field`` naming it."""
    try:
        return model(**{k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        raise errors.ToastInvalidRequest(
            f"invalid {model.__name__}: {field}: {first['msg']}", field=field
        ) from None


def parse(model: type[M], response: httpx.Response) -> M:
    """Parse a 2xx body. If it cannot be read, the call may still have taken effect."""
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise errors.ToastOutcomeUnknown(
            f"unreadable {model.__name__} in a {response.status_code} answer: "
            f"{exc.error_count()} problem(s)",
            status=response.status_code,
            request_id=response.headers.get("X-Request-Id"),
        ) from None


def path_id(value: str | uuid.UUID, name: str = "id") -> str:
    """An id placed in a URL path: must be a UUID (any version); refused locally otherwise."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise errors.ToastInvalidRequest(f"{name} must be a UUID", field=name) from None


def reveal(secret: SecretStr | str) -> str:
    """The value of a secret, for a header only (never for a log line)."""
    return secret.get_secret_value() if isinstance(secret, SecretStr) else secret


class Resource:
    def __init__(self, requester: Requester) -> None:
        self._requester = requester

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    async def _send(self, call: Call) -> httpx.Response:
        return await self._requester.send(call)
