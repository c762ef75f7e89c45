"""`billing locations ...`: names for Toast location GUIDs, shown by every list and report."""

from __future__ import annotations

import typer

from billing.cli import output
from billing.cli.output import JSON_OPTION, command
from billing.clock import SystemClock
from billing.manage import locations

app = typer.Typer(help="Locations: a name (and time zone) for each Toast location GUID.",
                  no_args_is_help=True)  # fmt: skip


@app.command()
@command
def add(
    guid: str = typer.Argument(..., help="Toast location GUID"),
    name: str = typer.Option(..., "--name", help="What staff call it: Downtown"),
    timezone: str = typer.Option("America/New_York", "--timezone", help="IANA time zone"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Name a Toast location.

    Example: billing locations add 6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a01 --name Downtown
    """
    with output.transaction() as session:
        row = locations.add(session, guid, name=name, timezone=timezone, now=SystemClock().now())
    if json_out:
        output.print_json(row)
    else:
        output.echo(f"location {row.guid} is {row.name} ({row.timezone})")


@app.command("list")
@command
def list_(json_out: bool = JSON_OPTION) -> None:
    """List the named locations.

    Example: billing locations list
    """
    with output.transaction() as session:
        rows = locations.list_all(session)
    if json_out:
        output.print_json(rows)
    else:
        output.print_table("Locations", ("name", "GUID", "time zone"),
                           [(r.name, r.guid, r.timezone) for r in rows])  # fmt: skip


@app.command()
@command
def rename(
    ref: str = typer.Argument(..., help="Location GUID or current name"),
    name: str = typer.Argument(..., help="The new name"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Rename a location.

    Example: billing locations rename Downtown "Downtown (Main St)"
    """
    with output.transaction() as session:
        row = locations.rename(session, ref, name)
    if json_out:
        output.print_json(row)
    else:
        output.echo(f"location {row.guid} is now {row.name}")
