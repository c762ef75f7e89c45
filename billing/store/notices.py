"""Required notices in the store: which charges need one (``billing.domain.notice``), and
whether it went out in time. The reminder scan asks the first question, the engine both: a
charge whose required reminder was not sent at least 7 days before it is due is held. Reads
the outbox's rows (``notice``, ``message``) without importing the package that writes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from billing.domain import notice
from billing.domain.states import PlanKind
from billing.store.tables import Charge, Event, Message, Notice, Plan, Subscription

REMINDER = "reminder"  # the notice kind and message kind of reminders
EMAIL = "email"
SENT = "sent"
RECURRING = PlanKind.RECURRING
OVERRIDE = "retry_requested"  # a person released the held charge: it goes without the notice


@dataclass(frozen=True, slots=True, kw_only=True)
class Due:
    charge_id: int
    subscription_id: int
    cycle: int
    due_at: datetime
    why: str


def required(
    session: Session, *, subscription_id: int, cycle: int, amount_cents: int
) -> str | None:
    """Why the cycle's charge needs a required notice, or None."""
    sub = session.get(Subscription, subscription_id)
    plan = session.get(Plan, sub.plan_id) if sub else None
    if plan is None:
        return None
    previous = None
    if cycle > 0:
        query = select(Charge.amount_cents).where(
            Charge.subscription_id == subscription_id, Charge.cycle == cycle - 1
        )
        previous = session.exec(query).first()
        if previous is None:  # not materialized: the plan's (or the member's) amount then
            previous = sub.amount_cents if sub and sub.amount_cents else plan.amount_cents
    return notice.required_reason(amount_cents=amount_cents, previous_cents=previous,
                                  unit=plan.interval_unit, count=plan.interval_count,
                                  recurring=plan.kind == RECURRING,
                                  trial_days=plan.trial_days)  # fmt: skip


# Built once: constructing it (the aliased join) cost more CPU than running it, on every
# claimed batch (engine profile, ``bench/throughput.py``).
_PREV = aliased(Charge)
_NEEDING = (
    sa_select(col(Charge.id), col(Charge.subscription_id), col(Charge.cycle),
              col(Charge.due_at), col(Charge.amount_cents), col(_PREV.amount_cents),
              col(Plan.interval_unit), col(Plan.interval_count), col(Plan.kind),
              col(Plan.trial_days))
    .join(Subscription, col(Subscription.id) == col(Charge.subscription_id))
    .join(Plan, col(Plan.id) == col(Subscription.plan_id))
    .outerjoin(_PREV, (col(_PREV.subscription_id) == col(Charge.subscription_id))
               & (col(_PREV.cycle) == col(Charge.cycle) - 1))
    .where(col(Charge.id).in_(bindparam("ids", expanding=True)),
           col(Charge.attempt_count) == 0, col(Charge.decline_count) == 0,
           col(Charge.cycle).is_not(None))
)  # fmt: skip


def _needing(session: Session, charge_ids: list[int]) -> list[Due]:
    """The first attempts among ``charge_ids`` that need a required notice (one query)."""
    out = []
    for cid, sid, cycle, due_at, amount, previous, unit, count, kind, trial in session.execute(
        _NEEDING, {"ids": charge_ids}
    ):
        before = None if cycle == 0 else (previous if previous is not None else amount)
        why = notice.required_reason(amount_cents=amount, previous_cents=before, unit=unit,
                                     count=count, recurring=kind == RECURRING,
                                     trial_days=trial)  # fmt: skip
        if why is not None:
            out.append(Due(charge_id=cid, subscription_id=sid, cycle=cycle, due_at=due_at, why=why))
    return out


def sent_at(session: Session, subscription_id: int, cycle: int) -> datetime | None:
    """When the cycle's reminder email was accepted by the relay, or None."""
    key = notice.reminder_key(subscription_id, cycle)
    query = (
        select(Message.sent_at)
        .join(Notice, col(Notice.event_id) == col(Message.event_id))
        .where(Notice.kind == REMINDER, Notice.key == key, Message.channel == EMAIL,
               Message.status == SENT)
    )
    return session.exec(query).first()


def _released(session: Session, charge_id: int) -> bool:
    query = select(Event.id).where(Event.entity == "charge", Event.entity_id == charge_id,
                                   Event.type == OVERRIDE)  # fmt: skip
    return session.exec(query).first() is not None


def unmet(session: Session, charge_ids: list[int]) -> dict[int, str]:
    """The charges among ``charge_ids`` to hold: a required notice not sent in time."""
    if not charge_ids:
        return {}
    held = {}
    for due in _needing(session, charge_ids):
        when = sent_at(session, due.subscription_id, due.cycle)
        if notice.in_time(sent_at=when, due_at=due.due_at) or _released(session, due.charge_id):
            continue
        held[due.charge_id] = (
            f"required notice not sent {notice.NOTICE_DAYS} days before ({due.why}): "
            "tell the member, then billing charges retry ID, or cancel ID"
        )
    return held
