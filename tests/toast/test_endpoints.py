"""Every endpoint the sandbox implements, through the client, over HTTP on 127.0.0.1."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import pytest

import billing
from billing.clock import SystemClock
from billing.sandbox.remote import SandboxControl
from billing.settings import ToastSettings
from billing.toast import ToastClient, errors
from billing.toast.models.base import StandingInstructionType, Usage
from billing.toast.models.orders import OrderPayment, PaymentStatus
from billing.toast.models.payment_intents import PaymentIntentStatus
from billing.toast.models.payment_methods import MandateStatus
from billing.toast.models.setup_intents import SetupIntentStatus
from tests.toast.conftest import LOC_A, VISA
from tests.toast.flows import card, charge, create_mit, enroll

pytestmark = [pytest.mark.anyio, pytest.mark.toast_verified]


async def test_enrollment_endpoints(toast: ToastClient, control: SandboxControl) -> None:
    # Given a customer and an OFF_SESSION setup intent
    customer = await toast.customers.create(
        location=LOC_A, external_reference_id="cust-1", description="jo@example.com"
    )
    si = await toast.setup_intents.create(
        location=LOC_A,
        standing_instruction_type=StandingInstructionType.RECURRING,
        customer_id=customer.id,
    )
    assert si.status is SetupIntentStatus.REQUIRES_PAYMENT_METHOD
    assert (await toast.setup_intents.get(si.id, location=LOC_A)).id == si.id
    updated = await toast.setup_intents.update(
        si.id, location=LOC_A, usage=Usage.OFF_SESSION, session_secret=si.session_secret
    )
    assert updated.usage is Usage.OFF_SESSION
    # When a card is created against its secret and the intent is confirmed
    assert si.session_secret is not None
    pm = await toast.payment_methods.create(
        location=LOC_A,
        session_secret=si.session_secret,
        idempotency_key=uuid.uuid4(),
        card=card(VISA),
        usage=Usage.OFF_SESSION,
    )
    assert pm.card is not None
    assert pm.card.last_four == "1111"
    done = await toast.setup_intents.confirm(
        si.id, location=LOC_A, session_secret=si.session_secret, payment_method_id=pm.id
    )
    # Then a mandate exists, readable one by one and by payment method
    assert done.status is SetupIntentStatus.SUCCEEDED
    assert done.mandate_id
    mandate = await toast.mandates.get(done.mandate_id, location=LOC_A)
    assert mandate.status is MandateStatus.ACTIVE
    listed = await toast.mandates.list_for_payment_method(pm.id, location=LOC_A)
    assert [m.id for m in listed] == [mandate.id]
    saved = await toast.customers.list_payment_methods(customer.id, location=LOC_A)
    assert saved.results is not None
    assert (await control.find("mandates", id=mandate.id))[0]["status"] == "ACTIVE"


async def test_mit_charge_applied_to_a_check(toast: ToastClient, control: SandboxControl) -> None:
    enrollment = await enroll(toast, LOC_A, VISA)
    intent = await create_mit(toast, LOC_A, enrollment.mandate_id, amount=1500)
    assert intent.status is PaymentIntentStatus.REQUIRES_PAYMENT_METHOD
    assert intent.off_session is True
    got = await toast.payment_intents.get(intent.id, location=LOC_A)
    assert got.external_reference_id == intent.external_reference_id
    updated = await toast.payment_intents.update(
        intent.id, location=LOC_A, amount=2000, tip=0, email="new@example.com"
    )
    assert updated.amount == 2000
    confirmed = await toast.payment_intents.confirm(
        intent.id,
        location=LOC_A,
        session_secret=intent.session_secret,
        payment_method_id=enrollment.payment_method_id,
    )
    assert confirmed.status is PaymentIntentStatus.REQUIRES_CAPTURE
    order = await toast.orders.create_order(
        location=LOC_A, payments=[OrderPayment.for_intent(confirmed)]
    )
    assert order.checks
    payment = await toast.orders.get_payment(str(confirmed.external_reference_id), location=LOC_A)
    assert payment.successful
    ledger = await control.find("order-payments", guid=confirmed.external_reference_id)
    assert ledger[0]["status"] == "CAPTURED"
    assert ledger[0]["amount"] == 2000


async def test_add_payment_to_an_existing_check(
    toast: ToastClient, control: SandboxControl
) -> None:
    enrollment = await enroll(toast, LOC_A, VISA)
    _, order = await charge(toast, LOC_A, enrollment)
    second = await create_mit(toast, LOC_A, enrollment.mandate_id, amount=700)
    second = await toast.payment_intents.confirm(
        second.id,
        location=LOC_A,
        session_secret=second.session_secret,
        payment_method_id=enrollment.payment_method_id,
    )
    check_guid = order.checks[0].guid
    assert check_guid is not None
    after = await toast.orders.add_payments(
        location=LOC_A,
        order_guid=order.guid,
        check_guid=check_guid,
        payments=[OrderPayment.for_intent(second)],
    )
    assert after.guid == order.guid
    payment = await toast.orders.get_payment(str(second.external_reference_id), location=LOC_A)
    assert payment.payment_status in (PaymentStatus.CAPTURED, PaymentStatus.AUTHORIZED)


async def test_revoke_then_detach(toast: ToastClient, control: SandboxControl) -> None:
    enrollment = await enroll(toast, LOC_A, VISA)
    await toast.mandates.revoke(enrollment.mandate_id, location=LOC_A)
    mandate = await toast.mandates.get(enrollment.mandate_id, location=LOC_A)
    assert mandate.status is MandateStatus.INACTIVE
    detached = await toast.payment_methods.detach(
        enrollment.payment_method_id, location=LOC_A, customer_id=enrollment.customer_id
    )
    assert detached.id == enrollment.payment_method_id
    pm = await control.find("payment-methods", id=enrollment.payment_method_id)
    assert pm[0]["detached"] is True


@pytest.mark.parametrize(
    ("number", "decline_type", "code"),
    [
        ("4000000000009995", "CARD_DECLINED", "insufficient_funds"),
        ("4000000000000341", "CARD_DECLINED", "insufficient_funds"),
    ],
)
async def test_decline_has_type_and_code(
    toast: ToastClient, control: SandboxControl, number: str, decline_type: str, code: str
) -> None:
    cof = await control.card_on_file(LOC_A, number)
    assert cof["mandateId"], cof
    intent = await create_mit(toast, LOC_A, cof["mandateId"])
    with pytest.raises(errors.ToastDeclined) as info:
        await toast.payment_intents.confirm(
            intent.id,
            location=LOC_A,
            session_secret=intent.session_secret,
            payment_method_id=cof["paymentMethodId"],
        )
    assert (info.value.decline_type, info.value.decline_code) == (decline_type, code)
    assert not info.value.money_may_have_moved
    state = await control.find("payment-intents", id=intent.id)
    assert state[0]["status"] == "REQUIRES_PAYMENT_METHOD"
    assert await control.find("order-payments", paymentIntentId=intent.id) == []


async def test_not_found_carries_request_id(toast: ToastClient) -> None:
    with pytest.raises(errors.ToastNotFound) as info:
        await toast.payment_intents.get(uuid.uuid4(), location=LOC_A)
    assert info.value.status == 404
    assert info.value.request_id
    assert info.value.request_id in str(info.value)


async def test_conflict_when_updating_an_authorized_intent(
    toast: ToastClient, control: SandboxControl
) -> None:
    cof = await control.card_on_file(LOC_A, VISA)
    intent = await create_mit(toast, LOC_A, cof["mandateId"])
    await toast.payment_intents.confirm(
        intent.id,
        location=LOC_A,
        session_secret=intent.session_secret,
        payment_method_id=cof["paymentMethodId"],
    )
    with pytest.raises(errors.ToastConflict) as info:
        await toast.payment_intents.update(intent.id, location=LOC_A, email="x@y.io")
    assert info.value.status == 409


async def test_invalid_request_from_the_server_names_the_field(
    toast: ToastClient, control: SandboxControl
) -> None:
    with pytest.raises(errors.ToastInvalidRequest) as info:
        await toast.setup_intents.create(location=LOC_A, usage=Usage.ON_SESSION)  # no customer
    assert info.value.status == 400
    assert info.value.field == "customerId"
    assert info.value.request_id
    assert await control.items("setup-intents") == []


async def test_unknown_mandate_is_refused(toast: ToastClient, control: SandboxControl) -> None:
    with pytest.raises(errors.ToastAPIError) as info:
        await toast.payment_intents.create(
            location=LOC_A,
            amount=1000,
            external_reference_id=uuid.uuid4(),
            off_session=True,
            mandate_id=uuid.uuid4(),  # no such mandate
        )
    assert info.value.status in (400, 404, 409)
    assert await control.items("payment-intents") == []


async def test_invalid_values_are_refused_before_sending(
    toast: ToastClient, control: SandboxControl
) -> None:
    with pytest.raises(errors.ToastInvalidRequest) as info:
        await toast.payment_intents.create(
            location=LOC_A, amount=100_000_000, external_reference_id=uuid.uuid4()
        )
    assert info.value.field == "amount"
    with pytest.raises(errors.ToastInvalidRequest):
        await toast.payment_intents.get("not-a-uuid", location=LOC_A)
    assert await control.requests() == []


async def test_headers_on_the_wire(
    make_client: Callable[..., ToastClient], control: SandboxControl
) -> None:
    sent: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        sent.append(request)

    toast = make_client(http_kw={"event_hooks": {"request": [record]}})
    await enroll(toast, LOC_A, VISA)
    login, *calls = sent
    assert login.url.path.endswith("/authentication/login")
    assert "Authorization" not in login.headers
    for request in sent:
        assert request.headers["User-Agent"] == f"billing/{billing.__version__}"
    for request in calls:
        assert request.headers["Authorization"].startswith("Bearer ")
        assert request.headers["Toast-Restaurant-External-ID"] == LOC_A
    [create_pm] = [r for r in calls if r.url.path == "/v1/payment-methods"]
    assert uuid.UUID(create_pm.headers["Toast-Idempotency-Key"])
    assert create_pm.headers["Toast-Session-Secret"].startswith("SI_")
    others = [r for r in calls if r is not create_pm]
    assert all("Toast-Idempotency-Key" not in r.headers for r in others)


async def test_processing_is_returned_not_raised(
    toast: ToastClient, control: SandboxControl
) -> None:
    cof = await control.card_on_file(LOC_A, VISA)
    intent = await create_mit(toast, LOC_A, cof["mandateId"])
    await control.faults(processingStallSeconds=30)  # processor outage
    confirmed = await toast.payment_intents.confirm(
        intent.id,
        location=LOC_A,
        session_secret=intent.session_secret,
        payment_method_id=cof["paymentMethodId"],
    )
    assert confirmed.status is PaymentIntentStatus.PROCESSING
    await control.advance(60)
    later = await toast.payment_intents.get(intent.id, location=LOC_A)
    assert later.status is PaymentIntentStatus.REQUIRES_CAPTURE


async def test_client_built_from_settings_owns_its_http_client(
    settings_for: Callable[..., ToastSettings], control: SandboxControl
) -> None:
    cof = await control.card_on_file(LOC_A, VISA)
    async with ToastClient.from_settings(settings_for(), clock=SystemClock()) as toast:
        mandate = await toast.mandates.get(cof["mandateId"], location=LOC_A)
    assert mandate.active
    assert toast._http.is_closed


def test_public_surface() -> None:
    import billing.toast

    assert sorted(billing.toast.__all__) == [
        "CachedToken",
        "InMemoryTokenCache",
        "RateLimiter",
        "ToastClient",
        "TokenCache",
    ]
