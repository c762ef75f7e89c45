"""`billing clubs ...`: wine clubs, their tiers and members, and the failed-billing report."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer

from billing.cli import inputs, output
from billing.cli.output import JSON_OPTION, command
from billing.clock import SystemClock
from billing.clubs import reports, rules, service
from billing.clubs import store as clubs_store
from billing.errors import DomainError
from billing.manage import members

app = typer.Typer(help="Wine clubs: a club at a location, its tiers, members and releases.",
                  no_args_is_help=True)  # fmt: skip
tiers_app = typer.Typer(help="A club's tiers: bottles per release and the club discount.",
                        no_args_is_help=True)  # fmt: skip
app.add_typer(tiers_app, name="tiers")
CLUB = typer.Argument(..., help="Club id or name")


def _club_fields(club: Any) -> dict[str, Any]:
    return {
        "id": club.id, "name": club.name, "location": club.location_guid,
        "timezone": club.timezone, "pickup region": club.pickup_region,
        "skip cap": club.skip_cap, "auto-approve": club.auto_approve,
        "shipping (cents)": club.shipping,
        "tax %": {k: str(Decimal(v) / 10_000) for k, v in club.tax_rates.items()},
        "rebilling": f"days {club.retry_days}, then {club.final_action} the shipment",
        "notice days": club.notice_days,
    }  # fmt: skip


def _tax_table(path: Path | None, inline: str | None) -> dict[str, int]:
    """The fixture: a JSON object ``{"CA": 7.25}`` or lines ``CA=7.25`` (percent)."""
    if path is None:
        return service.parse_rate_table(inline or "")
    try:
        text = path.read_text()
    except OSError as exc:
        why = f"cannot read the tax table: {exc.strerror}"
        raise DomainError(why, field="--tax-table") from exc
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            raise DomainError("the tax table is not valid JSON", field="--tax-table") from None
        text = ",".join(f"{k}={v}" for k, v in data.items())
    lines = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    return service.parse_rate_table(",".join(x for x in lines if x))


@app.command()
@command
def create(
    name: str = typer.Argument(..., help="What staff and members call it"),
    location: str = typer.Option(..., "--location", help="Location GUID or name (its zone)"),
    pickup_region: str = typer.Option("", "--pickup-region",
                                      help="The winery's tax region, for pickups"),
    skip_cap: int = typer.Option(rules.DEFAULT_SKIP_CAP, "--skip-cap",
                                 help="Releases a member may skip in a row"),
    auto_approve: bool = typer.Option(False, "--auto-approve",
                                      help="Process releases without staff approval"),
    shipping: list[str] = typer.Option([], "--shipping",  # noqa: B008
                                       help="REGION=DOLLARS, repeatable; * for any other"),
    tax_table: Path | None = typer.Option(None, "--tax-table",  # noqa: B008
                                          help="Tax fixture file: CA=7.25 lines or JSON"),
    tax: str | None = typer.Option(None, "--tax", help="Inline rates: CA=7.25,NY=8.875"),
    retry_days: str = typer.Option("1,2,3,4,5,6,7,8,9,10", "--retry-days",
                                   help="Rebilling days after the first decline"),
    notice_days: int = typer.Option(rules.DEFAULT_NOTICE_DAYS, "--notice-days",
                                    help="Days before each cutoff members are told their amount"
                                         " (0: none required)"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Create a wine club at a location (its time zone), with its shipping and tax tables.

    Example: billing clubs create "Cellar Club" --location Downtown --pickup-region CA
    --shipping CA=15 --shipping '*=25' --tax CA=7.25,NY=8.875
    """
    days = _int_list(retry_days, "--retry-days")
    table = service.parse_shipping(shipping)
    rates = _tax_table(tax_table, tax)
    with output.transaction() as session:
        club = service.create_club(
            session, name=name, location=location, pickup_region=pickup_region,
            skip_cap=skip_cap, auto_approve=auto_approve, shipping=table, tax_rates=rates,
            retry_days=days, notice_days=notice_days, now=SystemClock().now(),
        )  # fmt: skip
        fields = _club_fields(club)
    if json_out:
        output.print_json(fields)
    else:
        output.echo(f"club {fields['id']} {fields['name']} created ({fields['timezone']})")


