"""`billing sandbox ...`: serve the Toast emulator; print its assumptions."""

from __future__ import annotations

import uuid
from typing import Literal

import typer

from billing.sandbox.assumptions import render
from billing.sandbox.config import SandboxConfig
from billing.settings import DEFAULT_LOCATION

app = typer.Typer(
    help="The Toast sandbox (emulator of the hosted-checkout APIs).", no_args_is_help=True
)


@app.command("serve")
def serve_command(
    host: str = typer.Option("127.0.0.1", help="Bind address"),
    port: int = typer.Option(8790, help="Port (0 = ephemeral)"),
    location: list[str] = typer.Option(  # noqa: B008 - Typer's declaration style
        [], "--location", help="A location GUID the sandbox knows (repeatable)"
    ),
    test_mode: bool = typer.Option(True, help="Serve the /__sandbox__/ control API"),
    capture: str = typer.Option("immediate", help="immediate | cutoff"),
) -> None:
    """Serve the sandbox until interrupted.

    Example: billing sandbox serve --port 8790 --location 6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a01
    """
    from billing.sandbox.server import serve

    if capture not in ("immediate", "cutoff"):
        raise typer.BadParameter("capture must be immediate or cutoff")
    mode: Literal["immediate", "cutoff"] = "cutoff" if capture == "cutoff" else "immediate"
    for guid in location:
        try:
            uuid.UUID(guid)
        except ValueError:
            raise typer.BadParameter(f"--location {guid!r} is not a GUID") from None
    config = SandboxConfig(
        locations=tuple(location) or (DEFAULT_LOCATION,),
        host=host,
        port=port,
        test_mode=test_mode,
        capture=mode,
    )
    typer.echo(
        f"sandbox on http://{host}:{port} locations={','.join(config.locations)} "
        f"test_mode={test_mode}"
    )
    serve(config)


@app.command("assumptions")
def assumptions_command() -> None:
    """Print every behaviour the sandbox chose where Toast's documentation is silent."""
    typer.echo(render())
