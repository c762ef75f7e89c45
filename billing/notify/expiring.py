"""The expiring-card scan: an active card-on-file that will end before a charge it is meant to
pay gets a ``card_expiring`` event at 30, 15 and 3 days (``notify.expiring_card_days``) before
its last day, each once (a ``notice`` row unique per mandate, expiry and threshold). Toast
documents no account updater: reaching the member first is the only way to keep the charge."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from billing.domain import calendar
from billing.domain.states import MandateStatus
from billing.engine import materialize
from billing.notify import rules
from billing.settings import NotifySettings
from billing.store import events
from billing.store.db import Store
from billing.store.tables import Charge, Mandate, Notice, Plan, Subscription

EXPIRING = "expiring_card"
OPEN_CHARGES = ("scheduled", "retry_scheduled")


def scan(store: Store, *, now: datetime, notify: NotifySettings) -> int:
    """Create the expiring-card events now due; returns how many were created."""
    days = tuple(notify.expiring_card_days)
    if not days:
        return 0
    created = 0
    with store.transaction() as session:
        for mandate in _candidates(session, now, max(days)):
            created += _consider(session, mandate, now, days, notify)
    return created


def _candidates(session: Session, now: datetime, horizon_days: int) -> list[Mandate]:
    """Active cards expiring in a year the horizon reaches (a cheap prefilter: the stored year
    is 27 or 2027); the exact window is ``rules.expiry_notice``."""
    years = {now.year, (now + timedelta(days=horizon_days)).year}
    stored = sorted(years | {y % 100 for y in years})
    query = select(Mandate).where(col(Mandate.status) == MandateStatus.ACTIVE)
    query = query.where(col(Mandate.card_exp_month).is_not(None))
    return list(session.exec(query.where(col(Mandate.card_exp_year).in_(stored))).all())


def _consider(
    session: Session, mandate: Mandate, now: datetime, days: tuple[int, ...],
    notify: NotifySettings,
) -> int:  # fmt: skip
    month, year = mandate.card_exp_month or 0, mandate.card_exp_year or 0
    subs = _billable(session, mandate.id or 0)
    zone = ZoneInfo(subs[0].timezone if subs else notify.timezone)
    ends = rules.card_ends(month, year, zone)
    due = rules.expiry_notice(ends=ends, now=now, days=days)
    if due is None or not _charge_after(session, mandate.id or 0, subs, ends):
        return 0
    key = rules.expiry_key(mandate.id or 0, month, year, due)
    if session.exec(select(Notice.id).where(Notice.kind == EXPIRING, Notice.key == key)).first():
        return 0
    event = events.emit(
        session, at=now, entity="mandate", entity_id=mandate.id or 0, type=rules.EXPIRING_EVENT,
        days=due, ends_at=ends.isoformat(),
        subscription_id=subs[0].id if subs else None,
    )  # fmt: skip
    session.flush()
    session.add(Notice(kind=EXPIRING, key=key, event_id=event.id or 0, created_at=now))
    return 1


def _billable(session: Session, mandate_id: int) -> list[Subscription]:
    query = select(Subscription).where(Subscription.mandate_id == mandate_id)
    query = query.where(col(Subscription.status).in_(materialize.BILLABLE))
    return list(session.exec(query.order_by(col(Subscription.id))).all())


def _charge_after(session: Session, mandate_id: int, subs: list[Subscription],
                  ends: datetime) -> bool:  # fmt: skip
    """Is a charge due on this card at or after it ends?"""
    query = select(Charge.id).where(Charge.mandate_id == mandate_id,
                                    col(Charge.status).in_(OPEN_CHARGES),
                                    col(Charge.next_attempt_at) >= ends)  # fmt: skip
    if session.exec(query).first() is not None:
        return True
    for sub in subs:
        plan = session.get(Plan, sub.plan_id)
        if plan is None or sub.next_charge_at is None or sub.cancel_at_period_end:
            continue
        limit = materialize.cycle_limit(plan)
        if limit is None or calendar.due_at(materialize.rule_for(plan, sub), limit - 1) >= ends:
            return True
    return False
