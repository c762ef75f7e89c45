"""The table of `billing` commands, loaded only when one is run.

``billing --help`` lists every command from this table (name, one line, help panel) without
importing any of them, so help and simple commands do not pay for the web and database stack.
Running a command imports its module, builds its Typer command and hardens its parameters
(``harden``). ``tests/cli/test_startup.py`` checks that each line here matches the command's
own help and that ``billing --help`` imports none of the heavy modules.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import typer
from typer import _click as click  # Typer 0.29 vendors click: its classes, not click's
from typer._click.core import ParameterSource
from typer.core import TyperCommand, TyperGroup, TyperOption

SETUP, MEMBERS, ENGINE, INSIGHT, SANDBOX = (
    "Set up", "Members and money", "Engine and API", "What is happening", "Sandbox and demo",
)  # fmt: skip
INT32 = 2**31 - 1  # ids and counts: what both databases store in an INTEGER column


@dataclass(frozen=True, slots=True)
class Spec:
    name: str
    target: str  # "module:attribute": a Typer app (a group) or a command function
    help: str  # the first line of the command's own help
    panel: str


COMMANDS = {spec.name: spec for spec in (
    Spec("db", "billing.cli.db_cmd:app", "Database schema: apply and inspect migrations.", SETUP),
    Spec("plans", "billing.cli.plans_cmd:app", "Plans: RECURRING amounts, INSTALLMENT totals, "
         "UNSCHEDULED fee templates. Amounts are dollars (45 or 45.00).", SETUP),
    Spec("config", "billing.cli.config_cmd:config",
         "Print every setting: its effective value and where it comes from (secrets hidden).",
         SETUP),
    Spec("customers", "billing.cli.customers_cmd:app",
         "Customers: create, list, show (with mandates and subscriptions).", MEMBERS),
    Spec("enroll", "billing.cli.customers_cmd:enroll", "Start an enrollment: a Toast "
         "OFF_SESSION setup intent for the plan's standing instruction, a pending mandate and "
         "(not for UNSCHEDULED plans) a pending subscription.", MEMBERS),
    Spec("subscriptions", "billing.cli.subscriptions_cmd:app",
         "Subscriptions: a customer on a plan, billed by the engine.", MEMBERS),
    Spec("charges", "billing.cli.charges_cmd:app",
         "Charges: amounts due on dates, their attempts, retries and one-offs.", MEMBERS),
    Spec("events", "billing.cli.events_cmd:app",
         "Events: catering and private events with payment schedules charged by the engine.",
         MEMBERS),
    Spec("schedules", "billing.cli.schedules_cmd:app",
         "Schedules: payment schedule templates for events (milestones, cancellation tiers).",
         SETUP),
    Spec("mandates", "billing.cli.mandates_cmd:app",
         "Mandates: customers' authorizations to charge a card-on-file.", MEMBERS),
    Spec("links", "billing.cli.links_cmd:app", "Card-update links: a single-use, expiring URL "
         "where a customer puts in a new card.", MEMBERS),
    Spec("clubs", "billing.cli.clubs_cmd:app",
         "Wine clubs: a club at a location, its tiers, members and releases.", MEMBERS),
    Spec("releases", "billing.cli.releases_cmd:app", "Club releases (club runs): package, "
         "cutoff, preview, approval, processing and archive.", MEMBERS),
    Spec("members", "billing.cli.members_cmd:app", "Club members: skip, customize or ship now "
         "a release; hold or cancel a membership; a card-update link.", MEMBERS),
    Spec("messages", "billing.cli.messages_cmd:app",
         "Customer messages: receipts, reminders, decline notices (the outbox).", INSIGHT),
    Spec("policies", "billing.cli.policies_cmd:app", "Reservation fee policies: per person or "
         "per reservation, a free-cancellation window, a cap; versioned. Amounts are dollars.",
         SETUP),
    Spec("reservations", "billing.cli.reservations_cmd:app", "Reservations: the fee each one "
         "owes and why; lower or waive it; export dispute evidence.", MEMBERS),
    Spec("webhooks", "billing.cli.webhooks_cmd:app",
         "Webhooks: signed event notifications to the merchant's own systems.", INSIGHT),
    Spec("locations", "billing.cli.locations_cmd:app",
         "Locations: a name (and time zone) for each Toast location GUID.", SETUP),
    Spec("run", "billing.cli.engine_cmd:run", "Start the worker: its lanes run on intervals "
         "until SIGTERM/SIGINT; then it releases unsent claims, lets in-flight charges finish "
         "(scheduler.drain_s), prints one line of what it left, and exits 0 only after a clean "
         "drain (1 otherwise). A second signal forces.", ENGINE),
    Spec("tick", "billing.cli.engine_cmd:tick", "Run one full pass (materialize, claim, charge, "
         "reconcile) and print what it did.", ENGINE),
    Spec("simulate", "billing.cli.engine_cmd:simulate", "Advance a simulated clock tick by tick "
         "up to --until, charging what falls due.", ENGINE),
    Spec("serve", "billing.cli.serve_cmd:serve", "Serve the enrollment API (OpenAPI at /docs); "
         "with --demo-site also the demo site at /.", ENGINE),
    Spec("upcoming", "billing.cli.overview_cmd:upcoming", "Forecast the charges due in the next "
         "days: materialized charges plus the cycles active subscriptions will produce "
         "(nothing is written), with totals per plan and per location.", INSIGHT),
    Spec("attention", "billing.cli.overview_cmd:attention", "Charges the engine could not "
         "settle (needs_attention): the last attempt, its error and Toast payment intent, and "
         "what to do about it.", INSIGHT),
    Spec("report", "billing.cli.report_cmd:report", "Collections: charged, declined, recovered, "
         "failed, outstanding and churn per month.", INSIGHT),
    Spec("log", "billing.cli.log_cmd:log",
         "The event log: what changed, when, and why (newest last).", INSIGHT),
    Spec("sandbox", "billing.sandbox.cli:app",
         "The Toast sandbox (emulator of the hosted-checkout APIs).", SANDBOX),
    Spec("demo", "billing.cli.demo_cmd:demo", "Simulate a restaurant's year of billing against "
         "the embedded sandbox and report on it.", SANDBOX),
)}  # fmt: skip


def load(spec: Spec) -> click.Command:
    """Import the command's module and build its (hardened) click command."""
    module_name, attribute = spec.target.split(":")
    target = getattr(importlib.import_module(module_name), attribute)
    if isinstance(target, typer.Typer):
        command = typer.main.get_command(target)
    else:
        single = typer.Typer()
        single.command(name=spec.name)(target)
        command = typer.main.get_command(single)
    command.name = spec.name
    harden(command)
    return command


