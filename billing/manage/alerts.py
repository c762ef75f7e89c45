"""What the engine itself reports for a human: authorizations Toast voided anyway, and a Toast
login that is not allowed yet (read from the attempt table and the engine's events); and what a
business package raised for staff (an event of type ``attention``: kind, subject, detail)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from billing.domain.states import AttemptStatus
from billing.store.tables import Attempt, Event

RECENT = timedelta(days=7)
ATTENTION = "attention"  # an event type any package emits to alert staff at once


@dataclass(frozen=True, slots=True)
class Alert:
    at: datetime
    kind: str
    subject: str
    detail: str


def engine_alerts(session: Session, *, now: datetime) -> list[Alert]:
    return [*_voided(session, now), *_login(session), *_raised(session, now)]


def _raised(session: Session, now: datetime) -> list[Alert]:
    rows = session.exec(
        select(Event).where(Event.type == ATTENTION, col(Event.at) >= now - RECENT)
        .order_by(col(Event.id))
    ).all()  # fmt: skip
    return [
        Alert(at=e.at, kind=str(e.data.get("kind", e.entity)),
              subject=str(e.data.get("subject", f"{e.entity} {e.entity_id}")),
              detail=str(e.data.get("detail", "")))
        for e in rows
    ]  # fmt: skip


def _voided(session: Session, now: datetime) -> list[Alert]:
    rows = session.exec(
        select(Attempt)
        .where(Attempt.status == AttemptStatus.VOIDED)
        .where(col(Attempt.updated_at) >= now - RECENT)
        .order_by(col(Attempt.updated_at))
    ).all()
    return [
        Alert(
            at=a.updated_at, kind="authorization voided", subject=f"charge {a.charge_id}",
            detail=a.error or "voided by Toast",
        )
        for a in rows
    ]


def _login(session: Session) -> list[Alert]:
    """A worker's last login event, when it says the login is not allowed."""
    rows = session.exec(
        select(Event).where(Event.entity == "engine").order_by(col(Event.id).desc()).limit(50)
    ).all()
    latest: dict[str, Event] = {}
    for event in rows:
        latest.setdefault(str((event.data or {}).get("worker", "")), event)
    return [
        Alert(at=e.at, kind="toast login not allowed", subject=str(worker),
              detail=f"until {(e.data or {}).get('until', '?')}: no new charges meanwhile")
        for worker, e in latest.items()
        if e.type == "login_unavailable"
    ]  # fmt: skip
