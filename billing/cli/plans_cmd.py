"""`billing plans ...`: what is sold (recurring amounts, installment totals, fee templates)."""

from __future__ import annotations

from typing import Any

import typer
from pydantic import ValidationError
from sqlmodel import Session

from billing.cli import confirm, context, inputs, labels, output, plan_messages_cmd
from billing.cli.output import JSON_OPTION, command
from billing.clock import SystemClock
from billing.domain.states import IntervalUnit, PlanKind
from billing.errors import DomainError
from billing.manage import locations, plans
from billing.store.tables import Plan

app = typer.Typer(
    help="Plans: RECURRING amounts, INSTALLMENT totals, UNSCHEDULED fee templates. "
    "Amounts are dollars (45 or 45.00).",
    no_args_is_help=True,
)
COLUMNS = ("code", "v", "kind", "amount", "every", "cycles", "location", "zone", "active")

NAME = typer.Option(None, "--name", help="Display name")
AMOUNT = typer.Option(None, "--amount", help="RECURRING/UNSCHEDULED amount in dollars: 45.00")
TOTAL = typer.Option(None, "--total", help="INSTALLMENT total in dollars: 1200.00")
PAYMENTS = typer.Option(None, "--payments", help="INSTALLMENT number of payments (1-120)")
UNIT = typer.Option(None, "--interval", case_sensitive=False, help="Interval unit")
EVERY = typer.Option(None, "--every", help="Interval count: bill every N units")
MAX_CYCLES = typer.Option(None, "--max-cycles", help="RECURRING: stop after N charges")
ANCHOR = typer.Option(None, "--anchor-day", help="Day of month to bill on (1-31)")
LOCATION = typer.Option(None, "--location", help="Toast location GUID (default: settings)")
ZONE = typer.Option(None, "--timezone", help="IANA time zone of the billing time")
LOCAL_TIME = typer.Option(None, "--local-time", help="Local billing time HH:MM")
CHECK_ITEM = typer.Option(None, "--check-item", help="Item name the Toast check carries")
KIND = typer.Option(..., "--kind", case_sensitive=False, help="What is sold")
TRIAL = typer.Option(
    None, "--trial-days", help="Days from enrollment to the first charge (0: no trial)"
)



def row(plan: Plan, names: dict[str, str]) -> list[Any]:
    amount = (
        f"{inputs.dollars(plan.total_cents)} / {plan.installments}"
        if plan.total_cents is not None
        else inputs.dollars(plan.amount_cents)
    )
    every = "" if plan.kind == "UNSCHEDULED" else f"{plan.interval_count} {plan.interval_unit}"
    return [plan.code, plan.version, plan.kind, amount, every, plan.max_cycles or "",
            labels.location(plan.location_guid, names), plan.timezone, plan.active]  # fmt: skip


# PlanCreate field -> the option that sets it (error messages name the option).
OPTIONS = {
    "amount_cents": "--amount", "total_cents": "--total", "installments": "--payments",
    "interval_unit": "--interval", "interval_count": "--every", "max_cycles": "--max-cycles",
    "anchor_day": "--anchor-day", "location_guid": "--location", "timezone": "--timezone",
    "local_time": "--local-time", "check_item": "--check-item", "kind": "--kind",
    "name": "--name", "code": "CODE", "trial_days": "--trial-days",
}  # fmt: skip


def option_error(exc: ValidationError) -> DomainError:
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"])
    message = str(err["msg"]).removeprefix("Value error, ")
    for name, option in OPTIONS.items():
        message = message.replace(name, option)
    option = OPTIONS.get(field, field)
    return DomainError(f"{option}: {message}" if option else message, field=option or "plan")


def build(**fields: Any) -> plans.PlanCreate:
    try:
        return plans.PlanCreate(**fields)
    except ValidationError as exc:
        raise option_error(exc) from None


def spec_fields(**values: Any) -> dict[str, Any]:
    """CLI option values as PlanCreate fields (amounts in dollars become cents)."""
    values["amount_cents"] = inputs.cents(values.pop("amount"), "--amount")
    values["total_cents"] = inputs.cents(values.pop("total"), "--total")
    return {k: v for k, v in values.items() if v is not None}


@app.command()
@command
def create(
    code: str = typer.Argument(..., help="Plan code: lowercase letters, digits, . _ -"),
    kind: PlanKind = KIND,
    name: str = NAME, amount: str = AMOUNT, total: str = TOTAL, payments: int = PAYMENTS,
    interval: IntervalUnit = UNIT, every: int = EVERY, max_cycles: int = MAX_CYCLES,
    anchor_day: int = ANCHOR, location: str = LOCATION, timezone: str = ZONE,
    local_time: str = LOCAL_TIME, check_item: str = CHECK_ITEM, trial_days: int = TRIAL,
    json_out: bool = JSON_OPTION,
) -> None:  # fmt: skip
    """Create a plan (version 1).

    Example: billing plans create wine --kind RECURRING --name "Wine club" --amount 45.00
    --interval month --anchor-day 1 --timezone America/New_York --check-item "Wine club"
    --trial-days 14
    """
    settings = context.settings_or_exit()
    fields = spec_fields(
        name=code if name is None else name, kind=kind, amount=amount, total=total,
        installments=payments,
        interval_unit=interval, interval_count=every, max_cycles=max_cycles,
        anchor_day=anchor_day, location_guid=location or settings.toast.location_guid,
        timezone=timezone, local_time=local_time, check_item=check_item, trial_days=trial_days,
    )  # fmt: skip
    spec = build(code=code, **fields)
    with output.transaction(settings) as session:
        plan = plans.create(session, spec, now=SystemClock().now())
    _show_one(plan, json_out, f"created plan {plan.code} v{plan.version}")


