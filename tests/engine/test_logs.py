"""A full engine flow logged at DEBUG shows no client secret, token or session secret."""

from __future__ import annotations

import io
import logging

import pytest

from billing import logs
from billing.sandbox import SandboxHandle
from billing.sandbox.remote import lose_response
from billing.settings import PLACEHOLDER_SECRET
from tests.engine.conftest import START
from tests.engine.world import world

pytestmark = pytest.mark.anyio


async def test_debug_logs_of_a_full_flow_hold_no_secret(
    sandbox: SandboxHandle, sqlite_url: str
) -> None:
    stream = io.StringIO()
    logs.configure("DEBUG", stream=stream)
    for name in ("httpx", "httpcore"):  # the noisiest layers, at DEBUG too
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        async with world(sandbox, sqlite_url, START) as w:
            await w.control.faults(lose_response("POST", r"/confirm$"))
            await w.fee(amount=4200)
            await w.run_until(START.replace(hour=2))
            intents = await w.control.items("payment-intents")
    finally:
        logging.getLogger().handlers.clear()
    text = stream.getvalue()
    assert '"action": "charge_paid"' in text  # the flow ran and was logged
    secrets = [PLACEHOLDER_SECRET] + [i["sessionSecret"] for i in intents if i.get("sessionSecret")]
    assert len(secrets) > 1  # the sandbox lists the session secrets it issued
    assert [s for s in secrets if s in text] == []
    assert "eyJ" not in text  # no JWT
    assert "Bearer " not in text
