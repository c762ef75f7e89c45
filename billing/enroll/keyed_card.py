"""The customer's part of an enrollment, played through Toast's API with a sandbox test card
(``billing enroll --test-card``): Toast's "backend alternative" to the iframe, a payment
method created with the intent's session secret, then the intent confirmed. PCI scope in
production, so the CLI allows it in sandbox mode only.
"""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import ValidationError

from billing.enroll import cards, service
from billing.errors import DomainError
from billing.toast import errors as toast_errors
from billing.toast.facade import ToastClient
from billing.toast.models.base import Usage
from billing.toast.models.payment_methods import CardExpiry, CardInput

FIELD = "--test-card"


def card_input(number: str, *, today: date) -> CardInput:
    """The test card (expiry three years on); a malformed number is refused before anything
    is stored or sent."""
    expiry = CardExpiry(month="12", year=str(today.year + 3))
    try:  # CardInput checks the number (digits, length, Luhn)
        return CardInput(number=number.replace(" ", ""), cvv="123", expiry=expiry)
    except ValidationError:
        raise DomainError("--test-card is not a valid card number (Luhn check)",
                          field=FIELD) from None  # fmt: skip


async def confirm(toast: ToastClient, view: service.View, card: CardInput) -> cards.Summary:
    """Save ``card`` on the enrollment's setup intent and confirm it; returns the card's
    display details (as far as Toast's replies give them) for ``service.refresh``. A
    refused card raises, naming ``--test-card``."""
    row = view.enrollment
    if view.session_secret is None or row.intent_id is None:
        raise DomainError(f"enrollment {row.id} is {row.status}: nothing to confirm", field=FIELD)
    secret = view.session_secret
    try:
        method = await toast.payment_methods.create(
            location=row.location_guid, session_secret=secret, idempotency_key=uuid.uuid4(),
            card=card, usage=Usage.ON_AND_OFF_SESSION if row.save_card else Usage.OFF_SESSION,
        )  # fmt: skip
        done = await toast.setup_intents.confirm(
            row.intent_id, location=row.location_guid, session_secret=secret,
            payment_method_id=method.id,
        )  # fmt: skip
    except toast_errors.ToastAPIError as exc:
        raise DomainError(f"the test card was refused by Toast: {exc.message}",
                          field=FIELD) from exc  # fmt: skip
    if done.last_setup_error is not None or not done.mandate_id:
        error = done.last_setup_error
        why = f"{error.type}/{error.code}" if error else str(done.status)
        raise DomainError(f"the card was refused ({why})", field=FIELD)
    # whatever either reply says about the card (even partly) is recorded on the mandate
    return cards.merged(cards.summary_of(method.card), cards.summary_of(cards.carried_card(done)))
