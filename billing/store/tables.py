"""The tables of the schedule store.

Money invariants are structural: each rule that keeps money safe is a *named* constraint, and
``billing.store.integrity`` maps those names to domain errors. Status columns are plain strings
holding the values of the enums in ``billing.domain.states`` (no database enum types, so the
same migration runs on SQLite and PostgreSQL). Instants are ``UTCDateTime``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from billing.store.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata = SQLModel.metadata

# Statuses a charge can be claimed from (it is due and nothing is in flight). The predicate is
# literal SQL shared by the partial index and the due query: planners use a partial index only
# when the query repeats its WHERE clause.
CLAIMABLE_CHARGE_STATES = ("scheduled", "retry_scheduled")
CLAIMABLE_PREDICATE = "status IN ({})".format(", ".join(f"'{s}'" for s in CLAIMABLE_CHARGE_STATES))
# Subscriptions the calendar still bills (materialize, the forecast, the next wake-up).
BILLABLE_SUBSCRIPTION_STATES = ("active", "past_due")
BILLABLE_PREDICATE = "status IN ({})".format(
    ", ".join(f"'{s}'" for s in BILLABLE_SUBSCRIPTION_STATES)
)
# Mandates the engine may still charge or revoke (the reconciler's ended-purpose scan).
LIVE_MANDATE_PREDICATE = "status = 'active' AND toast_mandate_id IS NOT NULL"
# Live mandates whose purpose a business package has declared ended (``door.end_purpose``).
PURPOSE_ENDED_PREDICATE = (
    "status = 'active' AND toast_mandate_id IS NOT NULL AND purpose_ended_at IS NOT NULL"
)
PENDING_ENROLLMENT_PREDICATE = "status = 'pending'"


def _utc(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def _status(default: str) -> Any:
    return Field(default=default, sa_type=String(32), max_length=32)


class Customer(SQLModel, table=True):
    """``email_key`` is the email in lower case, unique: one customer per address. It is null
    only on rows that migration 0003 found sharing an address with an older customer (their
    lookups by email are refused as ambiguous)."""

    __tablename__ = "customer"
    __table_args__ = (
        UniqueConstraint("external_ref", name="uq_customer_external_ref"),
        UniqueConstraint("email_key", name="uq_customer_email_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254)
    email_key: str | None = Field(default=None, max_length=254)
    name: str = Field(default="", max_length=200)
    external_ref: str | None = Field(default=None, max_length=200)
    toast_customer_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = _utc()


class Mandate(SQLModel, table=True):
    """A customer's authorization to charge a card-on-file (never the card number itself)."""

    __tablename__ = "mandate"
    __table_args__ = (
        UniqueConstraint("toast_mandate_id", name="uq_mandate_toast_mandate_id"),
        Index("ix_mandate_customer_id", "customer_id"),
        # Active mandates only: revoked and expired ones (history) are never scanned.
        Index(
            "ix_mandate_live",
            "id",
            sqlite_where=text(LIVE_MANDATE_PREDICATE),
            postgresql_where=text(LIVE_MANDATE_PREDICATE),
        ),
        Index(
            "ix_mandate_purpose_ended",
            "id",
            sqlite_where=text(PURPOSE_ENDED_PREDICATE),
            postgresql_where=text(PURPOSE_ENDED_PREDICATE),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id")
    location_guid: str = Field(max_length=64)
    standing_instruction: str = Field(sa_type=String(16), max_length=16)
    status: str = _status("pending_setup")
    toast_mandate_id: str | None = Field(default=None, max_length=64)
    toast_payment_method_id: str | None = Field(default=None, max_length=64)
    setup_intent_id: str | None = Field(default=None, max_length=64)
    card_brand: str | None = Field(default=None, max_length=32)
    card_last4: str | None = Field(default=None, max_length=4)
    card_exp_month: int | None = None
    card_exp_year: int | None = None
    replaced_by_id: int | None = Field(default=None, foreign_key="mandate.id")
    created_at: datetime = _utc()
    revoked_at: datetime | None = _utc(nullable=True)
    # Set by the business package that owns the consent when its purpose ends (an event paid
    # in full, a reservation closed): the engine revokes the mandate once nothing is in flight.
    purpose_ended_at: datetime | None = _utc(nullable=True)


class Plan(SQLModel, table=True):
    """What is sold: a recurring amount, an installment total, or an unscheduled fee template.

    A plan is versioned: ``billing plans update`` writes version N+1 with the same code;
    subscriptions keep pointing at the version they were sold.
    """

    __tablename__ = "plan"
    __table_args__ = (UniqueConstraint("code", "version", name="uq_plan_code_version"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64)
    version: int = 1
    name: str = Field(max_length=200)
    kind: str = Field(sa_type=String(16), max_length=16)
    amount_cents: int | None = None
    total_cents: int | None = None
    installments: int | None = None
    interval_unit: str | None = Field(default=None, sa_type=String(8), max_length=8)
    interval_count: int = 1
    max_cycles: int | None = None
    anchor_day: int | None = None
    timezone: str = Field(default="America/New_York", max_length=64)
    local_time: str = Field(default="10:00", max_length=5)
    location_guid: str = Field(max_length=64)
    check_item: str = Field(default="Subscription", max_length=200)
    dunning_retry_days: list[int] | None = Field(default=None, sa_type=JSON)
    active: bool = True
    created_at: datetime = _utc()


class Subscription(SQLModel, table=True):
    __tablename__ = "subscription"
    __table_args__ = (
        Index("ix_subscription_status", "status"),
        Index("ix_subscription_next_charge_at", "next_charge_at"),
        Index("ix_subscription_customer_id", "customer_id"),
        Index("ix_subscription_mandate_id_status", "mandate_id", "status"),
        # Materialize's scan: billable subscriptions whose next charge enters the horizon. The
        # id and status make it an index-only scan: due members are spread over the whole table.
        Index(
            "ix_subscription_billable",
            "next_charge_at",
            "id",
            "status",
            sqlite_where=text(BILLABLE_PREDICATE),
            postgresql_where=text(BILLABLE_PREDICATE),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id")
    plan_id: int = Field(foreign_key="plan.id")
    mandate_id: int | None = Field(default=None, foreign_key="mandate.id")
    status: str = _status("pending_mandate")
    anchor_date: date
    anchor_day: int | None = None
    timezone: str = Field(max_length=64)
    amount_cents: int | None = None  # overrides the plan's amount for future cycles
    next_cycle: int = 0  # materialization cursor: the next cycle without a charge row
    next_charge_at: datetime | None = _utc(nullable=True)  # due time of next_cycle; None: done
    cycles_paid: int = 0
    cancel_at_period_end: bool = False
    created_at: datetime = _utc()
    cancelled_at: datetime | None = _utc(nullable=True)


class Charge(SQLModel, table=True):
    """One amount due on one date. (subscription, cycle) is unique; one-offs have no cycle."""

    __tablename__ = "charge"
    __table_args__ = (
        UniqueConstraint("subscription_id", "cycle", name="uq_charge_subscription_cycle"),
        UniqueConstraint("request_key", name="uq_charge_request_key"),
        # "charges due before T, unclaimed or lease expired" is a range scan of this index.
        Index(
            "ix_charge_due",
            "next_attempt_at",
            sqlite_where=text(CLAIMABLE_PREDICATE),
            postgresql_where=text(CLAIMABLE_PREDICATE),
        ),
        # Leases that may have expired (the reclaim / reconcile scan).
        Index(
            "ix_charge_lease",
            "lease_expires_at",
            sqlite_where=text("lease_expires_at IS NOT NULL"),
            postgresql_where=text("lease_expires_at IS NOT NULL"),
        ),
        Index("ix_charge_mandate_id_status", "mandate_id", "status"),
        # The narrow door (``billing.store.door``): one charge per business object and key.
        UniqueConstraint("source", "source_key", name="uq_charge_source_source_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int | None = Field(default=None, foreign_key="subscription.id")
    cycle: int | None = None
    mandate_id: int = Field(foreign_key="mandate.id")
    kind: str = Field(sa_type=String(16), max_length=16)
    amount_cents: int
    currency: str = Field(default="USD", max_length=3)
    location_guid: str = Field(max_length=64)
    check_item: str = Field(default="Subscription", max_length=200)
    reason: str | None = Field(default=None, max_length=200)
    request_key: str | None = Field(default=None, max_length=64)
    # Which business package made the charge ("club", "event", "reservation") and its key
    # there; both null for the engine's own subscription and one-off charges.
    source: str | None = Field(default=None, sa_type=String(16), max_length=16)
    source_key: str | None = Field(default=None, max_length=128)
    status: str = _status("scheduled")
    due_at: datetime = _utc()
    next_attempt_at: datetime = _utc()
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_expires_at: datetime | None = _utc(nullable=True)
    attempt_count: int = 0
    decline_count: int = 0
    first_declined_at: datetime | None = _utc(nullable=True)
    last_decline_code: str | None = Field(default=None, max_length=64)
    created_at: datetime = _utc()
    settled_at: datetime | None = _utc(nullable=True)


class Attempt(SQLModel, table=True):
    """One try at a charge. Its identifiers are committed before any request uses them."""

    __tablename__ = "attempt"
    __table_args__ = (
        UniqueConstraint("charge_id", "number", name="uq_attempt_charge_number"),
        UniqueConstraint("external_reference_id", name="uq_attempt_external_reference_id"),
        UniqueConstraint("toast_intent_id", name="uq_attempt_toast_intent_id"),
        # At most one unsettled attempt per charge.
        Index(
            "uq_attempt_one_unsettled",
            "charge_id",
            unique=True,
            sqlite_where=text("settled_at IS NULL"),
            postgresql_where=text("settled_at IS NULL"),
        ),
        # The reconciler's scan: unsettled attempts whose next read-back is due.
        Index(
            "ix_attempt_recheck",
            "next_check_at",
            sqlite_where=text("settled_at IS NULL"),
            postgresql_where=text("settled_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    charge_id: int = Field(foreign_key="charge.id")
    number: int
    external_reference_id: str = Field(max_length=36)
    worker: str | None = Field(default=None, max_length=64)  # the lease owner that started it
    status: str = _status("started")
    toast_intent_id: str | None = Field(default=None, max_length=64)
    # Needed to confirm after a crash; never logged or printed (see billing.toast redaction).
    session_secret: str | None = Field(default=None, max_length=200)
    order_guid: str | None = Field(default=None, max_length=64)
    decline_type: str | None = Field(default=None, max_length=32)
    decline_code: str | None = Field(default=None, max_length=64)
    error: str | None = Field(default=None, max_length=500)
    check_count: int = 0
    next_check_at: datetime | None = _utc(nullable=True)
    # Toast voids an authorization not applied to a check by then (confirm sent + 5 min).
    apply_deadline_at: datetime | None = _utc(nullable=True)
    # The live worker working on the attempt right now; its heartbeat renews next_check_at.
    held_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = _utc()
    updated_at: datetime = _utc()
    settled_at: datetime | None = _utc(nullable=True)


class Event(SQLModel, table=True):
    """Append-only audit log and outbox, written in the same transaction as the change."""

    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_entity", "entity", "entity_id"),
        Index("ix_event_at", "at"),
        Index(
            "ix_event_undispatched",
            "id",
            sqlite_where=text("dispatched_at IS NULL"),
            postgresql_where=text("dispatched_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _utc()
    entity: str = Field(max_length=32)
    entity_id: int
    type: str = Field(max_length=64)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    # The outbox mark: NULL until the dispatcher has turned the event into its messages (in
    # one transaction). A mark, not a cursor: PostgreSQL commits ids out of order.
    dispatched_at: datetime | None = _utc(nullable=True)


class EngineState(SQLModel, table=True):
    """Small shared facts of the engine, one row per name: when a once-per-pass job (such as
    materialize) last ran, so other workers skip it (see ``billing.engine.materialize``)."""

    __tablename__ = "engine_state"

    name: str = Field(primary_key=True, max_length=64)
    ran_at: datetime = _utc()
    owner: str = Field(default="", max_length=64)


class LocationLease(SQLModel, table=True):
    """Which worker sends to a location now, until when (``billing.engine.ownership``), and
    what the location was sent in the last 15 minutes, for the next owner's limiter: ``sends``
    is ``[[epoch second a 10 s bucket ends, requests completed in it], ...]``, written at
    ``logged_at``."""

    __tablename__ = "location_lease"

    location_guid: str = Field(primary_key=True, max_length=64)
    owner: str | None = Field(default=None, max_length=64)
    expires_at: datetime = _utc()
    sends: list[list[int]] = Field(default_factory=list, sa_type=JSON)
    logged_at: datetime = _utc()


class EngineWorker(SQLModel, table=True):
    """A live ``billing run`` worker (its heartbeat pushes ``alive_until``): locations are
    split among the live ones."""

    __tablename__ = "engine_worker"

    owner: str = Field(primary_key=True, max_length=64)
    alive_until: datetime = _utc()


class ToastToken(SQLModel, table=True):
    """The one Toast access token shared by every worker process (see billing.toast.auth)."""

    __tablename__ = "toast_token"

    key: str = Field(primary_key=True, max_length=64)
    access_token: str = Field(max_length=4000)
    expires_at: datetime = _utc()


class Enrollment(SQLModel, table=True):
    """One customer's trip through the hosted checkout: the intent our server created, the
    pending mandate (and subscription) it will activate, and what became of it.

    The session secret is never stored: it is read back from Toast when the website needs it.
    """

    __tablename__ = "enrollment"
    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_enrollment_idempotency_key"),
        Index("ix_enrollment_status", "status"),
        Index(
            "ix_enrollment_pending",
            "created_at",
            sqlite_where=text(PENDING_ENROLLMENT_PREDICATE),
            postgresql_where=text(PENDING_ENROLLMENT_PREDICATE),
        ),
    )

    id: str = Field(primary_key=True, max_length=36)
    idempotency_key: str = Field(max_length=200)
    request_hash: str = Field(max_length=64)
    purpose: str = Field(sa_type=String(16), max_length=16)  # subscribe | fee | replace_card
    customer_id: int = Field(foreign_key="customer.id")
    plan_id: int | None = Field(default=None, foreign_key="plan.id")
    fee_purpose: str | None = Field(default=None, max_length=200)
    subscription_id: int | None = Field(default=None, foreign_key="subscription.id")
    mandate_id: int = Field(foreign_key="mandate.id")
    replaces_mandate_id: int | None = Field(default=None, foreign_key="mandate.id")
    location_guid: str = Field(max_length=64)
    save_card: bool = False  # also save the card to a Toast customer record
    intent_kind: str = Field(default="setup", sa_type=String(16), max_length=16)
    intent_id: str | None = Field(default=None, max_length=64)
    status: str = _status("pending")
    error: str | None = Field(default=None, max_length=500)
    created_at: datetime = _utc()
    expires_at: datetime | None = _utc(nullable=True)
    completed_at: datetime | None = _utc(nullable=True)


class Location(SQLModel, table=True):
    """A Toast location (restaurant) as staff call it: every list shows the name, not the GUID."""

    __tablename__ = "location"
    __table_args__ = (UniqueConstraint("name", name="uq_location_name"),)

    guid: str = Field(primary_key=True, max_length=36)
    name: str = Field(max_length=100)
    timezone: str = Field(default="America/New_York", max_length=64)
    created_at: datetime = _utc()


# Message states from which a dispatcher may claim a message (see billing.notify.outbox).
DUE_MESSAGE_PREDICATE = "status IN ('pending', 'claimed')"


class Message(SQLModel, table=True):
    """One message to one recipient over one channel, derived from one event (the outbox).

    (event, channel, recipient) is unique: a message is created once, whoever scans the event.
    ``context`` holds the facts as they were when the event was dispatched (amount, card brand
    and last four, reason, links); never a card number or a secret.
    """

    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint(
            "event_id", "channel", "recipient", name="uq_message_event_channel_recipient"
        ),
        Index(
            "ix_message_due",
            "next_attempt_at",
            sqlite_where=text(DUE_MESSAGE_PREDICATE),
            postgresql_where=text(DUE_MESSAGE_PREDICATE),
        ),
        Index("ix_message_customer_id", "customer_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id")
    channel: str = Field(sa_type=String(16), max_length=16)
    recipient: str = Field(max_length=254)
    kind: str = Field(sa_type=String(32), max_length=32)
    customer_id: int | None = Field(default=None, foreign_key="customer.id")
    status: str = _status("pending")
    context: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    subject: str | None = Field(default=None, max_length=300)
    attempts: int = 0
    next_attempt_at: datetime = _utc()
    claim_owner: str | None = Field(default=None, max_length=64)
    claimed_at: datetime | None = _utc(nullable=True)
    provider_id: str | None = Field(default=None, max_length=200)  # the email's Message-ID
    error: str | None = Field(default=None, max_length=500)
    created_at: datetime = _utc()
    updated_at: datetime = _utc()
    sent_at: datetime | None = _utc(nullable=True)


class Notice(SQLModel, table=True):
    """A notice the dispatcher decided to give (a reminder before a charge): (kind, key) is
    unique, so a scan repeated by any number of dispatchers creates its event once."""

    __tablename__ = "notice"
    __table_args__ = (UniqueConstraint("kind", "key", name="uq_notice_kind_key"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_type=String(32), max_length=32)
    key: str = Field(max_length=120)
    event_id: int = Field(foreign_key="event.id")
    created_at: datetime = _utc()
