"""Injected faults: each test asserts what the client reports AND the sandbox's resulting state.

Lost responses: the sandbox processes the request, then drops the connection mid-answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from billing.sandbox.remote import SandboxControl, lose_response, server_error
from billing.toast import ToastClient, errors
from billing.toast.models.base import StandingInstructionType, Usage
from billing.toast.models.orders import OrderPayment
from tests.toast.conftest import LOC_A, VISA
from tests.toast.flows import card, create_mit

pytestmark = pytest.mark.anyio

UUID = "[0-9a-f-]+"


async def _authorized(toast: ToastClient, control: SandboxControl) -> Any:
    cof = await control.card_on_file(LOC_A, VISA)
    intent = await create_mit(toast, LOC_A, cof["mandateId"])
    return await toast.payment_intents.confirm(
        intent.id,
        location=LOC_A,
        session_secret=intent.session_secret,
        payment_method_id=cof["paymentMethodId"],
    )


# Each case: (name, HTTP method, path regex, prepare(toast, control) -> call, check(control, ctx))
Call = Callable[[], Awaitable[Any]]


async def _case_customer_create(
    toast: ToastClient, control: SandboxControl
) -> tuple[Call, Callable[[], Awaitable[bool]]]:
    ref = str(uuid.uuid4())

    async def call() -> Any:
        return await toast.customers.create(
            location=LOC_A, external_reference_id=ref, description="d"
        )

    async def happened() -> bool:
        return bool(await control.find("customers", externalReferenceId=ref))

    return call, happened


async def _case_setup_intent_create(
    toast: ToastClient, control: SandboxControl
) -> tuple[Call, Callable[[], Awaitable[bool]]]:
    async def call() -> Any:
        return await toast.setup_intents.create(
            location=LOC_A,
            usage=Usage.OFF_SESSION,
            standing_instruction_type=StandingInstructionType.RECURRING,
        )

    async def happened() -> bool:
        return len(await control.items("setup-intents")) == 1

    return call, happened


async def _case_setup_intent_confirm(
    toast: ToastClient, control: SandboxControl
) -> tuple[Call, Callable[[], Awaitable[bool]]]:
    si = await toast.setup_intents.create(
        location=LOC_A, standing_instruction_type=StandingInstructionType.RECURRING
    )
    assert si.session_secret is not None
    pm = await toast.payment_methods.create(
        location=LOC_A,
        session_secret=si.session_secret,
        idempotency_key=uuid.uuid4(),
        card=card(VISA),
        usage=Usage.OFF_SESSION,
    )

    async def call() -> Any:
        return await toast.setup_intents.confirm(
            si.id, location=LOC_A, session_secret=si.session_secret, payment_method_id=pm.id
        )

    async def happened() -> bool:
        return (await control.find("setup-intents", id=si.id))[0]["status"] == "SUCCEEDED"

    return call, happened


async def _case_setup_intent_update(
    toast: ToastClient, control: SandboxControl
) -> tuple[Call, Callable[[], Awaitable[bool]]]:
    si = await toast.setup_intents.create(
        location=LOC_A, standing_instruction_type=StandingInstructionType.RECURRING
    )
    customer = await toast.customers.create(
        location=LOC_A, external_reference_id="c", description="d"
    )

    async def call() -> Any:
        return await toast.setup_intents.update(si.id, location=LOC_A, customer_id=customer.id)

    async def happened() -> bool:
        return (await control.find("setup-intents", id=si.id))[0]["customerId"] == customer.id

    return call, happened


async def _case_pi_create(
    toast: ToastClient, control: SandboxControl
) -> tuple[Call, Callable[[], Awaitable[bool]]]:
    cof = await control.card_on_file(LOC_A, VISA)
    erid = uuid.uuid4()

    async def call() -> Any:
        return await toast.payment_intents.create(
            location=LOC_A,
            amount=900,
            external_reference_id=erid,
            email="a@b.io",
            off_session=True,
            mandate_id=cof["mandateId"],
        )

    async def happened() -> bool:
        return len(await control.find("payment-intents", externalReferenceId=str(erid))) == 1

    return call, happened


async def _case_pi_update(
    toast: ToastClient, control: SandboxControl
) -> tuple[Call, Callable[[], Awaitable[bool]]]:
    cof = await control.card_on_file(LOC_A, VISA)
    intent = await create_mit(toast, LOC_A, cof["mandateId"])

    async def call() -> Any:
        return await toast.payment_intents.update(intent.id, location=LOC_A, email="z@z.io")

    async def happened() -> bool:
        return (await control.find("payment-intents", id=intent.id))[0]["email"] == "z@z.io"

    return call, happened


async def _case_pi_confirm(
    toast: ToastClient, control: SandboxControl
) -> tuple[Call, Callable[[], Awaitable[bool]]]:
    cof = await control.card_on_file(LOC_A, VISA)
    intent = await create_mit(toast, LOC_A, cof["mandateId"])

    async def call() -> Any:
        return await toast.payment_intents.confirm(
            intent.id,
            location=LOC_A,
            session_secret=intent.session_secret,
            payment_method_id=cof["paymentMethodId"],
        )

    async def happened() -> bool:
        return bool(await control.find("order-payments", paymentIntentId=intent.id))

    return call, happened


async def _case_detach(
    toast: ToastClient, control: SandboxControl
) -> tuple[Call, Callable[[], Awaitable[bool]]]:
    cof = await control.card_on_file(LOC_A, VISA)
    await toast.mandates.revoke(cof["mandateId"], location=LOC_A)

    async def call() -> Any:
        return await toast.payment_methods.detach(cof["paymentMethodId"], location=LOC_A)

    async def happened() -> bool:
        return (await control.find("payment-methods", id=cof["paymentMethodId"]))[0]["detached"]

    return call, happened


async def _case_revoke(
    toast: ToastClient, control: SandboxControl
) -> tuple[Call, Callable[[], Awaitable[bool]]]:
    cof = await control.card_on_file(LOC_A, VISA)

    async def call() -> Any:
        return await toast.mandates.revoke(cof["mandateId"], location=LOC_A)

    async def happened() -> bool:
        return (await control.find("mandates", id=cof["mandateId"]))[0]["status"] == "INACTIVE"

    return call, happened


async def _case_order_create(
    toast: ToastClient, control: SandboxControl
) -> tuple[Call, Callable[[], Awaitable[bool]]]:
    intent = await _authorized(toast, control)

    async def call() -> Any:
        return await toast.orders.create_order(
            location=LOC_A, payments=[OrderPayment.for_intent(intent)]
        )

    async def happened() -> bool:
        entry = await control.find("order-payments", guid=intent.external_reference_id)
        return entry[0]["orderGuid"] is not None

    return call, happened


async def _case_add_payments(
    toast: ToastClient, control: SandboxControl
) -> tuple[Call, Callable[[], Awaitable[bool]]]:
    first = await _authorized(toast, control)
    order = await toast.orders.create_order(
        location=LOC_A, payments=[OrderPayment.for_intent(first)]
    )
    second = await _authorized(toast, control)
    check = order.checks[0].guid
    assert check is not None

    async def call() -> Any:
        return await toast.orders.add_payments(
            location=LOC_A,
            order_guid=order.guid,
            check_guid=check,
            payments=[OrderPayment.for_intent(second)],
        )

    async def happened() -> bool:
        entry = await control.find("order-payments", guid=second.external_reference_id)
        return entry[0]["checkGuid"] == check

    return call, happened


LOST_UNKNOWN = [
    ("POST", "/v1/customers$", _case_customer_create),
    ("POST", "/v1/setup-intents$", _case_setup_intent_create),
    ("POST", f"/v1/setup-intents/{UUID}$", _case_setup_intent_update),
    ("POST", f"/v1/setup-intents/{UUID}/confirm$", _case_setup_intent_confirm),
    ("POST", "/v1/payment-intents$", _case_pi_create),
    ("POST", f"/v1/payment-intents/{UUID}$", _case_pi_update),
    ("POST", f"/v1/payment-intents/{UUID}/confirm$", _case_pi_confirm),
    ("POST", f"/v1/payment-methods/{UUID}/detach$", _case_detach),
    ("DELETE", f"/v1/mandates/{UUID}$", _case_revoke),
    ("POST", "/orders/v2/orders$", _case_order_create),
    ("POST", f"/orders/v2/orders/{UUID}/checks/{UUID}/payments$", _case_add_payments),
]


@pytest.mark.parametrize(
    ("method", "path", "case"), LOST_UNKNOWN, ids=[c[2].__name__[6:] for c in LOST_UNKNOWN]
)
async def test_lost_response_on_a_mutating_call_is_outcome_unknown(
    toast: ToastClient, control: SandboxControl, method: str, path: str, case: Any
) -> None:
    # Given a prepared object and a fault that drops the next answer to this call
    call, happened = await case(toast, control)
    await control.faults(lose_response(method, path))
    # When the call is made, the client reports that it cannot know (and does not re-send)
    with pytest.raises(errors.ToastOutcomeUnknown) as info:
        await call()
    assert info.value.money_may_have_moved
    # Then the sandbox did apply it exactly once
    assert await happened()
    sent = [r for r in await control.requests(method=method) if r["fault"] == "lost_response"]
    assert len(sent) == 1


async def test_lost_response_on_payment_method_create_is_retried_with_the_same_key(
    toast: ToastClient, control: SandboxControl
) -> None:
    si = await toast.setup_intents.create(
        location=LOC_A, standing_instruction_type=StandingInstructionType.RECURRING
    )
    assert si.session_secret is not None
    await control.faults(lose_response("POST", "/v1/payment-methods$"))
    pm = await toast.payment_methods.create(
        location=LOC_A,
        session_secret=si.session_secret,
        idempotency_key=uuid.uuid4(),
        card=card(VISA),
        usage=Usage.OFF_SESSION,
    )
    assert [m["id"] for m in await control.items("payment-methods")] == [pm.id]
    attempts = await control.requests(method="POST", path="/v1/payment-methods")
    assert [r["fault"] for r in attempts] == ["lost_response", None]


async def test_lost_response_on_a_read_is_retried(
    toast: ToastClient, control: SandboxControl
) -> None:
    cof = await control.card_on_file(LOC_A, VISA)
    await control.faults(lose_response("GET", "/v1/mandates/", hits=2))
    mandate = await toast.mandates.get(cof["mandateId"], location=LOC_A)
    assert mandate.id == cof["mandateId"]
    assert len(await control.requests(method="GET", path="/v1/mandates/")) == 3


async def test_5xx_on_a_read_is_retried(toast: ToastClient, control: SandboxControl) -> None:
    cof = await control.card_on_file(LOC_A, VISA)
    intent = await create_mit(toast, LOC_A, cof["mandateId"])
    await control.faults(server_error("GET", "/v1/payment-intents/", hits=2))
    assert (await toast.payment_intents.get(intent.id, location=LOC_A)).id == intent.id
    statuses = [r["status"] for r in await control.requests(method="GET")]
    assert statuses == [503, 503, 200]


async def test_5xx_on_create_intent_is_unknown_and_not_resent(
    toast: ToastClient, control: SandboxControl
) -> None:
    cof = await control.card_on_file(LOC_A, VISA)
    await control.faults(server_error("POST", "/v1/payment-intents$", status=500))
    with pytest.raises(errors.ToastServerOutcomeUnknown) as info:
        await create_mit(toast, LOC_A, cof["mandateId"])
    assert info.value.status == 500
    assert info.value.request_id
    # the sandbox refused before processing; the client could not know, so it did not re-send
    assert await control.items("payment-intents") == []
    assert len(await control.requests(method="POST", path="/v1/payment-intents")) == 1


async def test_5xx_on_confirm_is_unknown_and_the_engine_reads_back(
    toast: ToastClient, control: SandboxControl
) -> None:
    cof = await control.card_on_file(LOC_A, VISA)
    intent = await create_mit(toast, LOC_A, cof["mandateId"])
    await control.faults(server_error("POST", "/confirm$", status=502))
    with pytest.raises(errors.ToastOutcomeUnknown):
        await toast.payment_intents.confirm(
            intent.id,
            location=LOC_A,
            session_secret=intent.session_secret,
            payment_method_id=cof["paymentMethodId"],
        )
    again = await toast.payment_intents.get(intent.id, location=LOC_A)
    assert again.status == "REQUIRES_PAYMENT_METHOD"
    assert await control.find("order-payments", paymentIntentId=intent.id) == []


async def test_429_storm_is_waited_out(toast: ToastClient, control: SandboxControl) -> None:
    cof = await control.card_on_file(LOC_A, VISA)
    await toast.mandates.get(cof["mandateId"], location=LOC_A)  # logged in before the storm
    await control.faults(rateLimitStormSeconds=1.0)
    intent = await create_mit(toast, LOC_A, cof["mandateId"])
    assert intent.id
    records = await control.requests(method="POST", path="/v1/payment-intents")
    assert [r["status"] for r in records][-1] == 200
    assert 429 in [r["status"] for r in records]
    assert len(await control.items("payment-intents")) == 1


async def test_429_storm_longer_than_the_deadline_surfaces_rate_limited(
    make_client: Callable[..., ToastClient], settings_for: Any, control: SandboxControl
) -> None:
    toast = make_client(settings=settings_for(retry_deadline_s=0.5))
    cof = await control.card_on_file(LOC_A, VISA)
    await toast.mandates.get(cof["mandateId"], location=LOC_A)
    await control.faults(rateLimitStormSeconds=3.0)
    with pytest.raises(errors.ToastRateLimited) as info:
        await toast.mandates.get(cof["mandateId"], location=LOC_A)
    assert info.value.retry_after is not None
    assert not info.value.money_may_have_moved


async def test_connect_failure_is_not_sent(
    make_client: Callable[..., ToastClient], settings_for: Any
) -> None:
    toast = make_client(settings=settings_for(base_url="http://127.0.0.1:9", max_retries=1))
    with pytest.raises(errors.ToastNotSent) as info:
        await toast.payment_intents.create(
            location=LOC_A, amount=100, external_reference_id=uuid.uuid4()
        )
    assert not info.value.money_may_have_moved


async def test_read_timeout_on_confirm_is_unknown(
    make_client: Callable[..., ToastClient], settings_for: Any, control: SandboxControl
) -> None:
    toast = make_client(settings=settings_for(confirm_timeout_s=0.2))
    cof = await control.card_on_file(LOC_A, VISA)
    intent = await create_mit(toast, LOC_A, cof["mandateId"])
    await control.faults(
        {
            "method": "POST",
            "path": "/confirm$",
            "latencyMs": {"distribution": "fixed", "value": 600},
        }
    )
    with pytest.raises(errors.ToastOutcomeUnknown):
        await toast.payment_intents.confirm(
            intent.id,
            location=LOC_A,
            session_secret=intent.session_secret,
            payment_method_id=cof["paymentMethodId"],
        )
