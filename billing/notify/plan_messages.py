"""Per-plan message settings (``notify.plans``, keyed by plan code) over the global ones."""

from __future__ import annotations

from sqlmodel import Session

from billing.notify.rules import Kind
from billing.settings import NotifySettings
from billing.store.tables import Charge, Event, Plan, Subscription


def kinds_off(plan_code: str | None, notify: NotifySettings) -> frozenset[str]:
    own = notify.plans.get(plan_code or "")
    if own is not None and own.kinds_off is not None:
        return frozenset(own.kinds_off)
    return frozenset(notify.kinds_off)


def reminder_days(plan_code: str | None, notify: NotifySettings) -> int:
    own = notify.plans.get(plan_code or "")
    return own.reminder_days if own is not None and own.reminder_days else notify.reminder_days


def plan_code(session: Session, event: Event) -> str | None:
    """The code of the plan an event is about (None: a one-off or a card)."""
    sub_id: object = None
    if event.entity == "subscription":
        sub_id = event.entity_id
    elif event.entity == "charge":
        charge = session.get(Charge, event.entity_id)
        sub_id = charge.subscription_id if charge else None
    else:
        sub_id = event.data.get("subscription_id")
    sub = session.get(Subscription, int(str(sub_id))) if sub_id else None
    plan = session.get(Plan, sub.plan_id) if sub else None
    return plan.code if plan else None


def kind_on(session: Session, event: Event, kind: Kind, notify: NotifySettings) -> bool:
    return kind not in kinds_off(plan_code(session, event), notify)
