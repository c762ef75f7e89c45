"""The `billing` command: Typer app whose entry point builds settings once and passes them down."""

from __future__ import annotations

import sys

import typer

from billing.cli import (
    db_cmd,
    demo_cmd,
    engine_cmd,
    report_cmd,
    serve_cmd,
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


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        fail("interrupted", code=130)
    sys.exit(0)
