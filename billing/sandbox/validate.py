"""Request-body validation helpers: each raises ``InvalidRequest`` naming the field."""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection
from typing import Any

from billing.sandbox.errors import InvalidRequest

JSON = dict[str, Any]
# Toast: email may only contain a-z A-Z 0-9 = . - _ + @ : & ^ % ! $
_EMAIL = re.compile(r"^[A-Za-z0-9=.\-_+@:&^%!$]+$")
MAX_AMOUNT = 99_999_999


def canonical_uuid(value: object) -> str | None:
    """Lowercase dashed form of a UUID string (any version), or None when it is not one."""
    if not isinstance(value, str) or len(value) != 36:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def uuid_field(body: JSON, name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidRequest(f"{name} is required", field=name)
        return None
    parsed = canonical_uuid(value)
    if parsed is None:
        raise InvalidRequest(f"{name} must be a UUID", field=name)
    return parsed


def str_field(body: JSON, name: str, *, required: bool = False, max_len: int = 255) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise InvalidRequest(f"{name} is required", field=name)
        return None
    if not isinstance(value, str) or len(value) > max_len:
        raise InvalidRequest(f"{name} must be a string of at most {max_len} characters", field=name)
    return value


def int_field(
    body: JSON, name: str, *, required: bool = False, lo: int = 0, hi: int = MAX_AMOUNT
) -> int | None:
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidRequest(f"{name} is required", field=name)
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise InvalidRequest(f"{name} must be an integer in {lo}..{hi}", field=name)
    return value


def bool_field(body: JSON, name: str, default: bool = False) -> bool:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidRequest(f"{name} must be a boolean", field=name)
    return value


def enum_field(
    body: JSON,
    name: str,
    allowed: Collection[str],
    *,
    required: bool = False,
    default: str | None = None,
) -> str | None:
    value = body.get(name)
    if value is None:
        if required and default is None:
            raise InvalidRequest(f"{name} is required", field=name)
        return default
    if value not in allowed:
        raise InvalidRequest(f"{name} must be one of {sorted(allowed)}", field=name)
    return str(value)


def email_field(body: JSON, name: str = "email") -> str | None:
    value = str_field(body, name)
    if value is not None and (not _EMAIL.match(value) or "@" not in value):
        raise InvalidRequest(f"{name} contains characters that are not allowed", field=name)
    return value


def object_field(body: JSON, name: str) -> JSON | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidRequest(f"{name} must be an object", field=name)
    return value


STANDING_INSTRUCTIONS = frozenset({"RECURRING", "INSTALLMENT", "UNSCHEDULED"})
SI_USAGES = frozenset({"ON_SESSION", "OFF_SESSION"})
PM_USAGES = frozenset({"ON_SESSION", "OFF_SESSION", "ON_AND_OFF_SESSION"})
