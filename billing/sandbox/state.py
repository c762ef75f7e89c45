"""The sandbox's in-memory state: entities, indexes, the scheduled transitions and the ledger.

Pure state with its own clock; no HTTP here. Timed transitions (PROCESSING resolving, the
5-minute void, capture at the cutoff) are callbacks on a heap, run lazily by ``tick()`` at the
start of every request and after the clock moves.
"""

from __future__ import annotations

import heapq
import itertools
import secrets
import string
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from billing.sandbox.clock import SandboxClock
from billing.sandbox.config import SandboxConfig
from billing.sandbox.errors import IntentExpired, NotFound
from billing.sandbox.faults import FaultInjector
from billing.sandbox.models import (
    Customer,
    LedgerEntry,
    Mandate,
    Order,
    PaymentIntent,
    PaymentMethod,
    SetupIntent,
)

_SECRET_ALPHABET = string.ascii_letters + string.digits + "^?&*!.-"
Callback = Callable[[datetime], None]


@dataclass(slots=True)
class Stats:
    authorizations: int = 0
    declines: int = 0
    captures: int = 0
    voids: int = 0
    logins_issued: int = 0

    def to_json(self) -> dict[str, int]:
        return {"authorizations": self.authorizations, "declines": self.declines,
                "captures": self.captures, "voids": self.voids,
                "loginsIssued": self.logins_issued}


@dataclass(slots=True)
class IdempotentReply:
    request_hash: str
    expires_at: datetime
    reply: tuple[int, Any]


@dataclass(slots=True)
class RequestRecord:
    seq: int
    method: str
    path: str
    location: str | None
    status: int
    monotonic: float
    epoch: float
    sandbox_time: datetime
    fault: str | None
    hold_s: float = 0.0  # how long its answer was held after Toast acted on it

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "method": self.method, "path": self.path,
                "location": self.location, "status": self.status, "monotonic": self.monotonic,
                "epoch": self.epoch, "sandboxTime": self.sandbox_time.isoformat(),
                "fault": self.fault, "holdS": self.hold_s}


@dataclass(slots=True)
class Tables:
    customers: dict[str, Customer] = field(default_factory=dict)
    setup_intents: dict[str, SetupIntent] = field(default_factory=dict)
    payment_methods: dict[str, PaymentMethod] = field(default_factory=dict)
    payment_intents: dict[str, PaymentIntent] = field(default_factory=dict)
    mandates: dict[str, Mandate] = field(default_factory=dict)
    mandates_by_pm: dict[str, list[str]] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)  # session secret -> intent id
    ledger: dict[str, LedgerEntry] = field(default_factory=dict)  # by payment intent id
    ledger_by_guid: dict[str, list[LedgerEntry]] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    other_payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    idempotency: dict[str, IdempotentReply] = field(default_factory=dict)
    attempts_by_card: dict[str, int] = field(default_factory=dict)  # mandate or card -> attempts
    tokens: dict[str, datetime] = field(default_factory=dict)  # access token -> expiry
    current_token: str | None = None


