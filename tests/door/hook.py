"""A business package's hook module for the door tests: records what the engine told it, ends
the mandate's purpose when the charge is paid, and retries declines after one day only."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlmodel import Session

from billing.domain.dunning import DunningPolicy
from billing.store import door
from billing.store.tables import Charge

TOLD: list[tuple[str, str]] = []


def policy(session: Session, charge: Charge, default: DunningPolicy) -> DunningPolicy:
    return replace(default, retry_days=(1,), final_action="skip")


def changed(session: Session, charge: Charge, what: str, now: datetime) -> None:
    TOLD.append((charge.source_key or "", what))
    if what == "paid":
        door.end_purpose(session, charge.mandate_id, now=now)
