"""Plans: what is sold. Validated input in, a ``Plan`` row out; versions for changes."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlmodel import Session, col, select

from billing.domain import inputs, money
from billing.domain.states import IntervalUnit, PlanKind
from billing.domain.states import SubscriptionStatus as S
from billing.errors import DomainError, NotFound
from billing.settings import DEFAULT_LOCATION
from billing.store.tables import Plan, Subscription


class PlanCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    name: str = Field(min_length=1, max_length=200)
    kind: PlanKind
    amount_cents: int | None = None
    total_cents: int | None = None
    installments: int | None = Field(default=None, ge=1, le=120)
    interval_unit: IntervalUnit = IntervalUnit.MONTH
    interval_count: int = Field(default=1, ge=1, le=365)
    max_cycles: int | None = Field(default=None, ge=1, le=100_000)
    anchor_day: int | None = Field(default=None, ge=1, le=31)
    timezone: str = "America/New_York"
    local_time: str = "10:00"
    location_guid: str = DEFAULT_LOCATION
    check_item: str = Field(default="Subscription", min_length=1, max_length=200)
    dunning_retry_days: list[int] | None = None
    trial_days: int = Field(default=0, ge=0, le=730)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return inputs.timezone(value, field="timezone")

    @field_validator("name", "check_item")
    @classmethod
    def _text(cls, value: str) -> str:
        return inputs.text(value, field="text")

    @field_validator("location_guid")
    @classmethod
    def _location(cls, value: str) -> str:
        return inputs.guid(value, field="location_guid")

    @field_validator("local_time")
    @classmethod
    def _local_time(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError("must be HH:MM (24-hour)")
        return value

    @model_validator(mode="after")
    def _amounts_fit_kind(self) -> PlanCreate:
        inputs.plan_shape(
            kind=self.kind, amount_cents=self.amount_cents, total_cents=self.total_cents,
            installments=self.installments, interval_unit=self.interval_unit,
            anchor_day=self.anchor_day,
        )  # fmt: skip
        if self.trial_days and self.kind == PlanKind.UNSCHEDULED:
            raise ValueError("an UNSCHEDULED plan has no schedule, so no trial_days")
        if self.kind == PlanKind.INSTALLMENT:
            if self.total_cents is None or self.installments is None:
                raise ValueError("an INSTALLMENT plan needs total_cents and installments")
            money.split_installments(self.total_cents, self.installments)
        elif self.amount_cents is None:
            raise ValueError(f"a {self.kind} plan needs amount_cents")
        else:
            money.validate_amount(self.amount_cents, field="amount_cents")
        return self


def create(session: Session, spec: PlanCreate, *, now: datetime) -> Plan:
    if latest(session, spec.code) is not None:
        raise DomainError(f"plan {spec.code!r} already exists", field="code")
    plan = Plan(**spec.model_dump(), created_at=now)
    session.add(plan)
    session.flush()
    return plan


def latest(session: Session, code: str) -> Plan | None:
    return session.exec(
        select(Plan).where(Plan.code == code).order_by(col(Plan.version).desc()).limit(1)
    ).first()


def get(session: Session, code: str) -> Plan:
    plan = latest(session, code)
    if plan is None:
        raise NotFound(f"unknown plan {code!r}", field="plan")
    return plan


def list_latest(session: Session, *, include_archived: bool = False) -> list[Plan]:
    """The latest version of every plan code."""
    rows = session.exec(select(Plan).order_by(col(Plan.code), col(Plan.version).desc())).all()
    seen: dict[str, Plan] = {}
    for plan in rows:
        seen.setdefault(plan.code, plan)
    return [p for p in seen.values() if include_archived or p.active]


def versions(session: Session, code: str) -> list[Plan]:
    get(session, code)
    return list(
        session.exec(select(Plan).where(Plan.code == code).order_by(col(Plan.version))).all()
    )


def update(session: Session, code: str, changes: dict[str, Any], *, now: datetime) -> Plan:
    """Write version N+1 of ``code`` with ``changes``; subscriptions keep the version sold."""
    current = get(session, code)
    if not current.active:
        raise DomainError(f"plan {code!r} is archived", field="plan")
    fields = current.model_dump(include=set(PlanCreate.model_fields))
    changed = {k: v for k, v in changes.items() if v is not None}
    if {"code", "kind"} & set(changed) or set(changed) - set(PlanCreate.model_fields):
        raise DomainError("a plan update cannot change its code or kind", field="plan")
    if not changed:
        raise DomainError("nothing to change: give at least one option", field="plan")
    spec = PlanCreate(**(fields | changed))
    plan = Plan(**spec.model_dump(), version=current.version + 1, created_at=now)
    session.add(plan)
    session.flush()
    return plan


def archive(session: Session, code: str) -> Plan:
    """No new subscriptions on any version of ``code``; existing ones keep billing."""
    plan = get(session, code)
    if not plan.active:
        raise DomainError(f"plan {code!r} is already archived", field="plan")
    for version in versions(session, code):
        version.active = False
    session.flush()
    return plan


def live_subscriptions(session: Session, code: str) -> int:
    """How many subscriptions on any version of ``code`` are still billing or may again."""
    live = (S.ACTIVE, S.PAST_DUE, S.PAUSED, S.PENDING_MANDATE)
    query = select(Subscription.id).join(Plan, col(Plan.id) == Subscription.plan_id)
    query = query.where(Plan.code == code).where(col(Subscription.status).in_(live))
    return len(session.exec(query).all())
