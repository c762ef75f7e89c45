"""Read the facts of a period from the schedule store, and build the report from them."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, case, exists, func, or_
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from billing.reports import aggregate
from billing.reports.aggregate import ChargeFact, EndFact, TrendFact
from billing.reports.model import CHURN_KINDS, ONE_OFF, CollectionsReport, Milestone, PlanInfo
from billing.reports.period import Period, month_of
from billing.store.tables import (
    CateringEvent,
    Charge,
    Event,
    EventMilestone,
    Plan,
    Subscription,
)
from billing.store.types import UTCDateTime

LIVE_EVENTS = ("booked", "balance_due")  # events whose open milestones will still be charged


def collections(
    session: Session,
    period: Period,
    *,
    now: datetime,
    location_names: Mapping[str, str] | None = None,
) -> CollectionsReport:
    """The collections report for ``period``, as the store stands at ``now``."""
    report = aggregate.build(
        period,
        charges=charge_facts(session, period, now=now),
        ends=end_facts(session, period),
        plans=plan_infos(session),
        generated_at=now,
        trend=trend_facts(session, period),
        location_names=location_names,
    )
    upcoming = tuple(open_milestones(session, now=now, location_names=location_names or {}))
    return replace(report, milestones=upcoming, balances=aggregate.balances(upcoming))


def open_milestones(
    session: Session, *, now: datetime, location_names: Mapping[str, str]
) -> list[Milestone]:
    """Every milestone of a live event still to be collected (open, a non-zero amount), soonest
    first: a snapshot at ``now``, whatever the period."""
    query = (
        select(EventMilestone, CateringEvent)
        .join(CateringEvent, col(CateringEvent.id) == EventMilestone.event_id)
        .where(col(CateringEvent.status).in_(LIVE_EVENTS), EventMilestone.state == "open")
        .where(col(EventMilestone.amount_cents) > 0, col(EventMilestone.due_at).is_not(None))
        .order_by(col(EventMilestone.due_at), col(EventMilestone.id))
    )
    out = []
    for m, ev in session.exec(query).all():
        assert m.due_at is not None
        local = m.due_at.astimezone(ZoneInfo(ev.timezone))
        out.append(Milestone(
            event_id=ev.id or 0, title=ev.title, location=ev.location_guid,
            location_label=location_names.get(ev.location_guid, ev.location_guid),
            milestone=m.name, amount_cents=m.amount_cents, due_at=m.due_at,
            due_local=f"{local:%Y-%m-%d %H:%M} {ev.timezone}", past_due=m.due_at <= now,
            event_status=ev.status,
        ))  # fmt: skip
    return out


def charge_facts(session: Session, period: Period, *, now: datetime) -> list[ChargeFact]:
    """One fact per group of alike charges, aggregated in SQL: charges are grouped by plan,
    location, status, whether they were ever declined, and the month (of the period) of each
    instant the report buckets by. A grouped fact carries each instant as its month's first
    instant, so the pure aggregation buckets it in the same month. Memory: the groups only."""
    months = period.months()
    starts = [m.start(period.zone) for m in months] + [period.end]
    c = Charge.__table__.c  # type: ignore[attr-defined]
    instants = (c.settled_at, c.first_declined_at, c.due_at)
    settled, declined, due = (_month_index(x, starts) for x in instants)
    ever_declined = case((c.decline_count > 0, 1), else_=0)
    due_yet = case((c.due_at <= _instant(now), 1), else_=0)
    keys: tuple[Any, ...] = (col(Plan.code), c.source, c.location_guid, c.status, ever_declined,
                             settled, declined, due, due_yet)  # fmt: skip
    query = (
        sa_select(*keys, func.count(), func.sum(c.amount_cents))
        .select_from(Charge)
        .join(Subscription, c.subscription_id == Subscription.id, isouter=True)
        .join(Plan, col(Subscription.plan_id) == Plan.id, isouter=True)
        .where(or_(*(and_(x >= period.start, x < period.end) for x in instants)))
        .group_by(*keys)
    )
    firsts = starts[:-1]
    rows = session.execute(query).all()

    def at(index: int | None) -> datetime | None:
        return None if index is None else firsts[index]

    return [
        ChargeFact(
            plan=code or aggregate.SOURCE_PLANS.get(source or "", ONE_OFF),
            location=location,
            status=status,
            decline_count=was_declined,
            settled_at=at(s_i),
            first_declined_at=at(d_i),
            due_at=at(u_i) or period.end,
            due_yet=bool(is_due),
            count=count,
            amount_cents=int(cents),
        )
        for code, source, location, status, was_declined, s_i, d_i, u_i, is_due, count, cents
        in rows
    ]


def _month_index(column: Any, starts: list[datetime]) -> Any:
    """The index of the period's month ``column`` falls in, or NULL outside the period."""
    whens = [
        (and_(column >= _instant(a), column < _instant(b)), i)
        for i, (a, b) in enumerate(itertools.pairwise(starts))
    ]
    return case(*whens, else_=None)


