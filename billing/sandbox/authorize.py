"""The mock processor: decides an authorization from the stored card profile, and applies the
result to a payment intent (hold, mandate, ledger) or a setup intent ($0 verification)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from billing.sandbox.cards import SOFT_ONLY_ON_PAYMENT
from billing.sandbox.models import Mandate, PaymentIntent, PaymentMethod, SetupIntent
from billing.sandbox.state import SandboxState


@dataclass(frozen=True, slots=True)
class Outcome:
    approved: bool
    error_type: str | None = None
    error_code: str | None = None

    def error_json(self) -> dict[str, str | None] | None:
        if self.approved:
            return None
        # ASSUMPTION: the intent field is named lastPaymentError (setup: lastSetupError).
        return {"type": self.error_type, "code": self.error_code}


APPROVED = Outcome(True)


def _card_expired(method: PaymentMethod, now: datetime) -> bool:
    year = 2000 + int(method.exp_year[-2:])
    return (year, int(method.exp_month)) < (now.year, now.month)


def decide(
    state: SandboxState, method: PaymentMethod, *, verification: bool, mandate: str | None = None
) -> Outcome:
    """The final outcome for this card (PROCESSING delays are handled by ``delay_for``)."""
    behaviour = method.behaviour
    if _card_expired(method, state.clock.now()):
        return Outcome(False, "CARD_DECLINED", "expired_card")
    if behaviour in ("decline", "processing_decline", "decline_after_setup"):
        payment_only = behaviour == "decline_after_setup"
        if verification and (payment_only or method.decline_code in SOFT_ONLY_ON_PAYMENT):
            return APPROVED
        return Outcome(False, method.decline_type, method.decline_code)
    if behaviour == "decline_first_n" and not verification:
        # ASSUMPTION (test card): "declines its first N" counts per mandate for merchant-
        # initiated charges (each customer's card-on-file), per card number otherwise.
        key = mandate or method.fingerprint
        seen = state.t.attempts_by_card.get(key, 0) + 1
        state.t.attempts_by_card[key] = seen
        if seen <= state.config.decline_first_n:
            return Outcome(False, method.decline_type, method.decline_code)
    return APPROVED


def delay_for(state: SandboxState, method: PaymentMethod, *, verification: bool) -> float:
    """Sandbox seconds the authorization stays PROCESSING (0 = answered in the confirm).

    The PROCESSING test cards stall payments only: their $0 setup verification answers at
    once, so they can be saved as cards-on-file (a processor outage stalls both)."""
    stall = state.faults.settings.processing_stall_seconds
    if stall > 0:
        return stall
    if method.behaviour.startswith("processing_") and not verification:
        return float(state.config.processing_card_delay_s)
    return 0.0


def authorize_payment(state: SandboxState, intent: PaymentIntent, method: PaymentMethod) -> None:
    intent.payment_method_id = method.id
    intent.attempts += 1
    intent.last_payment_error = None
    outcome = decide(state, method, verification=False, mandate=intent.mandate_id)
    delay = delay_for(state, method, verification=False)
    _settle(state, intent, delay,
            lambda when: _finish_payment(state, intent, method, outcome, when))  # fmt: skip


def _settle(
    state: SandboxState, intent: PaymentIntent | SetupIntent, delay: float,
    finish: Callable[[datetime], None],
) -> None:  # fmt: skip
    """Answer now, or stay PROCESSING for ``delay`` sandbox seconds, then ``finish``."""
    now = state.clock.now()
    if delay <= 0:
        finish(now)
        return
    intent.status = "PROCESSING"
    state.at(now + timedelta(seconds=delay), finish)


def _finish_payment(
    state: SandboxState,
    intent: PaymentIntent,
    method: PaymentMethod,
    outcome: Outcome,
    when: datetime,
) -> None:
    if not outcome.approved:
        intent.status = "REQUIRES_PAYMENT_METHOD"
        intent.last_payment_error = outcome.error_json()
        state.stats.declines += 1
        return
    intent.status = "REQUIRES_CAPTURE"
    intent.authorized_at = when
    intent.latest_card = method.card_json()
    if not intent.off_session and intent.standing_instruction_type is not None:
        intent.mandate_id = _create_mandate(
            state,
            method,
            intent.standing_instruction_type,
            intent.id,
            intent.customer_id,
            intent.location,
            when,
        ).id
    _save_to_profile(method, intent.customer_id)
    state.record_authorization(intent, when)


def verify_setup(state: SandboxState, intent: SetupIntent, method: PaymentMethod) -> None:
    """The $0 authorization of a setup intent confirm."""
    intent.payment_method_id = method.id
    intent.last_setup_error = None
    outcome = decide(state, method, verification=True)
    delay = delay_for(state, method, verification=True)
    _settle(state, intent, delay, lambda when: _finish_setup(state, intent, method, outcome, when))


def _finish_setup(
    state: SandboxState,
    intent: SetupIntent,
    method: PaymentMethod,
    outcome: Outcome,
    when: datetime,
) -> None:
    if not outcome.approved:
        intent.status = "REQUIRES_PAYMENT_METHOD"
        intent.last_setup_error = outcome.error_json()
        state.stats.declines += 1
        return
    intent.status = "SUCCEEDED"
    if intent.usage == "OFF_SESSION":
        assert intent.standing_instruction_type is not None
        intent.mandate_id = _create_mandate(
            state,
            method,
            intent.standing_instruction_type,
            intent.id,
            intent.customer_id,
            intent.location,
            when,
        ).id
    elif method.usage is None:
        method.usage = "ON_SESSION"  # ASSUMPTION: an ON_SESSION setup saves the card for CIT.
    _save_to_profile(method, intent.customer_id)


def _create_mandate(
    state: SandboxState,
    method: PaymentMethod,
    instruction: str,
    original: str,
    customer_id: str | None,
    location: str | None,
    when: datetime,
) -> Mandate:
    mandate = Mandate(
        id=state.new_id(),
        customer_id=customer_id,
        payment_method_id=method.id,
        original_transaction_id=original,
        standing_instruction_type=instruction,
        status="ACTIVE",
        created_at=when,
        location=location,
    )
    state.add_mandate(mandate)
    # ASSUMPTION: consent upgrades the method's usage so it can serve MIT.
    saved = method.usage in ("ON_SESSION", "ON_AND_OFF_SESSION")
    method.usage = "ON_AND_OFF_SESSION" if saved else "OFF_SESSION"
    return mandate


def _save_to_profile(method: PaymentMethod, customer_id: str | None) -> None:
    if customer_id is not None and method.usage in ("ON_SESSION", "ON_AND_OFF_SESSION"):
        method.customer_id = customer_id
        method.saved = True
