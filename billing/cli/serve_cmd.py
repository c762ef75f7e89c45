"""`billing serve`: the enrollment API for the merchant's website (and, with --demo-site in
sandbox mode, the demo site at /)."""

from __future__ import annotations

import typer
import uvicorn
from fastapi import FastAPI

from billing import logs, wiring
from billing.cli import ports
from billing.cli.context import fail, settings_or_exit
from billing.cli.log_option import LOG_FORMAT
from billing.clock import Clock, SystemClock
from billing.enroll import api, demo_site
from billing.errors import BillingError
from billing.settings import BillingSettings, api_key_problem, sandbox_exposure
from billing.store.db import Store

DEMO_HELP = ("Also serve the demo website at / (sandbox mode only; unauthenticated: it creates "
             "customers, plans and setup intents)")  # fmt: skip


def build_app(
    settings: BillingSettings, store: Store, clock: Clock, *, with_demo_site: bool = False
) -> FastAPI:
    if with_demo_site:
        location = settings.toast.location_guid
        demo_site.ensure_demo_plans(store, location_guid=location, now=clock.now())
    return api.create_app(
        settings, store, lambda: wiring.toast_client(settings, store), clock,
        with_demo_site=with_demo_site,
    )  # fmt: skip


def refusal(settings: BillingSettings, *, with_demo_site: bool) -> str | None:
    """Why `billing serve` must not start (None: it may)."""
    if with_demo_site and settings.mode != "sandbox":
        return "--demo-site: the demo site is unauthenticated and only served in sandbox mode"
    return api_key_problem(settings)


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on"),
    port: int = typer.Option(8800, "--port", help="TCP port"),
    with_demo_site: bool = typer.Option(False, "--demo-site", help=DEMO_HELP),
    log_format: logs.LogFormat = LOG_FORMAT,
) -> None:
    """Serve the enrollment API (OpenAPI at /docs); with --demo-site also the demo site at /.

    Example: BILLING_API_KEY=... billing serve --port 8800
    """
    settings = settings_or_exit()
    problem = refusal(settings, with_demo_site=with_demo_site)
    if problem is not None:
        fail(problem)
    exposure = sandbox_exposure(settings)
    if exposure is not None:
        typer.echo(f"WARNING: {exposure}", err=True)
    ports.ensure_free(host, port)
    logs.configure(settings.log_level, fmt=log_format)
    store = Store.from_url(settings.database_url)
    try:
        try:
            app = build_app(settings, store, SystemClock(), with_demo_site=with_demo_site)
        except BillingError as exc:
            fail(exc.message)
        uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)  # billing.access
    finally:
        store.dispose()
