"""The reminder scan: charges coming up within their reminder days get one ``reminder_due`` event
each, committed with a ``notice`` row whose (kind, key) is unique, so however many dispatchers
scan, a cycle is reminded once. The charges come from the same forecast as ``billing
upcoming`` (materialized charges and the cycles the calendar will produce)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from billing.domain import notice
from billing.manage import forecast
from billing.notify import plan_messages, rules
from billing.settings import NotifySettings
from billing.store import events, notices
from billing.store.db import Store
from billing.store.tables import Charge, Notice

REMINDER = "reminder"


def scan(store: Store, *, now: datetime, notify: NotifySettings) -> int:
    """Create the reminder events now due; returns how many were created. Each plan's
    reminder days come from ``billing.notify.plan_messages`` (the plan's stored settings, then
    ``notify.plans``, then ``notify.reminder_days``); a charge that needs a required notice
    (``billing.domain.notice``) is reminded ``REQUIRED_LEAD_DAYS`` before, at the latest, and
    its event says ``required``."""
    with store.transaction() as session:
        own = plan_messages.stored(session)
        horizon = max([notify.reminder_days, notice.REQUIRED_LEAD_DAYS]
                      + [p.reminder_days for p in notify.plans.values() if p.reminder_days]
                      + [p.reminder_days for p in own.values() if p.reminder_days])
        items = [i for i in _upcoming(session, now, horizon) if i.subscription_id is not None]
        keys = {rules.reminder_key(i.subscription_id or 0, i.cycle or 0): i for i in items}
        if not keys:
            return 0
        done = set(session.exec(select(Notice.key).where(
            Notice.kind == REMINDER, col(Notice.key).in_(list(keys)))).all())  # fmt: skip
        created = 0
        for key, item in keys.items():
            if key in done:
                continue
            why = notices.required(session, subscription_id=item.subscription_id or 0,
                                   cycle=item.cycle or 0, amount_cents=item.amount_cents)
            setting = plan_messages.resolve(item.plan, notify, own.get(item.plan or ""))
            days = notice.reminder_days(setting.reminder_days, required=why is not None)
            if not rules.reminder_due(due_at=item.due_at, now=now, days=days):
                continue
            event = events.emit(
                session, at=now, entity="subscription", entity_id=item.subscription_id or 0,
                type=rules.REMINDER_EVENT, cycle=item.cycle, due_at=item.due_at.isoformat(),
                amount_cents=item.amount_cents, required=why is not None, required_why=why,
            )  # fmt: skip
            session.flush()
            session.add(Notice(kind=REMINDER, key=key, event_id=event.id or 0, created_at=now))
            created += 1
        return created


def _upcoming(session: Session, now: datetime, days: int) -> list[forecast.Upcoming]:
    """First attempts of cycles due within ``days`` (a retry is told by the decline notice)."""
    items = forecast.upcoming(session, now=now, days=days).items
    retried = _retried(session, [i.charge_id for i in items if i.charge_id is not None])
    return [i for i in items if i.charge_id not in retried and now < i.due_at]


def _retried(session: Session, charge_ids: list[int]) -> set[int | None]:
    if not charge_ids:
        return set()
    query = select(Charge.id).where(col(Charge.id).in_(charge_ids), col(Charge.decline_count) > 0)
    return set(session.exec(query).all())