@app.command("list")
@command
def list_(
    archived: bool = typer.Option(False, "--archived", help="Include archived plans"),
    json_out: bool = JSON_OPTION,
) -> None:
    """List the latest version of every plan.

    Example: billing plans list --json
    """
    with output.transaction() as session:
        rows = plans.list_latest(session, include_archived=archived)
        names = locations.names(session)
    if json_out:
        output.print_json([{**output.plain(p), "location_name": names.get(p.location_guid)}
                           for p in rows])  # fmt: skip
    else:
        output.print_table("Plans", COLUMNS, [row(p, names) for p in rows])


@app.command()
@command
def show(code: str = typer.Argument(..., help="Plan code"), json_out: bool = JSON_OPTION) -> None:
    """Show a plan, its versions and its message settings.

    Example: billing plans show wine
    """
    settings = context.settings_or_exit()
    with output.transaction(settings) as session:
        history = plans.versions(session, code)
        names = locations.names(session)
        shown = plan_messages_cmd.view(session, code, settings.notify)
    if json_out:
        output.print_json({**output.plain(history[-1]), "versions": history, "messages": shown})
        return
    output.print_fields(f"Plan {code}", details(history[-1], names))
    output.print_table("Versions", COLUMNS, [row(p, names) for p in history])
    output.print_table("Messages (billing plans messages)", ("message", "value", "set in"),
                       plan_messages_cmd.rows(shown))  # fmt: skip


def details(plan: Plan, names: dict[str, str]) -> dict[str, Any]:
    """The fields a person reads, in a fixed order."""
    return {
        "name": labels.plan(plan, version=True), "kind": plan.kind,
        "amount": labels.plan_amount(plan), "schedule": labels.every(plan),
        "cycles": plan.max_cycles, "anchor day": plan.anchor_day,
        "billing time": f"{plan.local_time} {plan.timezone}",
        "location": labels.location(plan.location_guid, names),
        "check item": plan.check_item, "dunning retry days": plan.dunning_retry_days,
        "trial": f"{plan.trial_days} days" if plan.trial_days else "none",
        "selling": "yes" if plan.active else "no (archived)", "created": plan.created_at,
    }  # fmt: skip


@app.command()
@command
def update(
    code: str = typer.Argument(..., help="Plan code"),
    name: str = NAME, amount: str = AMOUNT, total: str = TOTAL, payments: int = PAYMENTS,
    interval: IntervalUnit = UNIT, every: int = EVERY, max_cycles: int = MAX_CYCLES,
    anchor_day: int = ANCHOR, location: str = LOCATION, timezone: str = ZONE,
    local_time: str = LOCAL_TIME, check_item: str = CHECK_ITEM, trial_days: int = TRIAL,
    json_out: bool = JSON_OPTION,
) -> None:  # fmt: skip
    """Write a new version of a plan for future subscriptions (existing ones keep theirs).

    Example: billing plans update wine --amount 49.00
    """
    changes = spec_fields(
        name=name, amount=amount, total=total, installments=payments, interval_unit=interval,
        interval_count=every, max_cycles=max_cycles, anchor_day=anchor_day,
        location_guid=location, timezone=timezone, local_time=local_time, check_item=check_item,
        trial_days=trial_days,
    )  # fmt: skip
    with output.transaction() as session:
        try:
            plan = plans.update(session, code, changes, now=SystemClock().now())
        except ValidationError as exc:
            raise option_error(exc) from None
    _show_one(plan, json_out, f"plan {plan.code} is now v{plan.version}")


@app.command()
@command
def archive(
    code: str = typer.Argument(..., help="Plan code"), yes: bool = confirm.YES,
    json_out: bool = JSON_OPTION,
) -> None:  # fmt: skip
    """Stop selling a plan (every version); existing subscriptions keep billing. Says what it
    will do and asks first (--yes for scripts).

    Example: billing plans archive wine
    """

    def preview(session: Session) -> list[str]:
        plan = plans.get(session, code)
        live = plans.live_subscriptions(session, code)
        plans.archive(session, code)  # refuses first, before anyone is asked
        return [f"Archive plan {labels.plan(plan, version=True)}: "
                f"{labels.plan_amount(plan)} {labels.every(plan)}".rstrip() + ".",
                f"No new subscriptions; its {live} live subscription(s) keep billing."]  # fmt: skip

    with output.opened_store() as store:
        lines = output.dry_run(store, preview)
        confirm.ask(f"archive plan {code}", lines, yes=yes)
        with store.transaction() as session:
            plan = plans.archive(session, code)
    _show_one(plan, json_out, f"archived plan {plan.code}")


def _show_one(plan: Plan, json_out: bool, message: str) -> None:
    if json_out:
        output.print_json(plan)
    else:
        output.echo(message)


app.command("messages")(plan_messages_cmd.messages)
