"""`billing log`: read the append-only event log (what changed, when, and why)."""

from __future__ import annotations

import typer

from billing.cli import output
from billing.cli.output import JSON_OPTION, command
from billing.domain import inputs


@command
def log(
    entity: str = typer.Option(
        None, "--entity", help="Only this kind: subscription, charge, mandate, plan, ..."
    ),
    entity_id: int = typer.Option(None, "--id", min=1, help="Only this entity id (with --entity)"),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000, help="At most this many, newest"),
    json_out: bool = JSON_OPTION,
) -> None:
    """The event log: what changed, when, and why (newest last).

    Example: billing log --entity subscription --id 12
    """
    from sqlmodel import col, select

    from billing.store.tables import Event

    if entity_id is not None and entity is None:
        raise inputs.InvalidInput("--id needs --entity", field="--id")
    query = select(Event)
    if entity is not None:
        query = query.where(Event.entity == inputs.text(entity, field="--entity", max_length=32))
    if entity_id is not None:
        query = query.where(Event.entity_id == entity_id)
    query = query.order_by(col(Event.id).desc()).limit(limit)
    with output.transaction() as session:
        rows = list(reversed(session.exec(query).all()))
    if json_out:
        output.print_json(rows)
        return
    output.print_table("Events", ("id", "at", "entity", "entity id", "type", "data"), [
        (e.id, e.at, e.entity, e.entity_id, e.type, _data(e.data)) for e in rows
    ])  # fmt: skip


def _data(data: dict[str, object]) -> str:
    return ", ".join(f"{k}={v}" for k, v in data.items())