def stub(spec: Spec) -> click.Command:
    """What ``billing --help`` shows of a command, without importing it."""
    return TyperCommand(name=spec.name, help=spec.help, rich_help_panel=spec.panel)


def harden(command: click.Command) -> None:
    """Every value-taking parameter refuses an empty value given on the command line (it would
    otherwise read as "not given"), and integers stay within what the database stores; flags
    show no ``<bool>`` type in help."""
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            harden(sub)
    quiet_flags(command)
    for param in command.params:
        if not (isinstance(param, TyperOption) and param.is_flag):
            param.callback = _checked(param.callback)


def quiet_flags(command: click.Command) -> None:
    """Flags (``--json``, ``--help``...) show no ``<bool>`` type in help."""
    for param in command.params:
        if isinstance(param, TyperOption) and param.is_flag:
            param.metavar = ""
    if getattr(command, "_quiet_help", False):
        return
    command._quiet_help = True  # type: ignore[attr-defined]
    original = command.get_help_option

    def help_option(ctx: click.Context) -> Any:
        option = original(ctx)
        if option is not None:
            option.metavar = ""
        return option

    command.get_help_option = help_option  # type: ignore[method-assign]


def _checked(original: Any) -> Any:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        given = ctx.get_parameter_source(param.name or "") == ParameterSource.COMMANDLINE
        values = value if isinstance(value, list | tuple) else [value]
        if given and any(v == "" for v in values):
            raise typer.BadParameter("empty value: give a value, or leave the option out")
        for v in values:
            if isinstance(v, int) and not isinstance(v, bool) and not -INT32 <= v <= INT32:
                raise typer.BadParameter(f"{v} is out of range (at most {INT32:,})")
        return original(ctx, param, value) if original else value

    return callback
