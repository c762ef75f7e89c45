"""`billing messages ...`: what was sent to customers, and one dispatch pass for ops and tests."""

from __future__ import annotations

import asyncio
from enum import StrEnum
from typing import Any

import typer

from billing import logs
from billing.cli import inputs, output
from billing.cli.context import settings_or_exit
from billing.cli.output import JSON_OPTION, command
from billing.clock import FakeClock, SystemClock
from billing.errors import DomainError, NotFound
from billing.notify import dispatcher, hook_rules, hook_send, outbox, render, rules
from billing.store.tables import Message

app = typer.Typer(help="Customer messages: receipts, reminders, decline notices (the outbox).",
                  no_args_is_help=True)  # fmt: skip
COLUMNS = ("id", "event", "kind", "channel", "recipient", "status", "tries", "created", "sent",
           "error")  # fmt: skip


def row(m: Message) -> tuple[Any, ...]:
    return (m.id, m.event_id, m.kind, m.channel, m.recipient, m.status, m.attempts,
            m.created_at, m.sent_at, m.error)  # fmt: skip


def _choice(value: str | None, option: str, allowed: type[StrEnum]) -> str | None:
    if value is None:
        return None
    if value.lower() not in allowed._value2member_map_:
        known = ", ".join(allowed._value2member_map_)
        raise DomainError(f"{option}: unknown value {value[:40]!r} (one of {known})", field=option)
    return value.lower()


@app.command("list")
@command
def list_(
    status: str = typer.Option(None, "--status", help="Only this status: sent, unknown, ..."),
    kind: str = typer.Option(None, "--kind", help="Only this kind: receipt, decline, ..."),
    customer: int = typer.Option(None, "--customer", help="Only this customer id"),
    json_out: bool = JSON_OPTION,
) -> None:
    """List messages, newest first.

    Example: billing messages list --status unknown
    """
    wanted, kind_ = _choice(status, "--status", rules.Status), _choice(kind, "--kind", rules.Kind)
    with output.transaction() as session:
        rows = outbox.list_all(session, status=wanted, kind=kind_, customer_id=customer)
    if json_out:
        output.print_json(rows)
    else:
        output.print_table("Messages", COLUMNS, [row(m) for m in rows])


@app.command()
@command
def show(
    message_id: int = typer.Argument(..., help="Message id"),
    body: bool = typer.Option(False, "--body", help="Also print the plain-text body"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Show one message: its state, its facts, and (with --body) the text it carries.

    Example: billing messages show 12 --body
    """
    settings = settings_or_exit()
    with output.transaction(settings) as session:
        message = session.get(Message, message_id)
        if message is None:
            raise NotFound(f"message {message_id} does not exist", field="message_id")
    if message.channel == hook_rules.WEBHOOK:  # a webhook carries its JSON body as it is
        text = hook_send.encode(message.context.get("body", {}))
    else:
        text = render.Renderer(settings.notify).render(message.kind, message.context).text
    if json_out:
        output.print_json({**output.plain(message), **({"body": text} if body else {})})
        return
    output.print_fields(f"Message {message_id}", output.plain(message))
    if body:
        output.echo(text)


@app.command()
@command
def dispatch(
    now: str = typer.Option(None, "--now", help="Run the pass at this ISO instant (default: now)"),
    drain: bool = typer.Option(False, "--drain", help="Repeat until nothing more is sent"),
) -> None:
    """Run one dispatch pass: due reminders, new events into messages, send what is due.

    Example: billing messages dispatch --drain
    """
    settings = settings_or_exit()
    logs.configure(settings.log_level)
    clock = FakeClock(inputs.parse_instant(now, "--now")) if now else SystemClock()

    async def main() -> int:
        total = 0
        with output.opened_store(settings) as store:
            while True:
                sent = await dispatcher.dispatch_once(store, clock, settings)
                total += sent
                if not drain or sent == 0:
                    return total

    output.echo(f"sent {asyncio.run(main())} messages")
