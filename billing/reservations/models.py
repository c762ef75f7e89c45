"""Request and response bodies of the reservations API (never the table classes)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from billing.enroll.models import CustomerIn, EnrollmentPublic, Text

Ref = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[\x21-\x7e]+$")]
GUID_PATTERN = r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$"
Guid = Annotated[str, Field(pattern=GUID_PATTERN)]
Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReservationCreate(_In):
    """A reservation as the reservation system booked it. ``slot``: an instant with its offset
    (the location's local time, e.g. ``2027-03-14T19:00:00-04:00``)."""

    reference: Ref = Field(description="The reservation system's own id (unique per location)")
    slot: AwareDatetime
    party_size: int = Field(ge=1, le=500)
    customer: CustomerIn
    location: Guid | None = Field(None, description="Toast location GUID (default: the API's)")
    service: Text | None = Field(None, description="e.g. dinner: picks a service's policy")
    policy: Code | None = Field(None, description="Policy code (default: the one that applies)")
    accepted_at: AwareDatetime | None = Field(
        None, description="When the guest accepted the policy (default: now)"
    )


class ReportedStatus(StrEnum):
    SEATED = "seated"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class StatusReport(_In):
    """One status change. ``report_id`` makes it idempotent: the same report sent again (or
    concurrently) is recorded once. ``at``: when it happened (a cancellation's own instant;
    default now)."""

    report_id: Ref
    status: ReportedStatus
    at: AwareDatetime | None = None
    reported_by: Name = "reservation system"


class FeeAction(StrEnum):
    LOWER = "lower"
    WAIVE = "waive"


class FeeChange(_In):
    """Staff lower (``amount_cents``, never above the cap nor the fee) or waive the fee before
    it is charged, with a reason and their name."""

    action: FeeAction
    amount_cents: int | None = Field(None, ge=1, le=99_999_999)
    reason: Text
    staff: Name

    @model_validator(mode="after")
    def _amount_for_lower(self) -> FeeChange:
        if (self.action == FeeAction.LOWER) != (self.amount_cents is not None):
            raise ValueError("lower needs amount_cents; waive takes none")
        return self


class PolicyPublic(BaseModel):
    code: str
    version: int
    name: str
    per: str
    amount_cents: int
    cap_cents: int | None
    free_cancel_hours: int
    confirm_delay_minutes: int
    last_moment_hours: int
    consent_text: str
    timezone: str


class DecisionPublic(BaseModel):
    """The last fee decision taken (on a report, a staff change or at the last moment), or
    the policy's decision now when none was taken yet."""

    amount_cents: int | None = Field(description="The fee; null: no fee")
    reason: str
    charge_at: datetime | None = Field(description="Earliest instant the fee is charged")
    last_moment: datetime = Field(description="Nothing is charged after this instant")


class FeeChargePublic(BaseModel):
    id: int
    status: str
    amount_cents: int
    due_at: datetime
    check_item: str


class ReportPublic(BaseModel):
    report_id: str
    status: str
    at: datetime
    reported_at: datetime
    reported_by: str


class ReservationPublic(BaseModel):
    reference: str
    location: str
    status: str
    slot: datetime
    party_size: int
    service: str | None
    customer_id: int
    mandate_id: int
    mandate_status: str
    policy: PolicyPublic
    accepted_at: datetime
    decision: DecisionPublic
    charge: FeeChargePublic | None
    reports: list[ReportPublic]
    closed_at: datetime | None
    enrollment: EnrollmentPublic | None = Field(
        None, description="On creation: the card-saving checkout for the iframe"
    )
