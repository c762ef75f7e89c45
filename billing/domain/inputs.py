"""The rules for what a person or a website may type: one layer for the CLI and the API.

Pure functions: each takes the raw value and the name of the field (an option like ``--email``
or a body field like ``customer.email``) and returns the clean value or raises
``InvalidInput``, which is both a ``DomainError`` (the CLI prints one line naming the field)
and a ``ValueError`` (pydantic turns it into a 422 naming the field). Messages never carry the
field themselves (the caller's error line adds it) and echo at most ``SHOWN`` characters of the
bad value.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, date, datetime

from billing.errors import DomainError

SHOWN = 80
FIRST_YEAR, LAST_YEAR = 2000, 2100
TEXT_MAX = 200  # names, references, reasons, check items
EMAIL_MAX = 254  # RFC 5321 path limit, as the API
ZONE_MAX = 64
# C0 controls (newline, tab, ESC of ANSI sequences), DEL, C1 controls (0x9b is a one-byte CSI),
# and the Unicode line/paragraph separators and bidi overrides that reorder a terminal line.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# Toast's email charset for intents (a-z A-Z 0-9 = . - _ + @ : & ^ % ! $) and an address shape.
EMAIL = re.compile(r"^[A-Za-z0-9=._+:&^%!$-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
CALENDAR_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")  # no week dates (2027-W09-1), no ordinals
INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?$")
MONTH = re.compile(r"^\d{4}-\d{2}$")
ZONE = re.compile(r"^[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*$")


class InvalidInput(DomainError, ValueError):
    """A value refused at the edge; ``field`` names the option or body field."""


def shown(value: object) -> str:
    """``value`` quoted for an error message, cut to ``SHOWN`` characters."""
    text = repr(value)
    return text if len(text) <= SHOWN else f"{text[: SHOWN - 5]}...' ({len(str(value))} chars)"


def text(value: str, *, field: str, max_length: int = TEXT_MAX, allow_empty: bool = False) -> str:
    """A name, reference, reason or check item: one printable line, at most ``max_length``."""
    if not value.strip() and not (allow_empty and value == ""):
        raise InvalidInput("must not be empty or blank", field=field)
    if len(value) > max_length:
        raise InvalidInput(f"at most {max_length} characters (got {len(value)})", field=field)
    if CONTROL.search(value):
        raise InvalidInput(
            "control characters, newlines and escape sequences are not allowed", field=field
        )
    return value


def email(value: str, *, field: str) -> str:
    if len(value) > EMAIL_MAX:
        raise InvalidInput(f"at most {EMAIL_MAX} characters (got {len(value)})", field=field)
    if not EMAIL.fullmatch(value):
        raise InvalidInput(f"{shown(value)} is not an address Toast accepts", field=field)
    return value


def guid(value: str, *, field: str) -> str:
    """A Toast GUID (a UUID in its 8-4-4-4-12 form), lower-cased."""
    if not GUID.fullmatch(value):
        raise InvalidInput(
            f"{shown(value)} is not a GUID like 6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a01", field=field
        )
    return value.lower()


def year_in_range(year: int, *, field: str) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput(f"the year must be {FIRST_YEAR}..{LAST_YEAR}, got {year}", field=field)


def calendar_date(value: str, *, field: str) -> date:
    """``YYYY-MM-DD`` in the years ``FIRST_YEAR``..``LAST_YEAR``."""
    try:
        if not CALENDAR_DATE.fullmatch(value):
            raise ValueError
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{shown(value)} is not a date like 2027-03-01", field=field) from None
    year_in_range(day.year, field=field)
    return day


def checked_date(value: date, *, field: str) -> date:
    """A date that arrived already parsed (the API's JSON body)."""
    year_in_range(value.year, field=field)
    return value


def instant(value: str, *, field: str) -> datetime:
    """An ISO 8601 instant with a zone (``2027-03-01T15:00:00Z``), returned in UTC."""
    try:
        if not INSTANT.fullmatch(value):
            raise ValueError
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{shown(value)} is not an ISO 8601 instant like 2027-03-01T15:00:00Z", field=field
        ) from None
    if moment.tzinfo is None:
        raise InvalidInput(f"{shown(value)} has no time zone; add Z or +00:00", field=field)
    year_in_range(moment.year, field=field)
    moment = moment.astimezone(UTC)
    year_in_range(moment.year, field=field)
    return moment


def month(value: str, *, field: str) -> tuple[int, int]:
    """``YYYY-MM`` as (year, month)."""
    if not MONTH.fullmatch(value) or not 1 <= int(value[5:]) <= 12:
        raise InvalidInput(f"{shown(value)} is not a month like 2027-03", field=field)
    year_in_range(int(value[:4]), field=field)
    return int(value[:4]), int(value[5:])


def timezone(value: str, *, field: str) -> str:
    """An IANA zone name the zone database knows (never a path: the message shows no file)."""
    known = len(value) <= ZONE_MAX and bool(ZONE.fullmatch(value))
    if known:
        try:
            zoneinfo.ZoneInfo(value)
        except Exception:  # ZoneInfoNotFoundError, IsADirectoryError ("America"), ValueError
            known = False
    if not known:
        raise InvalidInput(
            f"unknown IANA time zone {shown(value)} (e.g. America/New_York, UTC)", field=field
        )
    return value


def plan_shape(
    *, kind: str, amount_cents: int | None, total_cents: int | None, installments: int | None,
    interval_unit: str, anchor_day: int | None,
) -> None:  # fmt: skip
    """What each plan kind may carry: an amount (RECURRING, UNSCHEDULED) or a total in
    payments (INSTALLMENT), never both; an anchor day only for monthly and yearly schedules."""
    if kind == "INSTALLMENT":
        if amount_cents is not None:
            raise InvalidInput(
                "an INSTALLMENT plan takes total_cents and installments, not amount_cents",
                field="amount_cents",
            )
    elif total_cents is not None or installments is not None:
        wrong = "total_cents" if total_cents is not None else "installments"
        raise InvalidInput(
            f"a {kind} plan takes amount_cents, not total_cents or installments", field=wrong
        )
    if anchor_day is not None and interval_unit in ("day", "week") and kind != "UNSCHEDULED":
        raise InvalidInput(
            f"anchor_day applies to monthly and yearly plans, not to a {interval_unit} interval",
            field="anchor_day",
        )
