"""`billing schedules ...`: payment schedule templates for events (milestones, cancellation
tiers, retry days)."""

from __future__ import annotations

import typer

from billing.cli import output
from billing.cli.output import JSON_OPTION, command
from billing.clock import SystemClock
from billing.errors import BillingError, DomainError
from billing.events import schedules

app = typer.Typer(
    help="Schedules: payment schedule templates for events (milestones, cancellation tiers).",
    no_args_is_help=True,
)
MILESTONES = typer.Option(..., "--milestone", help="Repeated, in order: deposit=25%@signing "
                          "second=50%@30 balance=rest@3 (days before the event; /17:00 for a "
                          "local time)")  # fmt: skip
TIERS = typer.Option(None, "--tier", help="Cancellation tiers, repeated: 30:deposit 0:all "
                     "(days before: keep deposit|all|none|N%)")  # fmt: skip
OPTIONS = {
    "code": "CODE", "name": "--name", "milestones": "--milestone",
    "milestones.name": "--milestone", "milestones.kind": "--milestone",
    "milestones.value": "--milestone", "milestones.days_before": "--milestone",
    "tiers": "--tier", "retry_days": "--retry-days", "alert_days": "--alert-days",
}  # fmt: skip


@app.command()
@command
def create(
    code: str = typer.Argument(..., help="Short code: standard"),
    name: str = typer.Option(..., "--name", help="Display name"),
    milestone: list[str] = MILESTONES,
    tier: list[str] = TIERS,
    retry_days: str = typer.Option("1,2,4", "--retry-days",
                                   help="Retries after a decline, days after the first one"),
    alert_days: int = typer.Option(14, "--alert-days", help="A decline this close to the "
                                   "event alerts staff at once (billing attention)"),
    json_out: bool = JSON_OPTION,
) -> None:  # fmt: skip
    """Create a schedule template.

    Example: billing schedules create standard --name "25/50/rest" --milestone deposit=25%@signing --milestone second=50%@30 --milestone balance=rest@3 --tier 30:deposit --tier 0:all
    """  # noqa: E501
    try:
        days = [int(d) for d in retry_days.split(",") if d.strip()]
    except ValueError:
        raise DomainError("--retry-days: give days like 1,2,4", field="--retry-days") from None
    try:
        spec = schedules.TemplateSpec(
            code=code, name=name,
            milestones=[schedules.parse_milestone(m, field="milestones") for m in milestone],
            tiers=[schedules.parse_tier(t, field="tiers") for t in tier] if tier
            else schedules.DEFAULT_TIERS,
            retry_days=days, alert_days=alert_days,
        )  # fmt: skip
        with output.transaction() as session:
            row = schedules.create(session, spec, now=SystemClock().now())
            template = schedules.load(session, row.code)
    except BillingError as exc:
        option = OPTIONS.get(exc.field or "")
        if option is None:
            raise
        raise DomainError(f"{option}: {exc.message}", field=option) from None
    _print([template], json_out)


@app.command("list")
@command
def list_(json_out: bool = JSON_OPTION) -> None:
    """List the schedule templates with their milestones and cancellation tiers.

    Example: billing schedules list
    """
    with output.transaction() as session:
        templates = [schedules.load(session, t.code) for t in schedules.list_all(session)]
    _print(templates, json_out)


def _print(templates: list[schedules.Template], json_out: bool) -> None:
    if json_out:
        output.print_json([
            {"code": t.row.code, "name": t.row.name, "retry_days": t.row.retry_days,
             "alert_days": t.row.alert_days,
             "milestones": [schedules.describe(m) for m in t.milestones],
             "tiers": [schedules.describe_tier(x) for x in t.tiers]}
            for t in templates
        ])  # fmt: skip
        return
    output.print_table("Schedules", ("code", "name", "milestones", "cancellation", "retries"), [
        (t.row.code, t.row.name, "; ".join(schedules.describe(m) for m in t.milestones),
         "; ".join(schedules.describe_tier(x) for x in t.tiers),
         f"days {t.row.retry_days}, alert within {t.row.alert_days} days")
        for t in templates
    ])  # fmt: skip
