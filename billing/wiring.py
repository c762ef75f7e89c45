"""The composition root: build the store, the Toast client and the engine from settings.

Nothing here is module-global: the CLI calls these with the settings it loaded once.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from billing.clock import BusinessClock, Clock, SystemClock
from billing.engine.sweeper import Engine
from billing.settings import BillingSettings
from billing.store.db import Store
from billing.store.token_cache import StoreTokenCache
from billing.toast.facade import ToastClient


@asynccontextmanager
async def toast_client(
    settings: BillingSettings, store: Store, *, business: Clock | None = None
) -> AsyncIterator[ToastClient]:
    """A client on the real clock (or whose tokens age on ``business`` time while its rate
    limits count real seconds), sharing its token with other workers through ``store``."""
    real = SystemClock()
    clock: Clock = real if business is None else BusinessClock(business, real)
    client = ToastClient.from_settings(
        settings.toast, clock=clock, token_cache=StoreTokenCache(store)
    )
    try:
        yield client
    finally:
        await client.aclose()


@asynccontextmanager
async def engine(
    settings: BillingSettings, *, clock: Clock, store: Store | None = None
) -> AsyncIterator[Engine]:
    """An engine whose business time is ``clock``; the Toast client's tokens age on it too
    (the sandbox's clock moves with a simulation), its rate limits keep real time."""
    owned = store is None
    store = store or Store.from_url(settings.database_url)
    business = None if isinstance(clock, SystemClock) else clock
    try:
        async with toast_client(settings, store, business=business) as client:
            built = Engine(store=store, client=client, clock=clock, settings=settings)
            try:
                yield built
            finally:  # a `billing tick` gives its locations back at once, not a lease later
                try:
                    await built.ownership.release_all(built.charger.holdings.locations())
                except Exception:  # the leases lapse by themselves; never mask the real error
                    logging.getLogger("billing.engine").warning(
                        "location_release_failed", exc_info=True,
                        extra={"action": "location_release_failed"},
                    )  # fmt: skip
    finally:
        if owned:
            store.dispose()
