"""Per-plan message settings: which kinds go out for a plan, and its reminder days.

Three layers, the nearest wins, field by field and kind by kind:

1. what staff set for the plan in the store (``billing plans messages CODE``, table
   ``plan_message_settings``, keyed by plan code: every version);
2. the plan's entry in the configuration (``notify.plans.CODE``: ``kinds_off`` replaces the
   global list, ``reminder_days`` the global days);
3. the global configuration (``notify.kinds_off``, ``notify.reminder_days``).

So the configuration holds the defaults and the store overrides them per plan. A kind switched
off for a plan is not sent to its members at all, receipts and required notices included (a
member cannot refuse those, a merchant can): a charge whose required notice was therefore not
sent is held (``billing.store.notices``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from billing.manage import plans
from billing.notify.rules import Kind
from billing.settings import NotifySettings
from billing.store.tables import Charge, Event, Plan, PlanMessageSettings, Subscription

# The kinds a plan's members get (release and milestone notices belong to clubs and events).
PLAN_KINDS = (Kind.RECEIPT, Kind.REMINDER, Kind.DECLINE, Kind.FINAL_FAILURE,
              Kind.CANCELLATION, Kind.EXPIRING_CARD)  # fmt: skip
STORE, CONFIG, DEFAULT = "plan", "config (notify.plans)", "config (notify)"


@dataclass(frozen=True, slots=True, kw_only=True)
class Effective:
    """A plan's message settings in force, and where each came from."""

    kinds_off: frozenset[str]
    reminder_days: int
    kind_from: dict[str, str]
    days_from: str


def resolve(code: str | None, notify: NotifySettings, own: PlanMessageSettings | None) -> Effective:
    """The settings in force for plan ``code`` (pure: the stored row is passed in)."""
    conf = notify.plans.get(code or "")
    base = conf.kinds_off if conf is not None and conf.kinds_off is not None else notify.kinds_off
    base_from = CONFIG if conf is not None and conf.kinds_off is not None else DEFAULT
    stored = own.kinds if own is not None else {}
    off = {k for k in Kind if (not stored[k] if k in stored else k in base)}
    kind_from = {k.value: STORE if k in stored else base_from for k in Kind}
    if own is not None and own.reminder_days:
        days, days_from = own.reminder_days, STORE
    elif conf is not None and conf.reminder_days:
        days, days_from = conf.reminder_days, CONFIG
    else:
        days, days_from = notify.reminder_days, DEFAULT
    return Effective(kinds_off=frozenset(off), reminder_days=days, kind_from=kind_from,
                     days_from=days_from)  # fmt: skip


def stored(session: Session) -> dict[str, PlanMessageSettings]:
    """Every plan's stored settings, by plan code (a small table: read once per scan)."""
    return {row.plan_code: row for row in session.exec(select(PlanMessageSettings)).all()}


def effective(session: Session, code: str | None, notify: NotifySettings) -> Effective:
    own = session.get(PlanMessageSettings, code) if code else None
    return resolve(code, notify, own)


def set_for_plan(
    session: Session, code: str, *, kinds: dict[str, bool | None], reminder_days: int | None,
    reset_days: bool = False, now: datetime,
) -> PlanMessageSettings:  # fmt: skip
    """Store staff's settings for plan ``code``: a kind set to True/False is on/off for the
    plan, None goes back to the configuration; ``reminder_days`` replaces the days (and
    ``reset_days`` clears them)."""
    plans.get(session, code)  # NotFound for an unknown plan
    row = session.get(PlanMessageSettings, code) or PlanMessageSettings(plan_code=code)
    merged = dict(row.kinds)
    for kind, on in kinds.items():
        if on is None:
            merged.pop(kind, None)
        else:
            merged[kind] = on
    row.kinds = merged  # a new dict: the JSON column sees the change
    if reset_days:
        row.reminder_days = None
    elif reminder_days is not None:
        row.reminder_days = reminder_days
    row.updated_at = now
    session.add(row)
    session.flush()
    return row


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
    return kind not in effective(session, plan_code(session, event), notify).kinds_off
