"""Request and response bodies of the enrollment API (never the table classes)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from functools import partial
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from billing.domain import inputs

# Toast's email charset for intents (a-z A-Z 0-9 = . - _ + @ : & ^ % ! $) and an address shape.
EMAIL_PATTERN = inputs.EMAIL.pattern
PLAN_CODE = r"^[a-z0-9][a-z0-9._-]*$"
# The Field constraints document the schema; the shared rules (billing.domain.inputs) decide.
Text = Annotated[
    str,
    Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$"),
    AfterValidator(partial(inputs.text, field="text")),
]

BillingDate = Annotated[date, AfterValidator(partial(inputs.checked_date, field="start_date"))]


class EnrollmentStatus(StrEnum):
    PENDING = "pending"  # the intent is open: the customer has not authorized a card yet
    COMPLETED = "completed"  # mandate active (and subscription activated)
    EXPIRED = "expired"  # the intent expired (30 minutes): start a new enrollment
    FAILED = "failed"  # Toast refused to open the intent


class Purpose(StrEnum):
    SUBSCRIBE = "subscribe"
    FEE = "fee"
    REPLACE_CARD = "replace_card"
    CARD_LINK = "card_link"  # a card-update link's checkout: replaces a mandate everywhere


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CustomerIn(_In):
    email: Annotated[
        str,
        Field(min_length=6, max_length=254, pattern=EMAIL_PATTERN),
        AfterValidator(partial(inputs.email, field="email")),
    ]
    name: Annotated[
        str,
        Field(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$"),
        AfterValidator(partial(inputs.text, field="name", allow_empty=True)),
    ] = ""
    reference: Text | None = Field(None, description="The merchant's own id for this customer")


class EnrollmentCreate(_In):
    """Exactly one of ``plan`` (a plan code: RECURRING or INSTALLMENT subscribe; UNSCHEDULED
    saves a card-on-file for its fees) or ``fee_purpose`` (an UNSCHEDULED card-on-file, e.g.
    a reservation hold, at the default location)."""

    plan: Annotated[str, Field(min_length=1, max_length=64, pattern=PLAN_CODE)] | None = None
    fee_purpose: Text | None = None
    customer: CustomerIn
    start_date: BillingDate | None = Field(None, description="First billing date (default: today)")
    anchor_day: int | None = Field(
        None, ge=1, le=31,
        description="Day of the month to bill on (monthly and yearly plans; default: the "
        "start date's day; 29-31 bill on the last day of shorter months)",
    )  # fmt: skip
    save_card: bool = Field(
        False, description="Also save the card to a Toast customer record (created or reused)"
    )
    pay_now: bool = Field(
        False,
        description="Take the first payment now: the iframe confirms a customer-initiated "
        "payment intent for cycle 0 that also creates the mandate (plans only; the schedule "
        "starts today)",
    )

    @model_validator(mode="after")
    def _one_purpose(self) -> EnrollmentCreate:
        if (self.plan is None) == (self.fee_purpose is None):
            raise ValueError("send exactly one of plan or fee_purpose")
        if self.pay_now and self.plan is None:
            raise ValueError("pay_now needs a plan (a fee is charged later, off-session)")
        return self


class CardIn(_In):
    """What the iframe reported to the browser after creating the payment method (display
    data only; used when Toast has no saved-card listing for this card)."""

    brand: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z _-]+$")]
    last_four: Annotated[str, Field(pattern=r"^\d{4}$")]
    exp_month: Annotated[int, Field(ge=1, le=12)]
    exp_year: Annotated[int, Field(ge=2000, le=2199)]


class EnrollmentComplete(_In):
    card: CardIn | None = None


class CardPublic(BaseModel):
    brand: str | None
    last_four: str | None
    exp_month: int | None
    exp_year: int | None


class EnrollmentPublic(BaseModel):
    id: str
    status: EnrollmentStatus
    purpose: Purpose
    plan: str | None
    fee_purpose: str | None
    customer_id: int
    subscription_id: int | None
    mandate_id: int
    intent_type: str = Field(
        description="setup_intent (OFF_SESSION card-on-file) or payment_intent (pay_now: "
        "the first payment, which also creates the mandate)"
    )
    first_payment_cents: int | None = Field(
        None, description="With pay_now: the amount the iframe charges now (cycle 0)"
    )
    intent_id: str | None
    session_secret: str | None = Field(
        description="For the checkout iframe while pending; never logged"
    )
    expires_at: datetime | None
    card: CardPublic | None
    message: str | None
    created_at: datetime
    completed_at: datetime | None


class ChargePublic(BaseModel):
    subscription_id: int | None
    cycle: int | None
    due_at: datetime
    amount_cents: int
    status: str


class SubscriptionPublic(BaseModel):
    id: int
    plan: str
    status: str
    anchor_date: date
    next_charge_at: datetime | None
    card: CardPublic | None
    cancelled_at: datetime | None


class CustomerPublic(BaseModel):
    id: int
    email: str
    name: str
    reference: str | None


class CustomerSubscriptions(BaseModel):
    customer: CustomerPublic
    subscriptions: list[SubscriptionPublic]
    upcoming_charges: list[ChargePublic]


class Problem(BaseModel):
    error: str
    field: str | None = None
    fields: list[str] = Field(default_factory=list)
