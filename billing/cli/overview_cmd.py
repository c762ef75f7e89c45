"""`billing upcoming`, `billing attention`: what is coming and what is stuck (`billing config`
lives in ``config_cmd``)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta

import typer

from billing.cli import inputs, labels, output
from billing.cli.output import JSON_OPTION, command
from billing.clock import SystemClock
from billing.errors import DomainError
from billing.manage import alerts, charges, forecast, locations


@command
def upcoming(
    days: int = typer.Option(30, "--days", help="How many days ahead (1-366)"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Forecast the charges due in the next days: materialized charges plus the cycles active
    subscriptions will produce (nothing is written), with totals per plan and per location.

    Example: billing upcoming --days 30 --json
    """
    if not 1 <= days <= 366:
        raise DomainError(f"--days must be 1..366, got {days}", field="--days")
    now = SystemClock().now()
    if json_out:
        with output.transaction() as session:
            names = locations.names(session)
            _stream_json(forecast.stream(session, now=now, days=days), now, days, names)
        return
    with output.transaction() as session:
        result = forecast.upcoming(session, now=now, days=days)
        names = locations.names(session)
    output.print_table(f"Due by {result.until:%Y-%m-%d %H:%M} UTC", (
        "due", "plan", "subscription", "cycle", "charge", "amount", "location"
    ), [
        (i.due_at, i.plan, i.subscription_id, i.cycle, i.charge_id or "(projected)",
         inputs.dollars(i.amount_cents), labels.location(i.location_guid, names))
        for i in result.items
    ])  # fmt: skip
    output.print_table(
        "Per plan",
        ("plan", "total"),
        [(k, inputs.dollars(v)) for k, v in sorted(result.by_plan.items())],
    )
    per_location = [(labels.location(k, names), inputs.dollars(v))
                    for k, v in result.by_location.items()]  # fmt: skip
    output.print_table("Per location", ("location", "total"), sorted(per_location))
    output.echo(f"total {inputs.dollars(result.total_cents)} in {len(result.items)} charges")


def _stream_json(
    items: Iterator[forecast.Upcoming], now: datetime, days: int, names: dict[str, str]
) -> None:
    """The forecast as one JSON object, written item by item (memory flat in store size)."""
    totals, out = forecast.Totals(), sys.stdout
    head = output.plain({"from": now, "until": now + timedelta(days=days)})
    out.write(json.dumps(head)[:-1] + ', "items": [')
    for n, item in enumerate(totals.tally(items)):
        row = _item_json(item) | {"location_name": names.get(item.location_guid)}
        out.write((",\n  " if n else "\n  ") + json.dumps(row))
    tail = {"total_cents": totals.cents, "by_plan_cents": dict(totals.by_plan),
            "by_location_cents": dict(totals.by_location),
            "location_names": {g: names[g] for g in totals.by_location if g in names}}  # fmt: skip
    out.write("\n], " + json.dumps(tail)[1:] + "\n")


def _item_json(item: forecast.Upcoming) -> dict[str, object]:
    return {
        "due_at": item.due_at.isoformat().replace("+00:00", "Z"),
        "amount_cents": item.amount_cents, "plan": item.plan,
        "location_guid": item.location_guid, "subscription_id": item.subscription_id,
        "cycle": item.cycle, "charge_id": item.charge_id,
    }  # fmt: skip


def vars_of(item: forecast.Upcoming) -> dict[str, object]:
    return {name: getattr(item, name) for name in item.__slots__}


@command
def attention(json_out: bool = JSON_OPTION) -> None:
    """Charges the engine could not settle (needs_attention): the last attempt, its error and
    Toast payment intent, and what to do about it.

    Example: billing attention
    """
    with output.transaction() as session:
        items = charges.attention(session)
        engine = alerts.engine_alerts(session, now=SystemClock().now())
    if json_out:
        output.print_json([
            {**output.plain(i.charge), "last_attempt": i.attempt, "advice": i.advice}
            for i in items
        ] + [{"engine_alert": a.kind, "at": a.at, "subject": a.subject, "detail": a.detail}
             for a in engine])  # fmt: skip
        return
    if engine:
        output.print_table("Engine alerts", ("at", "what", "subject", "detail"), [
            (a.at.isoformat(timespec="seconds"), a.kind, a.subject, a.detail) for a in engine
        ])  # fmt: skip
    if not items:
        output.echo("nothing needs attention" if not engine else "no charge needs attention")
        return
    output.print_table("Needs attention", (
        "charge", "amount", "attempt", "status", "toast intent", "error", "what to do"
    ), [
        (i.charge.id, inputs.dollars(i.charge.amount_cents), i.attempt.number if i.attempt else "",
         i.attempt.status if i.attempt else "", i.attempt.toast_intent_id if i.attempt else "",
         i.attempt.error if i.attempt else "", i.advice.replace("ID", str(i.charge.id)))
        for i in items
    ])  # fmt: skip
