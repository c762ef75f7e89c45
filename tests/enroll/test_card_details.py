"""The card's brand, last four and expiry are recorded whenever any Toast reply carries them,
each detail from the first source that has it (so the engine can see an expired card)."""

from __future__ import annotations

import pytest

from billing.enroll import cards
from billing.enroll.models import CardIn
from billing.toast.models.payment_methods import PaymentMethod
from billing.toast.models.setup_intents import SetupIntent

pytestmark = pytest.mark.anyio
CARD = {"brand": "VISA", "lastFour": "0416", "expiry": {"month": "02", "year": "27"}}


def _intent(**extra: object) -> SetupIntent:
    return SetupIntent.model_validate({"id": "si-1", "status": "SUCCEEDED", "mandateId": "m-1",
                                       "paymentMethodId": "pm-1", **extra})  # fmt: skip


@pytest.mark.parametrize("extra", [{"card": CARD}, {"paymentMethod": {"card": CARD}}])
async def test_a_setup_intent_reply_that_carries_the_card_is_recorded(
    extra: dict[str, object],
) -> None:
    # no saved-card listing (no Toast customer) and no hint from the website
    found = await cards.lookup(None, location="loc", toast_customer_id=None,  # type: ignore[arg-type]
                               intent=_intent(**extra), hint=None)  # fmt: skip
    assert found == cards.Summary("VISA", "0416", (2, 2027))


async def test_partial_details_are_completed_from_the_next_source() -> None:
    # the reply knows the expiry only; the website's hint gives brand and last four
    intent = _intent(card={"expiry": {"month": "2", "year": "2027"}})
    hint = CardIn(brand="visa", last_four="1111", exp_month=12, exp_year=2030)
    found = await cards.lookup(None, location="loc", toast_customer_id=None,  # type: ignore[arg-type]
                               intent=intent, hint=hint)  # fmt: skip
    assert found == cards.Summary("VISA", "1111", (2, 2027))


def test_a_payment_method_reply_without_an_expiry_still_gives_brand_and_last_four() -> None:
    method = PaymentMethod.model_validate(
        {"id": "pm-1", "card": {"brand": "MC", "lastFour": "4444"}}
    )
    shown = cards.merged(cards.summary_of(method.card), cards.summary_of(cards.carried_card(
        _intent(card={"expiry": {"month": "11", "year": "29"}}))))  # fmt: skip
    assert shown == cards.Summary("MC", "4444", (11, 2029))
