"""Login, token sharing and refresh, against the sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from billing.sandbox.remote import SandboxControl
from billing.toast import InMemoryTokenCache, ToastClient, errors
from tests.toast.conftest import LOC_A, LOC_B, VISA, ShiftedClock

pytestmark = pytest.mark.anyio


async def _logins(control: SandboxControl) -> list[dict[str, Any]]:
    return await control.requests(path="/authentication/login")


async def test_concurrent_callers_share_one_login(
    toast: ToastClient, control: SandboxControl
) -> None:
    cof = await control.card_on_file(LOC_A, VISA)
    await asyncio.gather(
        *(toast.mandates.get(cof["mandateId"], location=(LOC_A, LOC_B)[n % 2]) for n in range(16))
    )
    assert len(await _logins(control)) == 1


async def test_token_invalidated_mid_run_is_replaced_once(
    toast: ToastClient, control: SandboxControl
) -> None:
    cof = await control.card_on_file(LOC_A, VISA)
    await toast.mandates.get(cof["mandateId"], location=LOC_A)
    assert await control.invalidate_tokens() >= 1
    results = await asyncio.gather(
        *(toast.mandates.get(cof["mandateId"], location=LOC_A) for _ in range(8))
    )
    assert {m.id for m in results} == {cof["mandateId"]}
    assert len(await _logins(control)) == 2
    assert 1 <= len(await control.requests(status=401)) <= 8


async def test_token_is_refreshed_shortly_before_expiry(
    toast: ToastClient, control: SandboxControl, clock: ShiftedClock
) -> None:
    cof = await control.card_on_file(LOC_A, VISA)
    await toast.mandates.get(cof["mandateId"], location=LOC_A)
    # When both clocks reach 20 s before the one-day token's expiry
    shift = 86_400 - 20
    clock.offset += timedelta(seconds=shift)
    await control.advance(shift)
    await toast.mandates.get(cof["mandateId"], location=LOC_A)
    # Then the client logged in again before using it, and no call was refused
    assert len(await _logins(control)) == 2
    assert await control.requests(status=401) == []


async def test_never_more_logins_than_the_budget(
    toast: ToastClient, control: SandboxControl
) -> None:
    cof = await control.card_on_file(LOC_A, VISA)
    await toast.mandates.get(cof["mandateId"], location=LOC_A)
    await control.invalidate_tokens()
    await toast.mandates.get(cof["mandateId"], location=LOC_A)
    await control.invalidate_tokens()
    with pytest.raises(errors.ToastLoginUnavailable) as info:
        await toast.mandates.get(cof["mandateId"], location=LOC_A)
    assert info.value.retry_after > 3000
    # and the spent budget never blocked the location's request limiter
    assert toast.requester.limiter._key(LOC_A).blocked_until == 0.0
    assert len(await _logins(control)) == 2  # Toast: never more than two per hour


async def test_workers_share_the_token_through_the_cache(
    make_client: Callable[..., ToastClient], control: SandboxControl
) -> None:
    cache = InMemoryTokenCache()
    workers = [make_client(token_cache=cache) for _ in range(3)]
    cof = await control.card_on_file(LOC_A, VISA)
    for worker in workers:
        await worker.mandates.get(cof["mandateId"], location=LOC_A)
    assert len(await _logins(control)) == 1
    # after an invalidation, one worker logs in and the others pick its token from the cache
    await control.invalidate_tokens()
    for worker in workers:
        await worker.mandates.get(cof["mandateId"], location=LOC_A)
    assert len(await _logins(control)) == 2


async def test_bad_credentials_are_auth_failed_without_the_secret(
    make_client: Callable[..., ToastClient], settings_for: Any, control: SandboxControl
) -> None:
    toast = make_client(settings=settings_for(client_secret=SecretStr("wrong-secret-xyz")))
    with pytest.raises(errors.ToastAuthFailed) as info:
        await toast.mandates.get("6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a02", location=LOC_A)
    assert info.value.status == 401
    assert "wrong-secret-xyz" not in str(info.value)
    assert "wrong-secret-xyz" not in repr(toast)
    assert len(await _logins(control)) == 1