def _int_list(text: str, option: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise DomainError(f"{text!r} is not a comma-separated list of days", field=option) from None


@app.command("list")
@command
def list_(json_out: bool = JSON_OPTION) -> None:
    """List the clubs.

    Example: billing clubs list
    """
    with output.transaction() as session:
        rows = [_club_fields(c) for c in clubs_store.clubs(session)]
    if json_out:
        output.print_json(rows)
    else:
        output.print_table("Clubs", ("id", "name", "time zone", "skip cap", "auto-approve"),
                           [(r["id"], r["name"], r["timezone"], r["skip cap"], r["auto-approve"])
                            for r in rows])  # fmt: skip


@app.command()
@command
def show(club_ref: str = CLUB, json_out: bool = JSON_OPTION) -> None:
    """Show a club: its settings, tiers, member counts and releases.

    Example: billing clubs show "Cellar Club"
    """
    with output.transaction() as session:
        club = clubs_store.club(session, club_ref)
        fields = _club_fields(club)
        fields["tiers"] = [{"name": t.name, "bottles": t.bottles, "discount_pct": t.discount_pct}
                           for t in clubs_store.tiers(session, club.id or 0)]  # fmt: skip
        counts: dict[str, int] = {}
        for m in clubs_store.memberships(session, club.id or 0):
            counts[m.status] = counts.get(m.status, 0) + 1
        fields["members"] = counts
        fields["releases"] = [{"id": r.id, "title": r.title, "status": r.status,
                               "process_at": r.process_at.isoformat()}
                              for r in clubs_store.releases(session, club.id)]  # fmt: skip
    if json_out:
        output.print_json(fields)
        return
    output.print_fields(f"Club {fields['name']}",
                        {k: v for k, v in fields.items() if k not in ("tiers", "releases")})
    output.print_table("Tiers", ("name", "bottles", "discount %"),
                       [(t["name"], t["bottles"], t["discount_pct"]) for t in fields["tiers"]])
    output.print_table("Releases", ("id", "title", "status", "process at"),
                       [tuple(r.values()) for r in fields["releases"]])  # fmt: skip


@tiers_app.command("add")
@command
def tier_add(
    club_ref: str = CLUB,
    name: str = typer.Argument(..., help="Tier name: Six bottles"),
    bottles: int = typer.Option(..., "--bottles", help="Bottles per release"),
    discount: int = typer.Option(0, "--discount", help="Club discount, whole percent"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Add a tier to a club.

    Example: billing clubs tiers add "Cellar Club" Six --bottles 6 --discount 15
    """
    with output.transaction() as session:
        club = clubs_store.club(session, club_ref)
        tier = service.add_tier(session, club, name=name, bottles=bottles, discount_pct=discount)
        row = {"id": tier.id, "name": tier.name, "bottles": tier.bottles,
               "discount_pct": tier.discount_pct}  # fmt: skip
    if json_out:
        output.print_json(row)
    else:
        output.echo(f"tier {row['name']} added: {row['bottles']} bottles, "
                    f"{row['discount_pct']}% off")  # fmt: skip


@tiers_app.command("list")
@command
def tier_list(club_ref: str = CLUB, json_out: bool = JSON_OPTION) -> None:
    """List a club's tiers.

    Example: billing clubs tiers list "Cellar Club"
    """
    with output.transaction() as session:
        club = clubs_store.club(session, club_ref)
        rows = [{"id": t.id, "name": t.name, "bottles": t.bottles, "discount_pct": t.discount_pct}
                for t in clubs_store.tiers(session, club.id or 0)]  # fmt: skip
    if json_out:
        output.print_json(rows)
    else:
        output.print_table("Tiers", ("id", "name", "bottles", "discount %"),
                           [tuple(r.values()) for r in rows])  # fmt: skip


@app.command()
@command
def join(
    club_ref: str = CLUB,
    customer_ref: str = typer.Argument(..., help="Customer id, email or reference"),
    tier: str = typer.Option(..., "--tier", help="Tier name"),
    ship: str | None = typer.Option(None, "--ship", help="Ship to this region: CA"),
    address: str = typer.Option("", "--address", help="Ship-to address"),
    pickup: bool = typer.Option(False, "--pickup", help="Picks up at the winery"),
    mandate: int | None = typer.Option(None, "--mandate",
                                       help="RECURRING mandate id (default: the newest)"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Add a customer to a club on a tier, charged on their RECURRING card-on-file.

    Example: billing clubs join "Cellar Club" ann@example.com --tier Six --ship CA
    --address "1 Vine St, Napa"
    """
    if pickup == (ship is not None):
        raise_field("give --ship REGION or --pickup (one of them)", "--ship")
    with output.transaction() as session:
        club = clubs_store.club(session, club_ref)
        row = service.join(
            session, club, customer=members.get_customer(session, customer_ref),
            tier=clubs_store.tier(session, club.id or 0, tier),
            delivery="pickup" if pickup else "ship", region=ship or "", address=address,
            mandate_id=mandate, now=SystemClock().now(),
        )  # fmt: skip
        data = {"membership_id": row.id, "club": club.name, "tier": tier,
                "mandate_id": row.mandate_id, "delivery": row.delivery, "region": row.region}
    if json_out:
        output.print_json(data)
    else:
        card = f"mandate {data['mandate_id']}" if data["mandate_id"] else "no card yet (blocked)"
        output.echo(f"membership {data['membership_id']}: {tier} in {club_ref}, {card}")


def raise_field(message: str, field: str) -> None:
    raise DomainError(message, field=field)


@app.command("members")
@command
def members_(club_ref: str = CLUB, json_out: bool = JSON_OPTION) -> None:
    """List a club's members: tier, status, delivery and skips in a row.

    Example: billing clubs members "Cellar Club"
    """
    with output.transaction() as session:
        club = clubs_store.club(session, club_ref)
        tiers = {t.id: t.name for t in clubs_store.tiers(session, club.id or 0)}
        rows_ = clubs_store.memberships(session, club.id or 0)
        people = clubs_store.customers(session, {m.customer_id for m in rows_})
        rows = [{
            "membership_id": m.id, "member": people[m.customer_id].email,
            "tier": tiers.get(m.tier_id), "status": m.status,
            "hold_until": m.hold_until.isoformat() if m.hold_until else None,
            "delivery": m.delivery if m.delivery == "pickup" else f"ship {m.region}",
            "skips_in_a_row": m.consecutive_skips, "mandate_id": m.mandate_id,
        } for m in rows_]  # fmt: skip
    if json_out:
        output.print_json(rows)
    else:
        output.print_table("Members", ("id", "member", "tier", "status", "hold until",
                                       "delivery", "skips", "mandate"),
                           [tuple(r.values()) for r in rows])  # fmt: skip


@app.command("failed-billing")
@command
def failed_billing(
    club_ref: str | None = typer.Argument(None, help="Club id or name (default: all)"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Shipments skipped because rebilling ended without a payment (call these members).

    Example: billing clubs failed-billing "Cellar Club"
    """
    with output.transaction() as session:
        rows = reports.failed_billing(session, club_ref)
    if json_out:
        output.print_json(rows)
    else:
        output.print_table("Failed billing", ("release", "member", "tier", "amount", "tries",
                                              "last decline", "failed at"),
                           [(r["release"], r["member"], r["tier"],
                             inputs.dollars(r["amount_cents"]), r["attempts"], r["last_decline"],
                             r["failed_at"]) for r in rows])  # fmt: skip
