"""`billing mandates ...`: cards-on-file (never the number), and revoking them at Toast."""

from __future__ import annotations

import asyncio

import typer

from billing.cli import context, output
from billing.cli.customers_cmd import MANDATE_COLUMNS, mandate_row
from billing.cli.output import JSON_OPTION, command
from billing.cli.subscriptions_cmd import revoke_at_toast
from billing.clock import SystemClock
from billing.domain.states import MandateStatus
from billing.manage import mandates, members

app = typer.Typer(help="Mandates: customers' authorizations to charge a card-on-file.",
                  no_args_is_help=True)  # fmt: skip
MANDATE_ID = typer.Argument(..., help="Mandate id")
STATUS = typer.Option(None, "--status", case_sensitive=False, help="Only this status")


@app.command("list")
@command
def list_(
    status: MandateStatus = STATUS,
    json_out: bool = JSON_OPTION,
) -> None:
    """List mandates.

    Example: billing mandates list --status active --json
    """
    with output.transaction() as session:
        rows = mandates.list_all(session, status=status.value if status is not None else None)
    if json_out:
        output.print_json(rows)
    else:
        output.print_table("Mandates", MANDATE_COLUMNS, [mandate_row(m) for m in rows])


@app.command()
@command
def show(mandate_id: int = MANDATE_ID, json_out: bool = JSON_OPTION) -> None:
    """Show a mandate and what still uses it.

    Example: billing mandates show 7
    """
    with output.transaction() as session:
        mandate = members.get_mandate(session, mandate_id)
        subs = mandates.users(session, mandate_id)
        open_charges = mandates.open_charges(session, mandate_id)
    data = {**output.plain(mandate), "live_subscriptions": subs, "open_charges": open_charges}
    if json_out:
        output.print_json(data)
    else:
        output.print_fields(f"Mandate {mandate_id}", data)


@app.command()
@command
def revoke(mandate_id: int = MANDATE_ID, json_out: bool = JSON_OPTION) -> None:
    """Revoke a mandate at Toast, then mark it revoked (refused while a live subscription or
    an open charge still needs it).

    Example: billing mandates revoke 7
    """
    settings = context.settings_or_exit()
    with output.opened_store(settings) as store:
        target = output.dry_run(store, lambda s: mandates.prepare_revoke(s, mandate_id))
        asyncio.run(revoke_at_toast(settings, store, target))
        with store.transaction() as session:
            mandate = mandates.mark_revoked(session, mandate_id, now=SystemClock().now())
    if json_out:
        output.print_json(mandate)
    else:
        output.echo(f"mandate {mandate_id} revoked at Toast ({target.toast_mandate_id})")
