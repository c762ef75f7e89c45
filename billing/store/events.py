"""The append-only event log, written in the same transaction as the change it records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from billing.store.tables import Event


def emit(
    session: Session, *, at: datetime, entity: str, entity_id: int, type: str, **data: Any
) -> Event:
    row = Event(at=at, entity=entity, entity_id=entity_id, type=type, data=data)
    session.add(row)
    return row
