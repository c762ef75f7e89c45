"""Schedule templates (``billing schedules``): milestones, cancellation tiers, dunning policy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlmodel import Session, col, select

from billing.domain import inputs, money
from billing.domain.dunning import DunningPolicy
from billing.errors import DomainError, InvalidSchedule
from billing.events import rules
from billing.events import store as ev_store
from billing.store import events
from billing.store.tables import CancellationTier, ScheduleTemplate, TemplateMilestone

DEFAULT_RETRY_DAYS = (1, 2, 4)
DEFAULT_TIERS = (
    rules.Tier(min_days_before=30, keep_deposit=True),
    rules.Tier(min_days_before=0, retain_bp=rules.FULL_BP),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateSpec:
    code: str
    name: str
    milestones: Sequence[rules.Milestone]
    tiers: Sequence[rules.Tier] = DEFAULT_TIERS
    retry_days: Sequence[int] = field(default=DEFAULT_RETRY_DAYS)
    alert_days: int = 14


def check(spec: TemplateSpec) -> None:
    inputs.text(spec.code, field="code", max_length=64)
    inputs.text(spec.name, field="name", max_length=200)
    rules.check_schedule(spec.milestones)
    rules.check_tiers(spec.tiers)
    DunningPolicy(retry_days=tuple(spec.retry_days))  # raises naming retry_days
    if not 0 <= spec.alert_days <= rules.MAX_DAYS_BEFORE:
        raise InvalidSchedule("alert days must be 0..3660", field="alert_days")


def create(session: Session, spec: TemplateSpec, *, now: datetime) -> ScheduleTemplate:
    check(spec)
    taken = session.exec(select(ScheduleTemplate).where(ScheduleTemplate.code == spec.code))
    if taken.first() is not None:
        raise DomainError(f"schedule {spec.code!r} already exists", field="code")
    row = ScheduleTemplate(code=spec.code, name=spec.name, retry_days=list(spec.retry_days),
                           alert_days=spec.alert_days, created_at=now)  # fmt: skip
    session.add(row)
    session.flush()
    assert row.id is not None
    for position, m in enumerate(spec.milestones):
        session.add(TemplateMilestone(
            template_id=row.id, position=position, name=m.name, kind=m.kind, value=m.value,
            days_before=m.days_before, local_time=m.at.strftime("%H:%M"),
        ))  # fmt: skip
    for t in spec.tiers:
        session.add(CancellationTier(
            template_id=row.id, min_days_before=t.min_days_before, keep_deposit=t.keep_deposit,
            retain_bp=t.retain_bp,
        ))  # fmt: skip
    session.flush()
    events.emit(session, at=now, entity="schedule", entity_id=row.id, type="created",
                code=spec.code)  # fmt: skip
    return row


def list_all(session: Session) -> list[ScheduleTemplate]:
    return list(session.exec(select(ScheduleTemplate).order_by(col(ScheduleTemplate.code))).all())


@dataclass(frozen=True, slots=True)
class Template:
    row: ScheduleTemplate
    milestones: list[rules.Milestone]
    tiers: list[rules.Tier]


def load(session: Session, code: str) -> Template:
    row = ev_store.template(session, code)
    assert row.id is not None
    milestones = [ev_store.rule_of(m) for m in ev_store.template_milestones(session, row.id)]
    tiers = [
        rules.Tier(min_days_before=t.min_days_before, keep_deposit=t.keep_deposit,
                   retain_bp=t.retain_bp)
        for t in ev_store.template_tiers(session, row.id)
    ]  # fmt: skip
    return Template(row, milestones, tiers)


def parse_milestone(text: str, *, field: str = "milestone") -> rules.Milestone:
    """``NAME=25%@signing``, ``NAME=50%@30``, ``NAME=$500@14``, ``NAME=rest@3``, with an
    optional local time ``@3/17:00`` (days before the event, at 17:00)."""
    name, _, rest = text.partition("=")
    amount, _, when = rest.partition("@")
    if not name or not amount or not when:
        raise InvalidSchedule(f"{inputs.shown(text)} is not like deposit=25%@signing, "
                              "second=50%@30, balance=rest@3", field=field)  # fmt: skip
    days_text, _, at_text = when.partition("/")
    at = rules.DEFAULT_TIME
    if at_text:
        try:
            at = ev_store.parse_time(at_text)
        except ValueError:
            raise InvalidSchedule(f"{inputs.shown(at_text)} is not a time like 09:00",
                                  field=field) from None  # fmt: skip
    if days_text == "signing":
        days: int | None = None
    elif days_text.isdigit() and len(days_text) <= 4:
        days = int(days_text)
    else:
        raise InvalidSchedule(f"{inputs.shown(days_text)}: give 'signing' or days before the "
                              "event", field=field)  # fmt: skip
    if amount in ("rest", "remainder", "balance"):
        return rules.Milestone(name=name, kind="remainder", days_before=days, at=at)
    if amount.endswith("%"):
        try:
            bp = Decimal(amount[:-1]) * 100
        except InvalidOperation:
            raise InvalidSchedule(f"{inputs.shown(amount)} is not a percentage",
                                  field=field) from None  # fmt: skip
        if bp != bp.to_integral_value():
            raise InvalidSchedule("a percentage has at most two decimals", field=field)
        return rules.Milestone(name=name, kind="percent", value=int(bp), days_before=days, at=at)
    cents = money.parse_amount(amount, field=field)
    return rules.Milestone(name=name, kind="fixed", value=cents, days_before=days, at=at)


def parse_tier(text: str, *, field: str = "tier") -> rules.Tier:
    """``30:deposit`` (keep the deposit), ``0:all`` (keep all paid), ``60:none``, ``14:50%``."""
    days_text, _, keep = text.partition(":")
    if not days_text.isdigit() or len(days_text) > 4:
        raise InvalidSchedule(f"{inputs.shown(text)} is not like 30:deposit or 0:all",
                              field=field)  # fmt: skip
    days = int(days_text)
    if keep == "deposit":
        return rules.Tier(min_days_before=days, keep_deposit=True)
    if keep == "all":
        return rules.Tier(min_days_before=days, retain_bp=rules.FULL_BP)
    if keep == "none":
        return rules.Tier(min_days_before=days)
    if keep.endswith("%") and keep[:-1].isdigit() and int(keep[:-1]) <= 100:
        return rules.Tier(min_days_before=days, retain_bp=int(keep[:-1]) * 100)
    raise InvalidSchedule(f"{inputs.shown(keep)}: keep deposit, all, none or N%", field=field)


def describe(m: rules.Milestone) -> str:
    if m.kind == "percent":
        amount = f"{m.value / 100:g}%"
    elif m.kind == "fixed":
        amount = money.format_cents(m.value)
    else:
        amount = "the rest"
    when = "at signing" if m.days_before is None else (
        f"{m.days_before} days before at {m.at.strftime('%H:%M')}"
    )
    return f"{m.name}: {amount} {when}"


def describe_tier(t: rules.Tier) -> str:
    keep = []
    if t.keep_deposit:
        keep.append("the deposit")
    if t.retain_bp:
        rest = "of the rest paid" if t.keep_deposit else "of what was paid"
        keep.append(f"{t.retain_bp / 100:g}% {rest}")
    return f">= {t.min_days_before} days: keep {' + '.join(keep) or 'nothing'}"