def _instant(value: datetime) -> Any:
    return bindparam(None, value, type_=UTCDateTime())


def trend_facts(session: Session, period: Period) -> list[TrendFact]:
    """Per month and plan: the subscriptions with a recurring charge due (not cancelled)."""
    months = period.months()
    starts = [m.start(period.zone) for m in months] + [period.end]
    c = Charge.__table__.c  # type: ignore[attr-defined]
    month = _month_index(c.due_at, starts)
    keys: tuple[Any, ...] = (month, col(Plan.interval_unit), col(Plan.interval_count))
    query = (
        sa_select(*keys, func.count(func.distinct(c.subscription_id)), func.sum(c.amount_cents))
        .select_from(Charge)
        .join(Subscription, c.subscription_id == Subscription.id)
        .join(Plan, col(Subscription.plan_id) == Plan.id)
        .where(c.kind == "RECURRING", c.status != "cancelled")
        .where(c.due_at >= period.start, c.due_at < period.end)
        .group_by(*keys)
    )
    return [
        TrendFact(
            month=str(months[i]),
            members=members,
            cents=int(cents),
            per_month=aggregate.monthly_share(unit, every),
        )
        for i, unit, every, members, cents in session.execute(query).all()
        if i is not None
    ]


def end_facts(session: Session, period: Period) -> list[EndFact]:
    """Subscriptions that ended in the period; a pause followed by a resume (the member is
    active again) is not an end."""
    later = aliased(Event)
    resumed_later = and_(
        col(Event.type) == "paused",
        exists().where(
            col(later.entity) == "subscription", col(later.entity_id) == col(Event.entity_id),
            col(later.type) == "active", col(later.at) > col(Event.at),
        ),
    )  # fmt: skip
    query = (
        select(Event.type, Event.at, Plan.code, Plan.location_guid)
        .join(Subscription, col(Subscription.id) == Event.entity_id)
        .join(Plan, col(Subscription.plan_id) == Plan.id)
        .where(Event.entity == "subscription", col(Event.type).in_(CHURN_KINDS))
        .where(Event.at >= period.start, Event.at < period.end)
        .where(~resumed_later)
    )
    return [
        EndFact(plan=code, location=location, kind=kind, at=at)
        for kind, at, code, location in session.exec(query).all()
    ]


def plan_infos(session: Session) -> list[PlanInfo]:
    """Each plan code once, with the name and kind of its latest version."""
    latest: dict[str, Plan] = {}
    for plan in session.exec(select(Plan).order_by(col(Plan.version))).all():
        latest[plan.code] = plan
    return [PlanInfo(code=p.code, name=p.name, kind=p.kind) for p in latest.values()]


def activity_span(session: Session, zone_name: str = "UTC") -> Period | None:
    """The months from the first charge due to the last one due or settled; None when empty."""
    first, last_due, last_settled = session.exec(
        select(func.min(Charge.due_at), func.max(Charge.due_at), func.max(Charge.settled_at))
    ).one()
    if first is None:
        return None
    zone = Period.zone_of(zone_name)
    last = max(t for t in (last_due, last_settled) if t is not None)
    return Period(first=month_of(first, zone), last=month_of(last, zone), timezone=zone_name)
