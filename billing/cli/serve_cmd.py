"""`billing serve`: the enrollment API for the merchant's website (and, in sandbox mode, the
demo site at /)."""

from __future__ import annotations

import typer
import uvicorn
from fastapi import FastAPI

from billing import logs, wiring
from billing.cli import ports
from billing.cli.context import settings_or_exit
from billing.cli.log_option import LOG_FORMAT
from billing.clock import Clock, SystemClock
from billing.enroll import api, demo_site
from billing.settings import BillingSettings
from billing.store.db import Store


def build_app(settings: BillingSettings, store: Store, clock: Clock) -> FastAPI:
    demo = settings.mode == "sandbox"
    if demo:
        location = settings.toast.location_guid
        demo_site.ensure_demo_plans(store, location_guid=location, now=clock.now())
    return api.create_app(
        settings, store, lambda: wiring.toast_client(settings, store), clock, with_demo_site=demo
    )


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on"),
    port: int = typer.Option(8800, "--port", help="TCP port"),
    log_format: logs.LogFormat = LOG_FORMAT,
) -> None:
    """Serve the enrollment API (OpenAPI at /docs); in sandbox mode also the demo site at /.

    Example: BILLING_API_KEY=... billing serve --port 8800
    """
    settings = settings_or_exit()
    ports.ensure_free(host, port)
    logs.configure(settings.log_level, fmt=log_format)
    store = Store.from_url(settings.database_url)
    try:
        app = build_app(settings, store, SystemClock())
        uvicorn.run(app, host=host, port=port, log_config=None, access_log=True)
    finally:
        store.dispose()
