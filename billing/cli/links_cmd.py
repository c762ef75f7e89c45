"""`billing links ...`: card-update links staff send to a customer (the decline email carries
one by itself)."""

from __future__ import annotations

import typer
from sqlmodel import col, select

from billing.cli import output
from billing.cli.context import settings_or_exit
from billing.cli.output import JSON_OPTION, command
from billing.clock import SystemClock
from billing.links import rules, tokens
from billing.store.tables import CardLink, Mandate

app = typer.Typer(help="Card-update links: a single-use, expiring URL where a customer puts "
                  "in a new card.", no_args_is_help=True)  # fmt: skip


@app.command()
@command
def create(
    customer: str = typer.Option(..., "--customer", help="Customer id, email or your reference"),
    mandate: int = typer.Option(None, "--mandate", help="Which card, when they have several"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Create a card-update link for a customer's card on file and print its URL (send it to
    them: it works once, for serve.card_link_days).

    Example: billing links create --customer ann@example.com
    """
    settings = settings_or_exit()
    with output.transaction(settings) as session:
        issued = tokens.for_customer(session, customer, mandate_id=mandate,
                                     now=SystemClock().now(), serve=settings.serve)  # fmt: skip
    show(issued, json_out)


def show(issued: tokens.Issued, json_out: bool, **more: object) -> None:
    """A new link: its URL first (then what it is for), or the facts as JSON."""
    card = f"{issued.mandate.card_brand or 'card'} {issued.mandate.card_last4 or '????'}"
    facts = {"url": issued.url, **more, "customer_id": issued.customer.id,
             "mandate_id": issued.mandate.id, "card": card,
             "standing_instruction": issued.mandate.standing_instruction,
             "expires_at": issued.expires_at}  # fmt: skip
    if json_out:
        output.print_json(facts)
        return
    output.echo(issued.url)
    output.echo(f"for customer {issued.customer.id} ({issued.customer.email}), mandate "
                f"{issued.mandate.id} ({card}, {issued.mandate.standing_instruction}); works "
                f"once, until {output.cell(issued.expires_at)}")  # fmt: skip


@app.command("list")
@command
def list_(
    customer: int = typer.Option(None, "--customer", help="Only this customer id"),
    json_out: bool = JSON_OPTION,
) -> None:
    """List card-update links, newest first (never their URLs: only a hash is stored).

    Example: billing links list --customer 12
    """
    now = SystemClock().now()
    with output.transaction() as session:
        query = select(CardLink).order_by(col(CardLink.id).desc()).limit(500)
        if customer is not None:
            query = query.where(CardLink.customer_id == customer)
        rows = []
        for link in session.exec(query).all():
            mandate = session.get(Mandate, link.mandate_id)
            assert mandate is not None
            state = rules.state(now=now, expires_at=link.expires_at, used_at=link.used_at,
                                mandate_status=mandate.status,
                                replaced=mandate.replaced_by_id is not None)  # fmt: skip
            rows.append({"id": link.id, "customer": link.customer_id, "mandate": link.mandate_id,
                         "by": link.created_by, "message": link.message_id, "state": state.value,
                         "created": link.created_at, "expires": link.expires_at,
                         "used": link.used_at})  # fmt: skip
    if json_out:
        output.print_json(rows)
    else:
        columns = ("id", "customer", "mandate", "by", "message", "state", "created", "expires",
                   "used")  # fmt: skip
        output.print_table("Card-update links", columns, [tuple(r.values()) for r in rows])
