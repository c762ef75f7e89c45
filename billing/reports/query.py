"""Read the facts of a period from the schedule store, and build the report from them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_
from sqlmodel import Session, col, select

from billing.reports import aggregate
from billing.reports.aggregate import ChargeFact, EndFact
from billing.reports.model import CHURN_KINDS, ONE_OFF, CollectionsReport, PlanInfo
from billing.reports.period import Period, month_of
from billing.store.tables import Charge, Event, Plan, Subscription


def collections(
    session: Session,
    period: Period,
    *,
    now: datetime,
    location_names: Mapping[str, str] | None = None,
) -> CollectionsReport:
    """The collections report for ``period``, as the store stands at ``now``."""
    return aggregate.build(
        period,
        charges=charge_facts(session, period),
        ends=end_facts(session, period),
        plans=plan_infos(session),
        generated_at=now,
        location_names=location_names,
    )


def charge_facts(session: Session, period: Period) -> list[ChargeFact]:
    start, end = period.start, period.end

    def inside(column: Any) -> ColumnElement[bool]:
        return and_(col(column) >= start, col(column) < end)

    query = (
        select(Charge, Plan.code)
        .join(Subscription, col(Charge.subscription_id) == Subscription.id, isouter=True)
        .join(Plan, col(Subscription.plan_id) == Plan.id, isouter=True)
        .where(
            or_(inside(Charge.settled_at), inside(Charge.first_declined_at), inside(Charge.due_at))
        )
    )
    return [_charge_fact(charge, code) for charge, code in session.exec(query).all()]


def _charge_fact(charge: Charge, plan_code: str | None) -> ChargeFact:
    return ChargeFact(
        plan=plan_code or ONE_OFF,
        location=charge.location_guid,
        amount_cents=charge.amount_cents,
        status=charge.status,
        decline_count=charge.decline_count,
        due_at=charge.due_at,
        first_declined_at=charge.first_declined_at,
        settled_at=charge.settled_at,
    )


def end_facts(session: Session, period: Period) -> list[EndFact]:
    query = (
        select(Event.type, Event.at, Plan.code, Plan.location_guid)
        .join(Subscription, col(Subscription.id) == Event.entity_id)
        .join(Plan, col(Subscription.plan_id) == Plan.id)
        .where(Event.entity == "subscription", col(Event.type).in_(CHURN_KINDS))
        .where(Event.at >= period.start, Event.at < period.end)
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
