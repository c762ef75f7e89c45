"""The `billing` command: Typer app whose entry point builds settings once and passes them down."""

from __future__ import annotations

import sys

import typer

from billing.cli import (
    charges_cmd,
    customers_cmd,
    db_cmd,
    demo_cmd,
    engine_cmd,
    mandates_cmd,
    messages_cmd,
    overview_cmd,
    plans_cmd,
    report_cmd,
    serve_cmd,
    subscriptions_cmd,
)
from billing.cli.context import fail
from billing.sandbox import cli as sandbox_cli

app = typer.Typer(
    name="billing",
    help="Recurring billing for Toast: plans, members, and scheduled card-on-file charges.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db_cmd.app, name="db")
app.add_typer(sandbox_cli.app, name="sandbox")
app.command()(engine_cmd.run)
app.command()(engine_cmd.tick)
app.command()(engine_cmd.simulate)
app.command()(serve_cmd.serve)
app.command()(report_cmd.report)
app.command()(demo_cmd.demo)
app.add_typer(plans_cmd.app, name="plans")
app.add_typer(customers_cmd.app, name="customers")
app.command()(customers_cmd.enroll)
app.add_typer(subscriptions_cmd.app, name="subscriptions")
app.add_typer(charges_cmd.app, name="charges")
app.add_typer(mandates_cmd.app, name="mandates")
app.add_typer(messages_cmd.app, name="messages")
app.command()(overview_cmd.upcoming)
app.command()(overview_cmd.attention)
app.command()(overview_cmd.config)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        fail("interrupted", code=130)
    sys.exit(0)
