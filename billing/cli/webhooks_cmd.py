"""`billing webhooks ...`: the merchant's endpoints for signed webhooks, test sends and dead
letters."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import typer

from billing.cli import confirm, output
from billing.cli.context import settings_or_exit
from billing.cli.output import JSON_OPTION, command
from billing.clock import SystemClock
from billing.notify import dispatcher, endpoints, hook_rules, outbox
from billing.notify.rules import Status
from billing.store.tables import Message, WebhookEndpoint

app = typer.Typer(help="Webhooks: signed event notifications to the merchant's own systems.",
                  no_args_is_help=True)  # fmt: skip
DEAD_COLUMNS = ("id", "event", "type", "endpoint", "tries", "created", "last error")
ENDPOINT_ID = typer.Argument(..., help="Endpoint id (billing webhooks list)")


def _row(e: WebhookEndpoint) -> tuple[Any, ...]:
    return (e.id, e.url, ",".join(e.event_types), "yes" if e.enabled else "no", e.created_at)


@app.command()
@command
def add(
    url: str = typer.Argument(..., help="The endpoint's URL (https:// in production)"),
    events: str = typer.Option(
        ..., "--events", help="Event types, comma-separated: charge.paid,charge.failed (* = all)"
    ),
    json_out: bool = JSON_OPTION,
) -> None:
    """Add an endpoint; prints its signing secret, this once only.

    Example: billing webhooks add https://erp.example/hooks --events charge.paid,charge.failed
    """
    settings = settings_or_exit()
    with output.transaction(settings) as session:
        row, secret = endpoints.add(session, url, events=events, now=SystemClock().now(),
                                    production=settings.mode == "production")  # fmt: skip
        shown = endpoints.public(row)
    if json_out:
        output.print_json({**shown, "secret": secret})
        return
    output.echo(f"webhook endpoint {shown['id']}: {shown['url']} ({','.join(row.event_types)})")
    output.echo(f"signing secret (shown once, store it now): {secret}")


@app.command("list")
@command
def list_(json_out: bool = JSON_OPTION) -> None:
    """List the endpoints (never their secrets).

    Example: billing webhooks list
    """
    with output.transaction() as session:
        rows = endpoints.list_all(session)
    if json_out:
        output.print_json([endpoints.public(r) for r in rows])
    else:
        output.print_table("Webhook endpoints", ("id", "url", "events", "enabled", "created"),
                           [_row(r) for r in rows])  # fmt: skip


@app.command()
@command
def remove(
    endpoint_id: int = ENDPOINT_ID, yes: bool = confirm.YES, json_out: bool = JSON_OPTION
) -> None:
    """Remove an endpoint: it receives nothing more (its pending deliveries become dead letters).

    Example: billing webhooks remove 2 --yes
    """
    with output.opened_store() as store:
        with store.transaction() as session:
            url = endpoints.get(session, endpoint_id).url
        confirm.ask(f"remove webhook endpoint {endpoint_id}", [url], yes=yes)
        with store.transaction() as session:
            row = endpoints.remove(session, endpoint_id, now=SystemClock().now())
            shown = endpoints.public(row)
    if json_out:
        output.print_json(shown)
    else:
        output.echo(f"webhook endpoint {endpoint_id} removed")


@app.command("test")
@command
def send_test(endpoint_id: int = ENDPOINT_ID, json_out: bool = JSON_OPTION) -> None:
    """Send a signed webhook.test event to an endpoint now and print its answer.

    Example: billing webhooks test 1
    """
    settings = settings_or_exit()
    clock = SystemClock()
    window = timedelta(hours=settings.webhooks.retry_hours)
    with output.opened_store(settings) as store:
        with store.transaction() as session:
            message_id = outbox.test_delivery(session, endpoint_id, now=clock.now(),
                                              window=window).id or 0  # fmt: skip
        ok = asyncio.run(dispatcher.deliver_now(store, clock, settings, message_id))
        with store.transaction() as session:
            row = session.get(Message, message_id)
            assert row is not None
            shown = {"delivery": row.id, "webhook_id": row.provider_id, "delivered": ok,
                     "status": row.status, "detail": row.error or "HTTP 2xx"}  # fmt: skip
    if json_out:
        output.print_json(shown)
    elif ok:
        output.echo(f"delivered test event {shown['webhook_id']} to endpoint {endpoint_id}")
    else:
        output.echo(f"endpoint {endpoint_id} did not take the test event: {shown['detail']} "
                    f"(delivery {message_id} is retried: billing webhooks dead)")  # fmt: skip
    if not ok:
        raise SystemExit(1)


@app.command()
@command
def dead(json_out: bool = JSON_OPTION) -> None:
    """List dead letters: deliveries that failed for their whole retry window.

    Example: billing webhooks dead
    """
    with output.transaction() as session:
        rows = outbox.list_all(session, status=Status.DEAD, channel=hook_rules.WEBHOOK)
    if json_out:
        output.print_json([_dead(m) for m in rows])
    else:
        output.print_table("Dead letters", DEAD_COLUMNS, [
            (m.id, m.event_id, m.kind, endpoints.endpoint_id(m.recipient), m.attempts,
             m.created_at, m.error) for m in rows
        ])  # fmt: skip


def _dead(m: Message) -> dict[str, Any]:
    return {"id": m.id, "event_id": m.event_id, "type": m.kind, "webhook_id": m.provider_id,
            "endpoint_id": endpoints.endpoint_id(m.recipient), "attempts": m.attempts,
            "created_at": m.created_at, "error": m.error}  # fmt: skip


@app.command()
@command
def retry(
    delivery_id: int = typer.Argument(..., help="Dead letter id (billing webhooks dead)"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Put a dead letter back in the queue: delivered again (same webhook-id) by the next pass,
    with a fresh retry window.

    Example: billing webhooks retry 42
    """
    settings = settings_or_exit()
    window = timedelta(hours=settings.webhooks.retry_hours)
    with output.transaction(settings) as session:
        row = outbox.redeliver(session, delivery_id, now=SystemClock().now(), window=window)
        endpoints.get(session, endpoints.endpoint_id(row.recipient))  # still there?
        shown = _dead(row)
    if json_out:
        output.print_json(shown)
    else:
        output.echo(f"delivery {delivery_id} queued again")
