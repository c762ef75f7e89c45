"""What the charger needs to collect one charge: a frozen value read in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargeJob:
    charge_id: int
    attempt_id: int
    attempt_number: int
    external_reference_id: str
    amount_cents: int
    location_guid: str
    toast_mandate_id: str
    payment_method_id: str | None
    toast_customer_id: str | None
    email: str
    check_item: str
    attempt_status: str = "started"
    intent_id: str | None = None
    session_secret: str | None = field(default=None, repr=False)  # never printed
    apply_deadline_at: datetime | None = None
    # Set when this worker saw the authorization itself and has sent no apply yet, so the
    # "already on a check?" lookup can be skipped.
    known_unapplied: bool = False
    # The mandate already records the card's expiry (else the engine records what Toast says).
    card_known: bool = True
