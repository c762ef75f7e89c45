"""Test cards (ours: Toast publishes none) and the authorization decision for a stored card.

The sandbox never keeps a card number: at payment-method creation the number is reduced to
``firstSix``/``lastFour``, a fingerprint and the name of its test behaviour (``CardProfile``).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Literal

Behaviour = Literal[
    "approve",
    "decline",
    "processing_approve",
    "processing_decline",
    "decline_first_n",
    "expires_next_month",
    "decline_after_setup",
]

_FINGERPRINT_NS = uuid.UUID("5b0d9a52-62c7-4f0e-9a57-0d2b8cbf1a4e")


@dataclass(frozen=True, slots=True)
class SandboxCard:
    number: str
    behaviour: Behaviour
    decline_type: str | None = None
    decline_code: str | None = None
    description: str = ""


TEST_CARDS: tuple[SandboxCard, ...] = (
    SandboxCard("4111111111111111", "approve", description="approves"),
    SandboxCard("5555555555554444", "approve", description="approves (Mastercard)"),
    SandboxCard(
        "4000000000000002",
        "decline",
        "CARD_DECLINED",
        "generic_decline",
        "declines: generic decline",
    ),
    SandboxCard(
        "4000000000009995",
        "decline",
        "CARD_DECLINED",
        "insufficient_funds",
        "declines: insufficient funds ($0 setup verification passes)",
    ),
    SandboxCard(
        "4000000000000069", "decline", "CARD_DECLINED", "expired_card", "declines: expired card"
    ),
    SandboxCard(
        "4000000000009979",
        "decline",
        "FRAUDULENT",
        "stolen_card",
        "declines: stolen card (never retry)",
    ),
    SandboxCard(
        "4000000000009987",
        "decline",
        "FRAUDULENT",
        "lost_card",
        "declines: lost card (never retry)",
    ),
    SandboxCard(
        "4100000000000019",
        "decline",
        "FRAUDULENT",
        "fraudulent",
        "declines: fraudulent (never retry)",
    ),
    SandboxCard(
        "4000000000000259",
        "decline_after_setup",
        "FRAUDULENT",
        "stolen_card",
        "saves fine ($0 setup passes), then every payment declines: stolen card",
    ),
    SandboxCard(
        "4000000000000267",
        "decline_after_setup",
        "FRAUDULENT",
        "lost_card",
        "saves fine ($0 setup passes), then every payment declines: lost card",
    ),
    SandboxCard(
        "4000000000000275",
        "decline_after_setup",
        "CARD_DECLINED",
        "generic_decline",
        "saves fine ($0 setup passes), then every payment declines: generic decline",
    ),
    SandboxCard(
        "4000000000000507",
        "processing_approve",
        description="stays PROCESSING for processing_card_delay_s, then authorizes",
    ),
    SandboxCard(
        "4000000000000515",
        "processing_decline",
        "CARD_DECLINED",
        "generic_decline",
        "stays PROCESSING for processing_card_delay_s, then declines",
    ),
    SandboxCard(
        "4000000000000341",
        "decline_first_n",
        "CARD_DECLINED",
        "insufficient_funds",
        "declines its first decline_first_n payment authorizations, then approves",
    ),
    SandboxCard(
        "4000000000000416",
        "expires_next_month",
        description="approves; expiry forced to next month",
    ),
)
_BY_NUMBER = {card.number: card for card in TEST_CARDS}
_DEFAULT = SandboxCard("", "approve")
# ASSUMPTION: a $0 setup verification is not declined for lack of funds.
SOFT_ONLY_ON_PAYMENT = frozenset({"insufficient_funds"})


def luhn_valid(number: str) -> bool:
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def brand(number: str) -> str:
    if number.startswith("4"):
        return "VISA"
    if number[:2] in {"34", "37"}:
        return "AMEX"
    if number.startswith(("6011", "65")):
        return "DISCOVER"
    if 51 <= int(number[:2]) <= 55 or 2221 <= int(number[:4]) <= 2720:
        return "MASTERCARD"
    return "UNKNOWN"


def lookup(number: str) -> SandboxCard:
    """The test behaviour of a number; any other Luhn-valid number approves."""
    return _BY_NUMBER.get(number, _DEFAULT)


def fingerprint(number: str) -> str:
    """A stable id for a card number that does not reveal it (salted hash, then UUID)."""
    digest = hashlib.sha256(b"billing-sandbox:" + number.encode()).hexdigest()
    return str(uuid.uuid5(_FINGERPRINT_NS, digest))
