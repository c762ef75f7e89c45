"""Toast locations named for people: the store knows GUIDs, staff know "Downtown".

``names`` is the one lookup every list, the collections report and the forecast use at their
display layer; ``label`` falls back to the GUID's first block for a location without a name.
"""

from __future__ import annotations

import unicodedata
import uuid
import zoneinfo
from datetime import datetime

from sqlmodel import Session, col, select

from billing.errors import DomainError, NotFound
from billing.store.tables import Location

NAME_MAX = 100


def names(session: Session) -> dict[str, str]:
    """Location GUID -> name, for every named location."""
    return {row.guid: row.name for row in session.exec(select(Location)).all()}


def short(guid: str) -> str:
    """A GUID as its first block (``6f1e2d3c``): enough to tell locations apart in a table."""
    return guid.split("-", 1)[0]


def label(guid: str, known: dict[str, str]) -> str:
    return known.get(guid) or short(guid)


def list_all(session: Session) -> list[Location]:
    return list(session.exec(select(Location).order_by(col(Location.name))).all())


def get(session: Session, ref: str) -> Location:
    """By GUID or by name."""
    row = session.get(Location, _normal_guid(ref)) if _is_guid(ref) else None
    row = row or session.exec(select(Location).where(Location.name == ref)).first()
    if row is None:
        raise NotFound(f"unknown location {ref[:80]!r}", field="location")
    return row


def add(session: Session, guid: str, *, name: str, timezone: str, now: datetime) -> Location:
    if not _is_guid(guid):
        raise DomainError(f"GUID: {guid[:80]!r} is not a location GUID (UUID)", field="GUID")
    key = _normal_guid(guid)
    if session.get(Location, key) is not None:
        raise DomainError(f"location {key} already has a name: rename it", field="GUID")
    row = Location(guid=key, name=_checked_name(session, name), timezone=_zone(timezone),
                   created_at=now)  # fmt: skip
    session.add(row)
    session.flush()
    return row


def rename(session: Session, ref: str, name: str) -> Location:
    row = get(session, ref)
    if name != row.name:
        row.name = _checked_name(session, name)
    session.flush()
    return row


def _checked_name(session: Session, name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= NAME_MAX:
        raise DomainError(f"--name: give 1 to {NAME_MAX} characters", field="--name")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise DomainError("--name: no control characters", field="--name")
    if session.exec(select(Location).where(Location.name == name)).first() is not None:
        raise DomainError(f"--name: another location is named {name!r}", field="--name")
    return name


def _zone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise DomainError(
            f"--timezone: unknown IANA time zone {value[:80]!r}", field="--timezone"
        ) from None
    return value


def _is_guid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return len(text) == 36


def _normal_guid(text: str) -> str:
    return str(uuid.UUID(text))
