"""A full flow logged at DEBUG shows no client secret, token, session secret or card number."""

from __future__ import annotations

import logging
import uuid

import pytest

from billing.sandbox.remote import SandboxControl, lose_response
from billing.settings import PLACEHOLDER_SECRET
from billing.toast import ToastClient, errors
from billing.toast.models.orders import OrderPayment
from tests.toast.conftest import LOC_A, VISA
from tests.toast.flows import enroll

pytestmark = pytest.mark.anyio


async def test_debug_logs_of_a_full_flow_hold_no_secret(
    toast: ToastClient, control: SandboxControl, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # root: billing, httpx, httpcore, the sandbox, uvicorn
    enrollment = await enroll(toast, LOC_A, VISA)
    intent = await toast.payment_intents.create(
        location=LOC_A,
        amount=1234,
        external_reference_id=uuid.uuid4(),
        email="a@b.io",
        off_session=True,
        mandate_id=enrollment.mandate_id,
    )
    confirmed = await toast.payment_intents.confirm(
        intent.id,
        location=LOC_A,
        session_secret=intent.session_secret,
        payment_method_id=enrollment.payment_method_id,
    )
    await toast.orders.create_order(location=LOC_A, payments=[OrderPayment.for_intent(confirmed)])
    await control.invalidate_tokens()  # a 401 and a re-login are logged too
    await control.faults(lose_response("POST", "/confirm$"))
    with pytest.raises(errors.ToastOutcomeUnknown) as lost:
        await toast.payment_intents.confirm(
            intent.id, location=LOC_A, session_secret=intent.session_secret
        )
    token = await toast.requester.auth._cache.load()
    assert token is not None
    assert intent.session_secret is not None
    secrets = {
        "client secret": PLACEHOLDER_SECRET,
        "access token": token.access_token,
        "session secret": intent.session_secret.get_secret_value(),
        "card number": VISA,
    }
    records = caplog.records
    assert any(getattr(r, "action", None) == "toast_request" for r in records)
    assert {"httpx", "httpcore.http11"} <= {r.name for r in records}  # really everything
    text = caplog.text + "".join(repr(vars(r)) for r in records)
    text += repr(toast) + repr(intent) + str(lost.value) + repr(token)
    for name, value in secrets.items():
        assert value not in text, f"{name} leaked"


def test_call_repr_hides_body_and_headers() -> None:
    from billing.toast.client import Call

    call = Call(
        action="x",
        method="POST",
        path="/v1/payment-methods",
        location=LOC_A,
        json={"card": {"number": VISA}},
        headers={"Toast-Session-Secret": "SI_1_SECRET_abc"},
    )
    assert VISA not in repr(call)
    assert "SECRET_abc" not in repr(call)
