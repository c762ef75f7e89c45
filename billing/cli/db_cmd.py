"""`billing db ...`: schema migrations."""

from __future__ import annotations

import typer

from billing.cli.context import describe, fail, settings_or_exit
from billing.store import migrate

app = typer.Typer(help="Database schema: apply and inspect migrations.", no_args_is_help=True)


@app.command()
def upgrade(revision: str = typer.Argument("head", help="Target revision")) -> None:
    """Apply migrations up to REVISION (default: head). Running it twice changes nothing.

    Example: billing db upgrade
    """
    settings = settings_or_exit()
    try:
        before = migrate.current_revision(settings.database_url)
        migrate.upgrade(settings.database_url, revision)
        after = migrate.current_revision(settings.database_url)
    except Exception as exc:
        fail(f"migration failed: {describe(exc)}")
    if before == after:
        typer.echo(f"database already at {after}")
    else:
        typer.echo(f"database upgraded {before or 'empty'} -> {after}")


@app.command()
def current() -> None:
    """Print the schema revision of the configured database.

    Example: billing db current
    """
    settings = settings_or_exit()
    try:
        typer.echo(migrate.current_revision(settings.database_url) or "empty")
    except Exception as exc:
        fail(describe(exc))
