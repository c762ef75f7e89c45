"""Every behaviour the sandbox chose where Toast's documentation is silent (toast-api.md §14).

Each entry names the setting that changes it, when there is one. ``billing sandbox
assumptions`` prints this table and ``GET /__sandbox__/assumptions`` serves it; the code marks
each place with an ``ASSUMPTION:`` comment.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Assumption:
    id: str
    topic: str
    choice: str
    setting: str = ""

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "topic": self.topic, "choice": self.choice, "setting": self.setting}


_A = Assumption
ASSUMPTIONS: tuple[Assumption, ...] = (
    _A(
        "A01",
        "Test cards",
        "Ours (Toast publishes none); any other Luhn-valid number approves; "
        "a card past its expiry declines expired_card. The 'declines its first N' card counts "
        "per mandate for merchant-initiated charges, per card number otherwise.",
        "processing_card_delay_s, decline_first_n",
    ),
    _A(
        "A02",
        "Payment intent create status",
        "200 (the reference does not show the code).",
        "assumptions.payment_intent_create_status",
    ),
    _A(
        "A03",
        "GET on an expired payment intent",
        "Still 200 with the current status, so "
        "outcomes can be read back; update and confirm give 404.",
        "assumptions.expired_payment_intent_get_status",
    ),
    _A(
        "A04",
        "Intent visibility",
        "A payment intent is only visible through the location that "
        "created it (404 elsewhere); setup intents, payment methods and mandates are not "
        "location-scoped for reads.",
    ),
    _A(
        "A05",
        "Unknown location",
        "Refused with 403 ErrorMessage.",
        "assumptions.unknown_location_status",
    ),
    _A(
        "A06",
        "Location header where the reference shows none",
        "Optional on setup intents, "
        "payment-method create and mandates; when sent it must be a known location and selects "
        "the rate-limit bucket.",
    ),
    _A(
        "A07",
        "Decline details",
        "Field lastPaymentError {type: CARD_DECLINED|FRAUDULENT, code} "
        "on the payment intent (lastSetupError on setup intents); codes generic_decline, "
        "insufficient_funds, expired_card, stolen_card, lost_card, fraudulent.",
    ),
    _A(
        "A08",
        "$0 setup verification",
        "Declines for generic/expired/fraud cards, but not for "
        "insufficient funds; the declines-first-N card counts payment authorizations only.",
    ),
    _A(
        "A09",
        "Confirm in a non-initial state",
        "Confirm or update outside "
        "REQUIRES_PAYMENT_METHOD returns 409 (documented for PROCESSING and REQUIRES_CAPTURE).",
    ),
    _A(
        "A10",
        "MIT confirm body",
        "paymentMethodId is optional (resolved from the mandate); if "
        "sent it must be the mandate's; sessionSecret optional but checked when sent.",
        "assumptions.require_session_secret_on_pi_confirm",
    ),
    _A(
        "A11",
        "MIT errors",
        "offSession without mandateId, mandateId without offSession, unknown "
        "mandate or standingInstructionType mismatch: 400. INACTIVE mandate: 409 (at create "
        "and at confirm).",
    ),
    _A(
        "A12",
        "Mandate scope",
        "A mandate can only be charged by the location whose request "
        "created it (409 elsewhere); one created without a location header is usable anywhere.",
        "assumptions.mandates_per_location",
    ),
    _A(
        "A13",
        "Second revoke",
        "DELETE on an INACTIVE mandate is a no-op 204.",
        "assumptions.revoke_inactive_mandate_status",
    ),
    _A(
        "A14",
        "Idempotency of POST /v1/payment-methods",
        "Keys live 24 h (sandbox clock); a "
        "replay with the same body returns the first 2xx response; the same key with a different "
        "body gets 409; errors are not cached. No other endpoint de-duplicates (a second create "
        "with the same externalReferenceId makes a second intent).",
        "assumptions.idempotency_ttl_s",
    ),
    _A(
        "A15",
        "Void and capture",
        "Not applied to a check within void_after_s of authorization: "
        "intent CANCELLED, ledger VOIDED. Applied: captured (intent SUCCEEDED, ledger CAPTURED) "
        "at once or at the location's next business-day cutoff.",
        "capture, cutoff_hour, location_timezone, void_after_s",
    ),
    _A(
        "A16",
        "Check payment shape",
        "{guid: externalReferenceId, type: CREDIT, amount: dollars "
        "excluding tip, tipAmount}; must match the authorization exactly; the payment is only "
        "visible through GET /orders/v2/payments/{guid} once applied.",
    ),
    _A(
        "A17",
        "Mandate creation",
        "A successful confirm of a CIT intent with "
        "standingInstructionType (consent assumed: no checkbox exists server-side) or of an "
        "OFF_SESSION setup intent creates an ACTIVE mandate; the method's usage becomes "
        "OFF_SESSION (ON_AND_OFF_SESSION if it was saved).",
    ),
    _A(
        "A18",
        "OFF_SESSION setup intent",
        "standingInstructionType is required (400 without); "
        "customerId is optional. ON_SESSION requires customerId.",
    ),
    _A(
        "A19",
        "Validation failures",
        "Luhn failure, bad CVV/expiry, missing headers, wrong "
        "session secret, unknown customerId: 400 ErrorMessage. Error code numbers are ours "
        "except 10025.",
    ),
    _A(
        "A20",
        "Tokens",
        "Login inside a token's last minute issues a new token; the old one "
        "stays valid until its own expiry; expiresIn is the remaining lifetime. Login "
        "frequency is counted (stats) but not enforced.",
    ),
    _A(
        "A21",
        "Rate-limit algorithm",
        "Per-second: token bucket holding one second of "
        "requests; 15 minutes: fixed window from the first request; refused requests do not "
        "count; X-Toast-RateLimit-By is GLOBAL; login and header-less calls share a per-IP "
        "bucket.",
        "rate_per_second, rate_per_15min",
    ),
    _A(
        "A22",
        "Decline leaves the method attached",
        "After a decline the intent keeps its "
        "paymentMethodId; a new confirm (same or other method) is allowed within 24 h.",
    ),
    _A(
        "A23",
        "Expired intents",
        "An expired payment intent keeps its status; a payment method "
        "cannot be created for an expired intent (404).",
    ),
    _A(
        "A24",
        "Customers",
        "Not scoped to a location; duplicates allowed; only cards saved to the profile are listed.",
    ),
    _A(
        "A25",
        "Detach",
        "customerId optional (a card-on-file may have none), a mismatch is 404; "
        "a method with an ACTIVE mandate stays usable for MIT with usage OFF_SESSION.",
    ),
    _A(
        "A26",
        "Card entry mode",
        "Orders payments of MIT intents show PARTNER_ECOM_COF, others KEYED.",
    ),
    _A(
        "A27",
        "Checkout iframe",
        "GET /__sandbox__/checkout stands in for the hosted checkout "
        "iframe; it gets the session secret by postMessage. Iframe credentials are not modelled: "
        "the session secret is the capability, and POST /__sandbox__/checkout/confirm runs "
        "create-payment-method + confirm server-side. An OFF_SESSION setup, and a "
        "customer-initiated payment intent carrying standingInstructionType, need the "
        "authorization box ticked (400 without); 'Remember this card' applies only to intents "
        "with a customerId. POST /__sandbox__/checkout/describe tells the page what it is "
        "confirming (kind, amount) so its button reads 'Pay $45.00' or 'Save card'.",
    ),
)


def render() -> str:
    lines = ["# Sandbox assumptions (where Toast's documentation is silent)", ""]
    for item in ASSUMPTIONS:
        setting = f" [setting: {item.setting}]" if item.setting else ""
        lines.append(f"- {item.id} {item.topic}: {item.choice}{setting}")
    return "\n".join(lines)
