"""Unsubscribe links: a signed token (itsdangerous, keyed by ``notify.link_secret``) naming the
member and the message kind. Nothing in the link can be guessed or changed: a token for one
member cannot be turned into another's, and only refusable kinds (reminders) are ever signed."""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

from billing.notify import optouts

SALT = "billing.unsubscribe"


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    customer_id: int
    kind: str


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=SALT)


def token(secret: str, customer_id: int, kind: str) -> str:
    if kind not in optouts.REFUSABLE:
        raise ValueError(f"{kind} messages cannot be refused")
    return str(_serializer(secret).dumps({"c": customer_id, "k": kind}))


def read(secret: str, value: str) -> Request | None:
    """The request a token carries, or None (forged, altered, or not ours)."""
    try:
        data = _serializer(secret).loads(value)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("c"), int):
        return None
    if data.get("k") not in optouts.REFUSABLE:
        return None
    return Request(customer_id=data["c"], kind=str(data["k"]))


def url(public_url: str, secret: str, customer_id: int, kind: str) -> str:
    return f"{public_url.rstrip('/')}/unsubscribe/{token(secret, customer_id, kind)}"
