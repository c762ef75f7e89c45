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
    # Days from enrollment to the first charge (0: none). The first charge after a trial
    # longer than 7 days needs the required notice (billing.domain.notice).
    trial_days: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
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
    # Webhooks only: retried until this instant, then a dead letter (email: attempts bound it).
    retry_until: datetime | None = _utc(nullable=True)


class ApiRequest(SQLModel, table=True):
    """A website API request done under an Idempotency-Key, with its response: a repeat of the
    key answers it (``billing.enroll.idempotency``; the wine-club member routes)."""

    __tablename__ = "api_request"
    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_api_request_idempotency_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=200)
    request_hash: str = Field(max_length=64)
    response: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = _utc()


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


class PlanMessageSettings(SQLModel, table=True):
    """A plan's message settings set by staff (``billing plans messages``), keyed by plan code
    (every version). Unset fields fall back to the configuration (``notify.plans``, then the
    global ``notify.*``): the store overrides the config, field by field, kind by kind."""

    __tablename__ = "plan_message_settings"

    plan_code: str = Field(primary_key=True, max_length=64)
    kinds: dict[str, bool] = Field(default_factory=dict, sa_type=JSON)  # kind -> on/off
    reminder_days: int | None = None
    updated_at: datetime = _utc()


class WebhookEndpoint(SQLModel, table=True):
    """A merchant's URL that receives signed webhooks (Standard Webhooks) for some event types.

    ``secret`` (``whsec_`` + base64) signs every delivery; it is shown once, when the endpoint
    is added, and never printed again. A removed endpoint keeps its row (its deliveries name
    it) and receives nothing more."""

    __tablename__ = "webhook_endpoint"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2000)
    event_types: list[str] = Field(default_factory=list, sa_type=JSON)
    secret: str = Field(max_length=100)
    enabled: bool = True
    created_at: datetime = _utc()
    removed_at: datetime | None = _utc(nullable=True)


