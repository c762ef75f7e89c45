"""The pure rules of card-update links: the token and its hash, the URL, and what a link
allows now. Values in, values out."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from enum import StrEnum

TOKEN_BYTES = 32  # 256 bits from ``secrets``: unguessable, so the URL needs no signature
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
PATH = "/card"
REPLACEABLE = ("active", "expired")  # mandate statuses a new card can take over from


class State(StrEnum):
    OPEN = "open"  # the member may put in a card
    USED = "used"  # a card was put in through this link
    REPLACED = "replaced"  # the card was replaced (or revoked) some other way
    EXPIRED = "expired"  # past its expiry


def token_hash(token: str) -> str:
    """What the store keeps of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def well_formed(token: str) -> bool:
    """A token as ``secrets.token_urlsafe`` writes it (anything else is not looked up)."""
    return TOKEN_SHAPE.fullmatch(token) is not None


def url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}{PATH}/{token}"


def expires_at(created_at: datetime, days: int) -> datetime:
    return created_at + timedelta(days=days)


def state(
    *, now: datetime, expires_at: datetime, used_at: datetime | None, mandate_status: str,
    replaced: bool,
) -> State:  # fmt: skip
    """A used link stays used; a card no longer on file cannot be replaced; then the clock."""
    if used_at is not None:
        return State.USED
    if replaced or mandate_status not in REPLACEABLE:
        return State.REPLACED
    if now >= expires_at:
        return State.EXPIRED
    return State.OPEN