class SandboxState:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.clock = SandboxClock(config.start)
        self.faults = FaultInjector(config.faults)
        self.locations = frozenset(str(uuid.UUID(loc)) for loc in config.locations)
        self.timezone = ZoneInfo(config.location_timezone)
        self.t = Tables()
        self.stats = Stats()
        self.requests: deque[RequestRecord] = deque(maxlen=config.request_log_limit)
        self._seq = itertools.count()
        self._timers: list[tuple[datetime, int, Callback]] = []

    def reset(self, *, keep_faults: bool = False) -> None:
        self.t = Tables()
        self.stats = Stats()
        self.requests.clear()
        self._timers.clear()
        self.clock.reset()
        if not keep_faults:
            self.faults.configure(self.config.faults)

    # ids and secrets ------------------------------------------------------------------
    @staticmethod
    def new_id() -> str:
        return str(uuid.uuid4())

    def new_secret(self, prefix: str, intent_id: str) -> str:
        tail = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(25))
        secret = f"{prefix}_{intent_id}_SECRET_{tail}"
        self.t.secrets[secret] = intent_id
        return secret

    # timed transitions ----------------------------------------------------------------
    def at(self, when: datetime, callback: Callback) -> None:
        heapq.heappush(self._timers, (when, next(self._seq), callback))

    def tick(self) -> None:
        """Run every transition that is due by the sandbox clock, in time order."""
        timers = self._timers
        if not timers:
            return
        now = self.clock.now()
        while timers and timers[0][0] <= now:
            when, _, callback = heapq.heappop(timers)
            callback(when)

    # lookups --------------------------------------------------------------------------
    def payment_intent(self, location: str | None, intent_id: str) -> PaymentIntent:
        intent = self.t.payment_intents.get(intent_id)
        # ASSUMPTION: an intent is only visible through the location that created it.
        if intent is None or intent.location != location:
            raise NotFound("payment intent does not exist")
        return intent

    def pi_expired(self, intent: PaymentIntent) -> bool:
        ttl = timedelta(seconds=self.config.payment_intent_ttl_s)
        return self.clock.now() >= intent.created_at + ttl

    def setup_intent(self, intent_id: str) -> SetupIntent:
        """The setup intent, or 404 when unknown or past its 30-minute life (documented)."""
        intent = self.t.setup_intents.get(intent_id)
        if intent is None:
            raise NotFound("intent expired / intent does not exist")
        ttl = timedelta(seconds=self.config.setup_intent_ttl_s)
        if self.clock.now() >= intent.created_at + ttl:
            raise IntentExpired("intent expired / intent does not exist")
        return intent

    def payment_method(self, method_id: str) -> PaymentMethod:
        method = self.t.payment_methods.get(method_id)
        if method is None or method.detached:
            raise NotFound("payment method not found")
        return method

    def mandate(self, mandate_id: str) -> Mandate:
        mandate = self.t.mandates.get(mandate_id)
        if mandate is None:
            raise NotFound("mandate not found")
        return mandate

    def customer(self, customer_id: str) -> Customer | None:
        return self.t.customers.get(customer_id)

    def active_mandates(self, method_id: str) -> list[Mandate]:
        ids = self.t.mandates_by_pm.get(method_id, [])
        return [m for m in (self.t.mandates[i] for i in ids) if m.status == "ACTIVE"]

    def add_mandate(self, mandate: Mandate) -> None:
        self.t.mandates[mandate.id] = mandate
        self.t.mandates_by_pm.setdefault(mandate.payment_method_id, []).append(mandate.id)

    # ledger: authorization, application to a check, void, capture ----------------------
    def record_authorization(self, intent: PaymentIntent, when: datetime) -> None:
        card = intent.latest_card or {}
        entry = LedgerEntry(
            guid=intent.external_reference_id, payment_intent_id=intent.id,
            location=intent.location, amount=intent.amount, tip=intent.tip, authorized_at=when,
            off_session=intent.off_session, mandate_id=intent.mandate_id, card=card,
        )
        self.t.ledger[intent.id] = entry
        self.t.ledger_by_guid.setdefault(entry.guid, []).append(entry)
        self.stats.authorizations += 1
        self.at(when + timedelta(seconds=self.config.void_after_s), self._void(intent.id))

    def _void(self, intent_id: str) -> Callback:
        def run(when: datetime) -> None:
            entry = self.t.ledger[intent_id]
            if entry.status != "AUTHORIZED" or entry.order_guid is not None:
                return
            entry.status, entry.voided_at = "VOIDED", when
            # ASSUMPTION: a voided authorization shows as CANCELLED on the payment intent.
            self.t.payment_intents[intent_id].status = "CANCELLED"
            self.stats.voids += 1
        return run

    def apply_to_check(self, entry: LedgerEntry, order_guid: str, check_guid: str) -> None:
        now = self.clock.now()
        entry.order_guid, entry.check_guid, entry.applied_at = order_guid, check_guid, now
        if self.config.capture == "immediate":
            self._capture(entry.payment_intent_id)(now)
        else:
            self.at(self.next_cutoff(now), self._capture(entry.payment_intent_id))

    def _capture(self, intent_id: str) -> Callback:
        def run(when: datetime) -> None:
            entry = self.t.ledger[intent_id]
            if entry.status != "AUTHORIZED":
                return
            entry.status, entry.captured_at = "CAPTURED", when
            # ASSUMPTION: a captured payment shows as SUCCEEDED on the payment intent.
            self.t.payment_intents[intent_id].status = "SUCCEEDED"
            self.stats.captures += 1
        return run

    def next_cutoff(self, after: datetime) -> datetime:
        """The location's next business-day cutoff (local ``cutoff_hour``) strictly after."""
        local = after.astimezone(self.timezone)
        cutoff = local.replace(hour=self.config.cutoff_hour, minute=0, second=0, microsecond=0)
        if cutoff <= local:
            cutoff = (cutoff + timedelta(days=1)).replace(hour=self.config.cutoff_hour)
        return cutoff.astimezone(after.tzinfo)

    def business_date(self, when: datetime) -> int:
        local = when.astimezone(self.timezone) - timedelta(hours=self.config.cutoff_hour)
        return int(local.strftime("%Y%m%d"))

    # request log ----------------------------------------------------------------------
    def record_request(
        self, method: str, path: str, location: str | None, status: int,
        mono: float, epoch: float, fault: str | None, hold_s: float = 0.0,
    ) -> None:
        self.requests.append(RequestRecord(
            seq=next(self._seq), method=method, path=path, location=location, status=status,
            monotonic=mono, epoch=epoch, sandbox_time=self.clock.now(), fault=fault,
            hold_s=hold_s,
        ))
