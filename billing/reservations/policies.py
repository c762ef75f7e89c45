"""Fee policies: per location (and optionally per service and local time window), versioned.

``update`` writes version N+1 with the same code and retires version N; a reservation keeps the
id of the version its guest accepted, so a change never alters a booked reservation's fee.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from datetime import datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, select

from billing.domain import calendar, inputs
from billing.errors import DomainError, NotFound
from billing.reservations import rules
from billing.store.tables import FeePolicy, Location

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CODE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicySpec:
    """What staff set; validated by ``check`` (each error names its field)."""

    code: str
    name: str
    per: str
    amount_cents: int
    consent_text: str
    location_guid: str
    cap_cents: int | None = None
    free_cancel_hours: int = 24
    confirm_delay_minutes: int = 15
    last_moment_hours: int = 48
    service: str | None = None
    days: str | None = None
    window_start: str | None = None
    window_end: str | None = None
    timezone: str | None = None  # default: the location's, else America/New_York


def check(spec: PolicySpec) -> PolicySpec:
    if not CODE.fullmatch(spec.code):
        raise DomainError("code: lower-case letters, digits, . _ - (1-64)", field="code")
    inputs.text(spec.name, field="name")
    inputs.text(spec.consent_text, field="consent", max_length=2000)
    inputs.guid(spec.location_guid, field="location")
    if spec.per not in tuple(rules.Per):
        raise DomainError("per must be person or reservation", field="per")
    if spec.service is not None:
        inputs.text(spec.service, field="service", max_length=64)
    if spec.days is not None and not set(spec.days.split(",")) <= set(DAYS):
        raise DomainError(f"days: comma-separated among {','.join(DAYS)}", field="days")
    for name in ("window_start", "window_end"):
        value = getattr(spec, name)
        if value is not None and not HHMM.fullmatch(value):
            raise DomainError(f"{name}: HH:MM (24-hour)", field=name)
    if (spec.window_start is None) != (spec.window_end is None):
        raise DomainError("give both window_start and window_end, or neither", field="window_end")
    if spec.timezone is not None:
        inputs.timezone(spec.timezone, field="timezone")
    rules.check_policy(to_rules_values(spec, spec.timezone or "UTC"))
    return spec


def to_rules_values(spec: PolicySpec | FeePolicy, timezone: str, label: str = "") -> rules.Policy:
    return rules.Policy(
        per=rules.Per(spec.per), amount_cents=spec.amount_cents, cap_cents=spec.cap_cents,
        free_cancel_hours=spec.free_cancel_hours,
        confirm_delay=timedelta(minutes=spec.confirm_delay_minutes),
        last_moment=timedelta(hours=spec.last_moment_hours), timezone=timezone,
        label=label or "policy",
    )  # fmt: skip


def to_rules(row: FeePolicy) -> rules.Policy:
    return to_rules_values(row, row.timezone, label(row))


def label(row: FeePolicy) -> str:
    return f"{row.name} (policy {row.code} v{row.version})"


def create(session: Session, spec: PolicySpec, *, now: datetime) -> FeePolicy:
    check(spec)
    if latest(session, spec.location_guid, spec.code) is not None:
        raise DomainError(f"policy {spec.code!r} exists at this location: update it",
                          field="code")  # fmt: skip
    return _write(session, spec, version=1, now=now)


def update(session: Session, location: str, code: str, *, now: datetime,
           clear: tuple[str, ...] = (), **changes: Any) -> FeePolicy:  # fmt: skip
    """Version N+1 with ``changes``; version N stays for the reservations booked under it.

    ``clear`` names optional fields to empty (``cap_cents``: no cap any more).
    """
    current = get(session, location, code)
    given = {k: v for k, v in changes.items() if v is not None}
    for name in clear:
        if name in given:
            raise DomainError(f"{name} both set and cleared", field=name)
        given[name] = None
    if not given:
        raise DomainError("nothing to change", field="policy")
    spec = check(replace(spec_of(current), **given))
    current.active = False
    session.add(current)
    return _write(session, spec, version=current.version + 1, now=now)


def spec_of(row: FeePolicy) -> PolicySpec:
    names = PolicySpec.__dataclass_fields__
    return PolicySpec(**{name: getattr(row, name) for name in names})


def _write(session: Session, spec: PolicySpec, *, version: int, now: datetime) -> FeePolicy:
    values = asdict(spec)
    values["timezone"] = spec.timezone or _location_zone(session, spec.location_guid)
    row = FeePolicy(**values, version=version, active=True, created_at=now)
    session.add(row)
    session.flush()
    return row


def _location_zone(session: Session, guid: str) -> str:
    location = session.get(Location, guid)
    return location.timezone if location is not None else "America/New_York"


def latest(session: Session, location: str, code: str) -> FeePolicy | None:
    query = (select(FeePolicy).where(FeePolicy.location_guid == location, FeePolicy.code == code)
             .order_by(col(FeePolicy.version).desc()))  # fmt: skip
    return session.exec(query).first()


def get(session: Session, location: str, code: str, version: int | None = None) -> FeePolicy:
    row = latest(session, location, code)
    if row is not None and version is not None:
        row = session.exec(select(FeePolicy).where(
            FeePolicy.location_guid == location, FeePolicy.code == code,
            FeePolicy.version == version)).first()  # fmt: skip
    if row is None:
        raise NotFound(f"unknown fee policy {code[:64]!r}" + (f" v{version}" if version else ""),
                       field="policy")  # fmt: skip
    return row


def list_all(session: Session, *, location: str | None = None, every_version: bool = False
             ) -> list[FeePolicy]:  # fmt: skip
    query = select(FeePolicy).order_by(col(FeePolicy.code), col(FeePolicy.version))
    if location is not None:
        query = query.where(FeePolicy.location_guid == location)
    if not every_version:
        query = query.where(col(FeePolicy.active).is_(True))
    return list(session.exec(query).all())


def applies(row: FeePolicy, slot: datetime, service: str | None) -> bool:
    """Does this policy govern a reservation at ``slot`` (for ``service``)?"""
    if row.service is not None and row.service != service:
        return False
    local = slot.astimezone(calendar.zone(row.timezone))
    if row.days is not None and DAYS[local.weekday()] not in row.days.split(","):
        return False
    if row.window_start is None or row.window_end is None:
        return True
    start, end = time.fromisoformat(row.window_start), time.fromisoformat(row.window_end)
    at = local.time()
    return start <= at < end if start <= end else (at >= start or at < end)


def for_slot(
    session: Session, location: str, slot: datetime, *, service: str | None, code: str | None
) -> FeePolicy:
    """The policy named, or the most specific active one that applies to the slot."""
    if code is not None:
        row = get(session, location, code)
        if not row.active:
            raise DomainError(f"policy {code!r} is retired", field="policy")
        return row
    candidates = [r for r in list_all(session, location=location) if applies(r, slot, service)]
    if not candidates:
        raise DomainError("no fee policy at this location applies to this slot: name one",
                          field="policy")  # fmt: skip
    return max(candidates, key=_specificity)


def _specificity(row: FeePolicy) -> tuple[int, int, int, int]:
    return (row.service is not None, row.days is not None, row.window_start is not None,
            -(row.id or 0))  # fmt: skip
