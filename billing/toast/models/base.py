"""Shared pieces of the request and response models.

Requests are strict (``extra="forbid"``) and validate before anything is sent. Responses are
tolerant: unknown fields are kept (``model_extra``) and unknown enum values are kept as plain
strings, because Toast's documents drift between versions.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SecretStr,
)
from pydantic.alias_generators import to_camel

MIN_AMOUNT = 1
MAX_AMOUNT = 99_999_999
EMAIL_CHARSET = r"^[a-zA-Z0-9=.\-_+@:&^%!$]+$"  # Toast: only these characters are accepted

Amount = Annotated[int, Field(ge=MIN_AMOUNT, le=MAX_AMOUNT, strict=True)]
Email = Annotated[str, Field(pattern=EMAIL_CHARSET, min_length=3, max_length=254)]
Guid = Annotated[uuid.UUID, PlainSerializer(str, return_type=str)]
Secret = Annotated[
    SecretStr, PlainSerializer(lambda s: s.get_secret_value(), return_type=str, when_used="json")
]


class StandingInstructionType(StrEnum):
    RECURRING = "RECURRING"
    INSTALLMENT = "INSTALLMENT"
    UNSCHEDULED = "UNSCHEDULED"


class Usage(StrEnum):
    ON_SESSION = "ON_SESSION"
    OFF_SESSION = "OFF_SESSION"
    ON_AND_OFF_SESSION = "ON_AND_OFF_SESSION"


def _known(enum: type[StrEnum]) -> BeforeValidator:
    def convert(value: Any) -> Any:
        try:
            return enum(value)
        except ValueError:
            return value

    return BeforeValidator(convert)


# Response-side enum types: a known value becomes the enum member, an unknown one stays a str.
AnyStandingInstruction = Annotated[StandingInstructionType | str, _known(StandingInstructionType)]
AnyUsage = Annotated[Usage | str, _known(Usage)]


class ToastRequest(BaseModel):
    """A request body: validated on construction, serialized with Toast's camelCase names."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class ToastResponse(BaseModel):
    """A response body: unknown fields kept, nothing but the id is required."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")


class Expiry(ToastResponse):
    month: int | str | None = None
    year: int | str | None = None


class CardSummary(ToastResponse):
    """Card data as Toast returns it: never a full number."""

    brand: str | None = None
    type: str | None = None
    first_six: str | None = None
    last_four: str | None = None
    expiry: Expiry | None = None
    fingerprint: str | None = None
    funding: str | None = None
