"""The card's display details (brand, last four, expiry) for a completed enrollment.

A setup intent does not carry them. A card also saved to the customer's Toast profile is
listed by the customers API (authoritative); a card-on-file without a profile is described
only by what the iframe reported to the browser (``CardIn``), passed through by the website.
"""

from __future__ import annotations

from dataclasses import dataclass

from billing.enroll.models import CardIn
from billing.toast import errors
from billing.toast.facade import ToastClient
from billing.toast.models.base import CardSummary
from billing.toast.models.setup_intents import SetupIntent


@dataclass(frozen=True, slots=True)
class Summary:
    brand: str | None = None
    last_four: str | None = None
    expiry: tuple[int, int] | None = None  # (month, four-digit year)


def summary_of(card: CardSummary | None) -> Summary:
    """Display details of a card as Toast describes it (a payment method, a payment)."""
    if card is None:
        return Summary()
    month = month_of(card.expiry.month) if card.expiry else None
    year = year_of(card.expiry.year) if card.expiry else None
    return Summary(card.brand, card.last_four, (month, year) if month and year else None)


def year_of(value: int | str | None) -> int | None:
    text = str(value or "")
    if not text.isdigit():
        return None
    return 2000 + int(text) if len(text) <= 2 else int(text)


def month_of(value: int | str | None) -> int | None:
    text = str(value or "")
    return int(text) if text.isdigit() and 1 <= int(text) <= 12 else None


async def lookup(
    toast: ToastClient,
    *,
    location: str,
    toast_customer_id: str | None,
    intent: SetupIntent,
    hint: CardIn | None,
) -> Summary:
    if toast_customer_id and intent.payment_method_id:
        try:
            saved = await toast.customers.list_payment_methods(toast_customer_id, location=location)
        except errors.ToastError:
            saved = None
        for method in saved.payment_methods if saved else []:
            if method.id == intent.payment_method_id:
                month, year = month_of(method.month), year_of(method.year)
                expiry = (month, year) if month and year else None
                return Summary(method.card_type, method.last_four, expiry)
    if hint is not None:
        return Summary(hint.brand.upper(), hint.last_four, (hint.exp_month, hint.exp_year))
    return Summary()
