"""Sandbox configuration: a frozen value built once and handed to the state and the server."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from billing.sandbox.faults import FaultSettings
from billing.settings import DEFAULT_LOCATION, PLACEHOLDER_SECRET


@dataclass(frozen=True, slots=True, kw_only=True)
class Assumptions:
    """Knobs for behaviour Toast does not document (see ``billing sandbox assumptions``)."""

    payment_intent_create_status: int = 200
    expired_payment_intent_get_status: Literal[200, 404] = 200
    unknown_location_status: Literal[401, 403] = 403
    mandates_per_location: bool = True
    revoke_inactive_mandate_status: Literal[204, 404] = 204
    idempotency_ttl_s: int = 86_400
    require_session_secret_on_pi_confirm: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class SandboxConfig:
    locations: tuple[str, ...] = (DEFAULT_LOCATION,)
    client_id: str = "sandbox-client"
    client_secret: str = PLACEHOLDER_SECRET
    test_mode: bool = True
    rate_per_second: float = 20.0
    rate_per_15min: int = 10_000
    token_ttl_s: int = 86_400
    capture: Literal["immediate", "cutoff"] = "immediate"
    cutoff_hour: int = 4
    location_timezone: str = "America/New_York"
    void_after_s: int = 300
    payment_intent_ttl_s: int = 86_400
    setup_intent_ttl_s: int = 1_800
    processing_card_delay_s: int = 30
    decline_first_n: int = 2
    host: str = "127.0.0.1"
    port: int = 0
    start: datetime | None = None
    faults: FaultSettings = field(default_factory=lambda: FaultSettings())
    assumptions: Assumptions = field(default_factory=Assumptions)
    request_log_limit: int = 200_000

    def __post_init__(self) -> None:
        if not self.locations:
            raise ValueError("the sandbox needs at least one location")
        if self.start is not None and self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if self.rate_per_second <= 0 or self.rate_per_15min <= 0:
            raise ValueError("rate limits must be positive")
