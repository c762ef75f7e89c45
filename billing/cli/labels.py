"""How the admin CLI names business objects for people: a member by name and email, a plan by
name, a card by brand, last four and expiry, a location by name (its GUID's first block when it
has none). Pure text from rows; the lists and ``show`` commands share them."""

from __future__ import annotations

from billing.domain import money
from billing.manage import locations
from billing.store.tables import Customer, Mandate, Plan, Subscription

PURPOSES = {"RECURRING": "recurring", "INSTALLMENT": "installments", "UNSCHEDULED": "one-off fees"}
UNITS = {"day": "day", "week": "week", "month": "month", "year": "year"}


def dollars(cents: int | None) -> str:
    return "" if cents is None else money.format_cents(cents)


def member(customer: Customer | None) -> str:
    if customer is None:
        return ""
    return f"{customer.name} <{customer.email}>" if customer.name else customer.email


def card(mandate: Mandate | None) -> str:
    """``VISA ****1111 12/29``; empty while no card is known (a pending checkout)."""
    if mandate is None or not mandate.card_last4:
        return ""
    text = f"{mandate.card_brand or 'card'} ****{mandate.card_last4}"
    if mandate.card_exp_month and mandate.card_exp_year:
        text += f" {mandate.card_exp_month:02d}/{mandate.card_exp_year % 100:02d}"
    return text


def purpose(standing_instruction: str) -> str:
    """The standing instruction a mandate consents to, in words: ``recurring (RECURRING)``."""
    words = PURPOSES.get(standing_instruction, standing_instruction.lower())
    return f"{words} ({standing_instruction})"


def plan(row: Plan | None, *, version: bool = False) -> str:
    if row is None:
        return ""
    code = f"{row.code} v{row.version}" if version else row.code
    return row.name if row.name == code else f"{row.name} ({code})"


def every(row: Plan) -> str:
    if row.kind == "UNSCHEDULED" or row.interval_unit is None:
        return ""
    unit = UNITS.get(row.interval_unit, row.interval_unit)
    return f"every {unit}" if row.interval_count == 1 else f"every {row.interval_count} {unit}s"


def plan_amount(row: Plan) -> str:
    if row.total_cents is not None:
        return f"{dollars(row.total_cents)} in {row.installments} payments"
    return dollars(row.amount_cents)


def subscription_amount(sub: Subscription, row: Plan | None) -> str:
    """What one cycle bills: ``$45.00 every month``, or an installment plan's total and parts."""
    if row is None:
        return dollars(sub.amount_cents)
    if row.total_cents is not None:
        return plan_amount(row) + (f" {every(row)}" if every(row) else "")
    cents = sub.amount_cents if sub.amount_cents is not None else row.amount_cents
    return " ".join(t for t in (dollars(cents), every(row)) if t)


def cycle_cents(sub: Subscription, row: Plan | None) -> int | None:
    if sub.amount_cents is not None or row is None:
        return sub.amount_cents
    return row.amount_cents


def location(guid: str | None, names: dict[str, str]) -> str:
    return "" if guid is None else locations.label(guid, names)


def status(sub: Subscription) -> str:
    return f"{sub.status} (ends at period end)" if sub.cancel_at_period_end else sub.status
