"""The website API's ``Idempotency-Key``, shared by its routes: the header (one definition:
printable ASCII, 1 to 200 characters), the conflict error (409, naming the header) and, for
routes whose result is not a row of their own (the wine-club member routes), the stored
response of the first request.

Semantics, as the enrollment API's: the same key with the same request returns the same
result and does the work once; the same key with a different request (another route, another
member or release, another body) is refused (409, field ``Idempotency-Key``). A request that
fails stores nothing: a repeat is tried again. The response is recorded in the transaction
that does the work, so a crash leaves both or neither; a concurrent request with the same key
loses on the key's unique constraint, its work rolls back and it answers the stored response.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import Header
from sqlmodel import Session, select

from billing.errors import DomainError
from billing.store.tables import ApiRequest

HEADER = "Idempotency-Key"
UNIQUE = "uq_api_request_idempotency_key"
PATTERN = r"^[\x21-\x7e]+$"


class IdempotencyConflict(DomainError):
    """The same Idempotency-Key was sent with a different request."""


def header(description: str) -> Any:
    """The header's FastAPI parameter (required when no default is given to it)."""
    return Header(alias=HEADER, min_length=1, max_length=200, pattern=PATTERN,
                  description=description)  # fmt: skip


OptionalKey = Annotated[
    str | None,
    header("Optional: your key for this request. A repeat with the same key returns the first "
           "response and does nothing again; the same key with another request is refused "
           "(409)"),
]  # fmt: skip


def digest(*parts: object) -> str:
    """The request's fingerprint (route, path parameters, body)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def replay(session: Session, key: str, fingerprint: str) -> dict[str, Any] | None:
    """The stored response for ``key``, None when it is new; refused for another request."""
    row = session.exec(select(ApiRequest).where(ApiRequest.idempotency_key == key)).first()
    if row is None:
        return None
    if row.request_hash != fingerprint:
        raise IdempotencyConflict(f"this {HEADER} was already used for a different request",
                                  field=HEADER)  # fmt: skip
    return dict(row.response)


def record(session: Session, key: str, fingerprint: str, response: dict[str, Any], *,
           now: datetime) -> None:  # fmt: skip
    session.add(ApiRequest(idempotency_key=key, request_hash=fingerprint, response=response,
                           created_at=now))  # fmt: skip
    session.flush()
