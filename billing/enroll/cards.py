"""The card's display details (brand, last four, expiry) for a completed enrollment.

Recorded whenever any reply carries them, each detail from the first source that has it: a
card also saved to the customer's Toast profile is listed by the customers API
(authoritative; older versions give top-level fields, newer ones a nested ``card``); a setup
intent documents none, but a reply that carries a ``card`` (or ``paymentMethod.card``) is
used; then what the payment method reply or the iframe reported (``CardIn``). The expiry is
what lets the engine hold a charge on an expired card instead of sending it.
"""

from __future__ import annotations

from dataclasses import dataclass

from billing.enroll.models import CardIn
from billing.toast import errors
from billing.toast.facade import ToastClient
from billing.toast.models.base import CardSummary, ToastResponse
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


def merged(*sources: Summary) -> Summary:
    """Each detail from the first source that carries it."""
    return Summary(
        next((s.brand for s in sources if s.brand), None),
        next((s.last_four for s in sources if s.last_four), None),
        next((s.expiry for s in sources if s.expiry), None),
    )


def carried_card(reply: ToastResponse) -> CardSummary | None:
    """A card described by a reply beyond its documented fields (``card`` or
    ``paymentMethod.card``; responses keep unknown fields, as Toast's documents drift)."""
    extra = reply.model_extra or {}
    nested = extra.get("paymentMethod")
    card = extra.get("card") or (nested.get("card") if isinstance(nested, dict) else None)
    return CardSummary.model_validate(card) if isinstance(card, dict) else None


def _from_hint(hint: CardIn | Summary | None) -> Summary:
    if hint is None or isinstance(hint, Summary):
        return hint or Summary()
    return Summary(hint.brand.upper(), hint.last_four, (hint.exp_month, hint.exp_year))


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
    hint: CardIn | Summary | None,
) -> Summary:
    sources = [await _saved(toast, location, toast_customer_id, intent)]
    sources += [summary_of(carried_card(intent)), _from_hint(hint)]
    return merged(*sources)


async def _saved(
    toast: ToastClient, location: str, toast_customer_id: str | None, intent: SetupIntent
) -> Summary:
    """The card as the customer's Toast profile lists it (nothing for a card-on-file only)."""
    if not (toast_customer_id and intent.payment_method_id):
        return Summary()
    try:
        saved = await toast.customers.list_payment_methods(toast_customer_id, location=location)
    except errors.ToastError:
        return Summary()
    for method in saved.payment_methods:
        if method.id == intent.payment_method_id:
            month, year = month_of(method.month), year_of(method.year)
            expiry = (month, year) if month and year else None
            return merged(Summary(method.card_type, method.last_four, expiry),
                          summary_of(method.card))  # fmt: skip
    return Summary()