class MessageOptOut(SQLModel, table=True):
    """A member who asked not to get one kind of message (only reminders can be refused:
    receipts and required notices are always sent)."""

    __tablename__ = "message_opt_out"
    __table_args__ = (
        UniqueConstraint("customer_id", "kind", name="uq_message_opt_out_customer_kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id")
    kind: str = Field(sa_type=String(32), max_length=32)
    created_at: datetime = _utc()


class CardLink(SQLModel, table=True):
    """A card-update link: a member puts in a new card for ``mandate_id`` without logging in.

    Only the SHA-256 of the link's random token is stored (``billing.links``): the URL exists
    in the email, or the staff terminal, that carried it, never here. ``enrollment_id`` is the
    checkout opened from it; ``used_at`` is set in the transaction where its new card took over.
    """

    __tablename__ = "card_link"
    __table_args__ = (
        UniqueConstraint("token_hash", name="uq_card_link_token_hash"),
        UniqueConstraint("message_id", name="uq_card_link_message_id"),
        Index("ix_card_link_mandate_id", "mandate_id"),
        Index("ix_card_link_enrollment_id", "enrollment_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64)
    mandate_id: int = Field(foreign_key="mandate.id")
    customer_id: int = Field(foreign_key="customer.id")
    message_id: int | None = Field(default=None, foreign_key="message.id")  # the decline email
    created_by: str = Field(sa_type=String(16), max_length=16)  # decline | expiring_card | staff
    enrollment_id: str | None = Field(default=None, foreign_key="enrollment.id", max_length=36)
    created_at: datetime = _utc()
    expires_at: datetime = _utc()
    used_at: datetime | None = _utc(nullable=True)
class FeePolicy(SQLModel, table=True):
    """A reservation fee policy at one location (optionally for one service and a local time
    window). Versioned like plans: an update writes version N+1 with the same code; a
    reservation keeps the id of the version the guest accepted (billing.reservations)."""

    __tablename__ = "fee_policy"
    __table_args__ = (
        UniqueConstraint("location_guid", "code", "version",
                         name="uq_fee_policy_location_guid_code_version"),
    )

    id: int | None = Field(default=None, primary_key=True)
    location_guid: str = Field(max_length=64)
    code: str = Field(max_length=64)
    version: int = 1
    name: str = Field(max_length=200)
    service: str | None = Field(default=None, max_length=64)  # "dinner"; None: any service
    days: str | None = Field(default=None, max_length=32)  # "fri,sat"; None: every day
    window_start: str | None = Field(default=None, max_length=5)  # local "HH:MM" (inclusive)
    window_end: str | None = Field(default=None, max_length=5)  # local "HH:MM" (exclusive)
    per: str = Field(sa_type=String(16), max_length=16)  # person | reservation
    amount_cents: int
    cap_cents: int | None = None
    free_cancel_hours: int = 24
    confirm_delay_minutes: int = 15
    last_moment_hours: int = 48
    consent_text: str = Field(max_length=2000)
    timezone: str = Field(max_length=64)
    active: bool = True
    created_at: datetime = _utc()


class Reservation(SQLModel, table=True):
    """A table held with a card: the reservation system's reference (unique per location), the
    slot, the party, the UNSCHEDULED mandate saved for its fee and the policy version accepted."""

    __tablename__ = "reservation"
    __table_args__ = (
        UniqueConstraint("location_guid", "external_ref",
                         name="uq_reservation_location_guid_external_ref"),
        UniqueConstraint("idempotency_key", name="uq_reservation_idempotency_key"),
        Index("ix_reservation_slot_at", "slot_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    location_guid: str = Field(max_length=64)
    external_ref: str = Field(max_length=100)
    idempotency_key: str = Field(max_length=200)
    request_hash: str = Field(max_length=64)
    slot_at: datetime = _utc()
    party_size: int
    service: str | None = Field(default=None, max_length=64)
    customer_id: int = Field(foreign_key="customer.id")
    mandate_id: int = Field(foreign_key="mandate.id")
    enrollment_id: str = Field(foreign_key="enrollment.id", max_length=36)
    policy_id: int = Field(foreign_key="fee_policy.id")  # the snapshot: the version accepted
    status: str = _status("booked")
    accepted_at: datetime = _utc()
    created_at: datetime = _utc()
    closed_at: datetime | None = _utc(nullable=True)  # the consent's purpose ended


class ReservationReport(SQLModel, table=True):
    """One status report: (reservation, report id) is unique, so a repeated or concurrent
    report is recorded once."""

    __tablename__ = "reservation_report"
    __table_args__ = (
        UniqueConstraint("reservation_id", "report_id",
                         name="uq_reservation_report_reservation_id_report_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    reservation_id: int = Field(foreign_key="reservation.id")
    report_id: str = Field(max_length=100)
    status: str = Field(sa_type=String(16), max_length=16)
    at: datetime = _utc()  # when it happened (a cancellation's own instant)
    reported_at: datetime = _utc()
    reported_by: str = Field(max_length=100)


class FeeDecision(SQLModel, table=True):
    """Each fee decision taken for a reservation, with its reason (append-only)."""

    __tablename__ = "fee_decision"
    __table_args__ = (Index("ix_fee_decision_reservation_id", "reservation_id"),)

    id: int | None = Field(default=None, primary_key=True)
    reservation_id: int = Field(foreign_key="reservation.id")
    decided_at: datetime = _utc()
    trigger: str = Field(sa_type=String(16), max_length=16)  # report | adjustment | sweep
    amount_cents: int | None = None  # None: no fee
    reason: str = Field(max_length=300)
    charge_at: datetime | None = _utc(nullable=True)
    last_moment_at: datetime = _utc()


class FeeAdjustment(SQLModel, table=True):
    """Staff lowered (amount) or waived (0) a reservation's fee, with a reason and a name."""

    __tablename__ = "fee_adjustment"
    __table_args__ = (
        UniqueConstraint("reservation_id", "idempotency_key",
                         name="uq_fee_adjustment_reservation_id_idempotency_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    reservation_id: int = Field(foreign_key="reservation.id")
    idempotency_key: str = Field(max_length=200)
    amount_cents: int  # 0: waived
    reason: str = Field(max_length=200)
    staff: str = Field(max_length=100)
    at: datetime = _utc()


class ScheduleTemplate(SQLModel, table=True):
    """A catering payment schedule as sold (``billing schedules``): its milestones, cancellation
    tiers and dunning policy. Events copy it when booked (a snapshot: editing a template never
    changes a booked event)."""

    __tablename__ = "schedule_template"
    __table_args__ = (UniqueConstraint("code", name="uq_schedule_template_code"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64)
    name: str = Field(max_length=200)
    retry_days: list[int] = Field(default_factory=list, sa_type=JSON)
    alert_days: int = 14  # a milestone failing this close to the event alerts staff at once
    created_at: datetime = _utc()


class TemplateMilestone(SQLModel, table=True):
    __tablename__ = "template_milestone"
    __table_args__ = (
        UniqueConstraint("template_id", "name", name="uq_template_milestone_template_id_name"),
    )

    id: int | None = Field(default=None, primary_key=True)
    template_id: int = Field(foreign_key="schedule_template.id")
    position: int
    name: str = Field(max_length=40)
    kind: str = Field(sa_type=String(16), max_length=16)  # percent | fixed | remainder
    value: int = 0  # basis points (percent) or cents (fixed)
    days_before: int | None = None  # None: at signing
    local_time: str = Field(default="09:00", max_length=5)


class CancellationTier(SQLModel, table=True):
    __tablename__ = "cancellation_tier"
    __table_args__ = (
        UniqueConstraint("template_id", "min_days_before",
                         name="uq_cancellation_tier_template_id_min_days_before"),
    )  # fmt: skip

    id: int | None = Field(default=None, primary_key=True)
    template_id: int = Field(foreign_key="schedule_template.id")
    min_days_before: int
    keep_deposit: bool = False
    retain_bp: int = 0


class CateringEvent(SQLModel, table=True):
    """A catering or private event with a payment schedule (``billing.events``). Named
    ``catering_event``: ``event`` is the audit log."""

    __tablename__ = "catering_event"
    __table_args__ = (
        Index("ix_catering_event_status", "status"),
        Index("ix_catering_event_start_at", "start_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    location_guid: str = Field(max_length=64)
    timezone: str = Field(max_length=64)
    local_date: date
    local_time: str = Field(max_length=5)
    start_at: datetime = _utc()
    guests: int
    per_guest_cents: int = 0
    fixed_cents: int = 0
    total_override_cents: int | None = None
    template_id: int = Field(foreign_key="schedule_template.id")
    customer_id: int = Field(foreign_key="customer.id")
    mandate_id: int | None = Field(default=None, foreign_key="mandate.id")
    status: str = _status("tentative")
    guarantee_date: date
    retry_days: list[int] = Field(default_factory=list, sa_type=JSON)
    alert_days: int = 14
    tiers: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)  # snapshot
    signed_at: datetime | None = _utc(nullable=True)
    # The deposit checkout (an enrollment taking the first payment) that books the event.
    enrollment_id: str | None = Field(default=None, foreign_key="enrollment.id", max_length=36)
    retained_cents: int | None = None
    refund_owed_cents: int | None = None
    created_at: datetime = _utc()
    cancelled_at: datetime | None = _utc(nullable=True)
    closed_at: datetime | None = _utc(nullable=True)


class EventMilestone(SQLModel, table=True):
    """One milestone of one event (copied from the template, editable per event). Its charge is
    the door charge ``event:{event_id}:milestone:{name}``."""

    __tablename__ = "event_milestone"
    __table_args__ = (
        UniqueConstraint("event_id", "name", name="uq_event_milestone_event_id_name"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="catering_event.id")
    position: int
    name: str = Field(max_length=40)
    kind: str = Field(sa_type=String(16), max_length=16)
    value: int = 0
    days_before: int | None = None
    local_time: str = Field(default="09:00", max_length=5)
    state: str = _status("open")  # open | paid | failed | withdrawn | waived
    # A charge withdrawn (its amount fell to zero) cannot come back through the door: when the
    # amount rises again the milestone is charged under the next revision's key.
    revision: int = 0
    amount_cents: int = 0  # as last put (paid: what was paid)
    due_at: datetime | None = _utc(nullable=True)
    confirmed_at: datetime | None = _utc(nullable=True)  # staff: charge on/after the start
    # state "waived": staff wrote ``amount_cents`` off (never charged, not rolled into the rest)
    waived_reason: str | None = Field(default=None, max_length=200)


class EventLink(SQLModel, table=True):
    """A staff payment link for one event (``billing.events.links``): the guest pays what is
    owed in the hosted checkout without an account. Only the SHA-256 of its random token is
    stored; ``enrollment_id`` is the checkout opened from it; ``used_at`` is set in the
    transaction that records the payment."""

    __tablename__ = "event_link"
    __table_args__ = (
        UniqueConstraint("token_hash", name="uq_event_link_token_hash"),
        Index("ix_event_link_event_id", "event_id"),
        Index("ix_event_link_enrollment_id", "enrollment_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64)
    event_id: int = Field(foreign_key="catering_event.id")
    purpose: str = Field(sa_type=String(16), max_length=16)  # deposit | balance
    created_by: str = Field(sa_type=String(16), max_length=16)
    enrollment_id: str | None = Field(default=None, foreign_key="enrollment.id", max_length=36)
    created_at: datetime = _utc()
    expires_at: datetime = _utc()
    used_at: datetime | None = _utc(nullable=True)


class GuestCountChange(SQLModel, table=True):
    __tablename__ = "guest_count_change"
    __table_args__ = (Index("ix_guest_count_change_event_id", "event_id"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="catering_event.id")
    at: datetime = _utc()
    old: int
    new: int
    total_cents: int
# Wine clubs (``billing.clubs``): a club at a location, its tiers and members, its releases
# (club runs) and each member's shipment of a release. Charges come only through the door.
class Club(SQLModel, table=True):
    """``shipping``: region -> cents (``*`` the default); ``tax_rates``: region -> parts per million
    (a fixture table, not live rates); ``retry_days``/``final_action``: the rebilling policy."""

    __tablename__ = "club"
    __table_args__ = (UniqueConstraint("name", name="uq_club_name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    location_guid: str = Field(foreign_key="location.guid", max_length=36)
    timezone: str = Field(max_length=64)
    pickup_region: str = Field(default="", max_length=32)
    skip_cap: int = 3
    auto_approve: bool = False
    shipping: dict[str, int] = Field(default_factory=dict, sa_type=JSON)
    tax_rates: dict[str, int] = Field(default_factory=dict, sa_type=JSON)
    retry_days: list[int] = Field(default_factory=list, sa_type=JSON)
    final_action: str = Field(default="skip", sa_type=String(16), max_length=16)
    # Days before a release's cutoff its release notice goes out (0: none required).
    notice_days: int = Field(default=7, sa_column_kwargs={"server_default": "7"})
    created_at: datetime = _utc()


class ClubTier(SQLModel, table=True):
    __tablename__ = "club_tier"
    __table_args__ = (UniqueConstraint("club_id", "name", name="uq_club_tier_club_id_name"),)

    id: int | None = Field(default=None, primary_key=True)
    club_id: int = Field(foreign_key="club.id")
    name: str = Field(max_length=100)
    bottles: int
    discount_pct: int = 0


class Membership(SQLModel, table=True):
    """A customer in a club on a tier, charged on their RECURRING mandate. ``status``: active,
    on_hold (until ``hold_until``), cancelled; ``delivery``: ship (region, address) or pickup."""

    __tablename__ = "membership"
    __table_args__ = (
        UniqueConstraint("club_id", "customer_id", name="uq_membership_club_id_customer_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    club_id: int = Field(foreign_key="club.id")
    tier_id: int = Field(foreign_key="club_tier.id")
    customer_id: int = Field(foreign_key="customer.id")
    mandate_id: int | None = Field(default=None, foreign_key="mandate.id")
    status: str = _status("active")
    hold_until: date | None = None
    delivery: str = Field(default="ship", sa_type=String(16), max_length=16)
    region: str = Field(default="", max_length=32)
    address: str = Field(default="", max_length=300)
    consecutive_skips: int = 0
    created_at: datetime = _utc()
    cancelled_at: datetime | None = _utc(nullable=True)


class Release(SQLModel, table=True):
    """A club run: draft -> open -> processing -> processed -> archived. ``snapshot`` is the
    preview stored at the cutoff; processing charges it only if a fresh preview equals it."""

    __tablename__ = "club_release"

    id: int | None = Field(default=None, primary_key=True)
    club_id: int = Field(foreign_key="club.id", index=True)
    title: str = Field(max_length=200)
    status: str = _status("draft")
    process_at: datetime = _utc()
    cutoff_at: datetime = _utc()
    approved_at: datetime | None = _utc(nullable=True)
    snapshot: list[dict[str, Any]] | None = Field(default=None, sa_type=JSON)
    snapshot_at: datetime | None = _utc(nullable=True)
    refused: str | None = Field(default=None, max_length=2000)
    # Processing goes in batches of members (billing.clubs.batches): the last membership id
    # whose batch is charged (0: none yet).
    charged_through: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    processed_at: datetime | None = _utc(nullable=True)
    archived_at: datetime | None = _utc(nullable=True)
    created_at: datetime = _utc()


class ReleaseLine(SQLModel, table=True):
    __tablename__ = "club_release_line"
    __table_args__ = (
        UniqueConstraint("release_id", "item", name="uq_club_release_line_release_id_item"),
    )

    id: int | None = Field(default=None, primary_key=True)
    release_id: int = Field(foreign_key="club_release.id")
    item: str = Field(max_length=200)
    qty: int
    retail_cents: int


class Shipment(SQLModel, table=True):
    """One member's part of a release: their overrides (lines, package quantity, an explicit
    amount with its reason), skip / ship-now, and the amount charged (a snapshot)."""

    __tablename__ = "club_shipment"
    __table_args__ = (
        UniqueConstraint(
            "release_id", "membership_id", name="uq_club_shipment_release_id_membership_id"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    release_id: int = Field(foreign_key="club_release.id")
    membership_id: int = Field(foreign_key="membership.id", index=True)
    status: str = _status("open")
    override_lines: list[dict[str, Any]] | None = Field(default=None, sa_type=JSON)
    quantity: int = 1
    explicit_cents: int | None = None
    explicit_reason: str | None = Field(default=None, max_length=200)
    skipped_at: datetime | None = _utc(nullable=True)
    ship_now_at: datetime | None = _utc(nullable=True)
    amount_cents: int | None = None
    charge_id: int | None = Field(default=None, foreign_key="charge.id")
    failed_at: datetime | None = _utc(nullable=True)
    reason: str | None = Field(default=None, max_length=200)
    updated_at: datetime = _utc()
