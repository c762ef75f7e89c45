"""`billing events ...`: catering and private events, each with a payment schedule charged by
the engine (the audit log is `billing log`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import time

import typer

from billing.cli import confirm, inputs, output
from billing.cli.context import settings_or_exit
from billing.cli.output import JSON_OPTION, command
from billing.clock import SystemClock
from billing.domain import inputs as domain_inputs
from billing.errors import BillingError, DomainError
from billing.events import amend, booking, editing, links, schedules, views
from billing.events.rules import EventStatus

app = typer.Typer(
    help="Events: catering and private events with payment schedules charged by the engine.",
    no_args_is_help=True,
)
EVENT_ID = typer.Argument(..., min=1, help="Event id")
MILESTONES = typer.Option(None, "--milestone", help="This event's own schedule, repeated: "
                          "deposit=25%@signing second=50%@30 balance=rest@3")  # fmt: skip
STATUS = typer.Option(None, "--status", help="Only events in this state")
ADD = typer.Option(None, "--add", help="A new milestone, repeated: tasting=$500@60 (same form "
                   "as --milestone)")  # fmt: skip
CHANGE = typer.Option(None, "--set", help="An open milestone's new rule, repeated: "
                      "second=40%@45/17:00")  # fmt: skip
REMOVE = typer.Option(None, "--remove", help="An open milestone to drop, repeated")
# use-case field -> the option that sets it (error lines name the option)
OPTIONS = {
    "title": "--title", "location": "--location", "timezone": "--timezone", "date": "--date",
    "guests": "--guests", "schedule": "--schedule", "customer": "--customer",
    "per_guest": "--per-guest", "fixed": "--fixed", "total": "--total", "mandate": "--mandate",
    "guarantee": "--guarantee", "milestones": "--milestone", "milestones.name": "--milestone",
    "milestones.kind": "--milestone", "milestones.value": "--milestone",
    "milestones.days_before": "--milestone",
}  # fmt: skip


# the schedule edit's fields -> its options
EDIT_OPTIONS = {
    "add": "--add", "change": "--set", "remove": "--remove", "schedule": "--add/--set/--remove",
    "milestones": "--add/--set", "milestones.name": "--add/--set",
    "milestones.kind": "--add/--set", "milestones.value": "--add/--set",
    "milestones.days_before": "--add/--set",
}  # fmt: skip


@contextmanager
def _named_options(options: dict[str, str] = OPTIONS) -> Iterator[None]:
    try:
        yield
    except BillingError as exc:
        option = options.get(exc.field or "")
        if option is None:
            raise
        raise DomainError(f"{option}: {exc.message}", field=option) from None


def _time(text: str, option: str) -> time:
    try:
        hour, minute = text.split(":")
        if len(hour) > 2 or len(minute) != 2:
            raise ValueError
        return time(int(hour), int(minute))
    except ValueError:
        raise DomainError(f"{domain_inputs.shown(text)} is not a time like 18:00",
                          field=option) from None  # fmt: skip


def _written_off(view: views.EventView) -> str:
    return f", written off {inputs.dollars(view.written_off_cents)}" if view.written_off_cents \
        else ""  # fmt: skip


def _show(view: views.EventView, json_out: bool) -> None:
    if json_out:
        output.print_json(views.as_dict(view))
        return
    ev = view.event
    output.echo(
        f"event {ev.id} {ev.title!r}: {ev.status}, {ev.local_date} {ev.local_time} "
        f"({ev.timezone}), {ev.guests} guests, total {inputs.dollars(view.total_cents)}, paid "
        f"{inputs.dollars(view.paid_cents)}{_written_off(view)}, balance "
        f"{inputs.dollars(view.balance_cents)}; "
        f"guest count guaranteed on {ev.guarantee_date}"
    )
    if ev.cancelled_at is not None:
        output.echo(f"cancelled {ev.cancelled_at:%Y-%m-%d}: retained "
                    f"{inputs.dollars(ev.retained_cents)}, refund owed "
                    f"{inputs.dollars(ev.refund_owed_cents)} (refund it in Toast)")  # fmt: skip
    output.print_table("Schedule", ("milestone", "rule", "due", "amount", "state", "charge"), [
        (li.name, li.rule, li.due_at, inputs.dollars(li.amount_cents), li.state,
         f"{li.charge_id} {li.charge_status}" if li.charge_id else "")
        for li in view.lines
    ])  # fmt: skip


@app.command()
@command
def create(
    title: str = typer.Option(..., "--title", help="What the event is: Smith wedding"),
    location: str = typer.Option(..., "--location", help="Location GUID or name"),
    day: str = typer.Option(..., "--date", help="Local date of the event: 2027-06-12"),
    at: str = typer.Option("18:00", "--time", help="Local start time HH:MM"),
    guests: int = typer.Option(..., "--guests", help="Guest count"),
    schedule: str = typer.Option(..., "--schedule", help="Schedule template code"),
    customer: str = typer.Option(..., "--customer", help="Customer id, email or reference"),
    per_guest: str = typer.Option("0", "--per-guest", help="Price per guest in dollars"),
    fixed: str = typer.Option("0", "--fixed", help="Fixed items in dollars (room, bar)"),
    total: str = typer.Option(None, "--total", help="An explicit total in dollars instead"),
    mandate: int = typer.Option(None, "--mandate", min=1,
                                help="The guest's INSTALLMENT mandate: books the event"),
    timezone: str = typer.Option(None, "--timezone", help="IANA zone (default: the location's)"),
    milestone: list[str] = MILESTONES,
    guarantee: str = typer.Option(None, "--guarantee",
                                  help="Guarantee date (default: the day before the last "
                                  "milestone)"),
    json_out: bool = JSON_OPTION,
) -> None:  # fmt: skip
    """Create an event (tentative; booked at once with --mandate: the milestones due at
    signing are charged on the next tick).

    Example: billing events create --title "Smith wedding" --location Downtown --date 2027-06-12 --guests 120 --per-guest 85 --fixed 1500 --schedule standard --customer ana@example.com --mandate 7
    """  # noqa: E501
    with _named_options():
        spec = booking.EventCreate(
            title=title, location=location, local_date=inputs.parse_date(day, "--date"),
            local_time=_time(at, "--time"), guests=guests, schedule=schedule,
            customer=customer, per_guest_cents=_zero_or_cents(per_guest, "--per-guest"),
            fixed_cents=_zero_or_cents(fixed, "--fixed"),
            total_cents=inputs.cents(total, "--total"), mandate_id=mandate, timezone=timezone,
            milestones=[schedules.parse_milestone(m, field="--milestone") for m in milestone]
            if milestone else None,
            guarantee_date=inputs.parse_date(guarantee, "--guarantee") if guarantee else None,
        )  # fmt: skip
        with output.transaction() as session:
            row = booking.create(session, spec, now=SystemClock().now())
            view = views.view(session, row.id or 0)
    _show(view, json_out)


def _zero_or_cents(text: str, option: str) -> int:
    return 0 if text.strip() in ("0", "0.00", "$0") else inputs.cents(text, option) or 0


@app.command()
@command
def book(
    event_id: int = EVENT_ID,
    mandate: int = typer.Option(..., "--mandate", min=1, help="The guest's INSTALLMENT mandate"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Book a tentative event with the guest's mandate: its schedule goes live.

    Example: billing events book 3 --mandate 7
    """
    with _named_options(), output.transaction() as session:
        booking.book(session, event_id, mandate, now=SystemClock().now())
        view = views.view(session, event_id)
    _show(view, json_out)


@app.command()
@command
def show(event_id: int = EVENT_ID, json_out: bool = JSON_OPTION) -> None:
    """Show an event: its schedule, what each milestone is and its charge, paid and balance.

    Example: billing events show 3
    """
    with output.transaction() as session:
        view = views.view(session, event_id)
    _show(view, json_out)


@app.command("list")
@command
def list_(
    status: EventStatus = STATUS,
    refunds: bool = typer.Option(False, "--refunds-owed",
                                 help="Cancelled events owing the guest a refund"),
    json_out: bool = JSON_OPTION,
) -> None:  # fmt: skip
    """List events by start (or the refunds owed for staff to make in Toast).

    Example: billing events list --status balance_due
    """
    with output.transaction() as session:
        if refunds:
            owed = booking.refunds_owed(session)
        else:
            rows = [views.view(session, e.id or 0)
                    for e in views.list_events(session, status=status)]  # fmt: skip
    if refunds:
        if json_out:
            output.print_json([vars_of(o) for o in owed])
            return
        output.print_table("Refunds owed (refund them in Toast)",
                           ("event", "title", "customer", "cancelled", "retained", "owed"), [
            (o.event_id, o.title, o.customer_id, o.cancelled_at, inputs.dollars(o.retained_cents),
             inputs.dollars(o.refund_owed_cents)) for o in owed
        ])  # fmt: skip
        return
    if json_out:
        output.print_json([views.as_dict(v) for v in rows])
        return
    output.print_table("Events", ("id", "title", "date", "guests", "status", "total", "paid",
                                  "balance"), [
        (v.event.id, v.event.title, f"{v.event.local_date} {v.event.local_time}",
         v.event.guests, v.event.status, inputs.dollars(v.total_cents),
         inputs.dollars(v.paid_cents), inputs.dollars(v.balance_cents))
        for v in rows
    ])  # fmt: skip


def vars_of(item: booking.RefundOwed) -> dict[str, object]:
    return {name: getattr(item, name) for name in item.__slots__}


@app.command("move")
@command
def move_(
    event_id: int = EVENT_ID,
    day: str = typer.Option(..., "--date", help="The new local date: 2027-06-19"),
    at: str = typer.Option(None, "--time", help="The new local start time HH:MM"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Move an event: every unpaid milestone moves with it; paid ones never change.

    Example: billing events move 3 --date 2027-06-19
    """
    with _named_options(), output.transaction() as session:
        booking.move(
            session, event_id, local_date=inputs.parse_date(day, "--date"),
            local_time=_time(at, "--time") if at else None, now=SystemClock().now(),
        )  # fmt: skip
        view = views.view(session, event_id)
    _show(view, json_out)


@app.command("guests")
@command
def guests_(
    event_id: int = EVENT_ID,
    count: int = typer.Argument(..., help="The new guest count"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Change the guest count (after the guarantee date it may rise, not fall); unpaid
    milestones are recomputed.

    Example: billing events guests 3 135
    """
    with _named_options(), output.transaction() as session:
        booking.guests(session, event_id, count, now=SystemClock().now())
        view = views.view(session, event_id)
    _show(view, json_out)


@app.command("price")
@command
def price_(
    event_id: int = EVENT_ID,
    per_guest: str = typer.Option(None, "--per-guest", help="Price per guest in dollars"),
    fixed: str = typer.Option(None, "--fixed", help="Fixed items in dollars"),
    total: str = typer.Option(None, "--total", help="An explicit total in dollars"),
    rule: bool = typer.Option(False, "--rule", help="Drop the explicit total: per guest + fixed"),
    json_out: bool = JSON_OPTION,
) -> None:
    """Change the price (per guest, fixed items, or an explicit total); unpaid milestones are
    recomputed, paid ones never change.

    Example: billing events price 3 --per-guest 92.50
    """
    with _named_options(), output.transaction() as session:
        if total is not None and rule:
            raise DomainError("--total and --rule contradict each other", field="--rule")
        booking.price(
            session, event_id,
            per_guest_cents=None if per_guest is None else _zero_or_cents(per_guest, "--per-guest"),
            fixed_cents=None if fixed is None else _zero_or_cents(fixed, "--fixed"),
            total_cents=inputs.cents(total, "--total"), rule_total=rule, now=SystemClock().now(),
        )  # fmt: skip
        view = views.view(session, event_id)
    _show(view, json_out)


@app.command("confirm")
@command
def confirm_(
    event_id: int = EVENT_ID,
    milestone: str = typer.Argument(..., help="Milestone name"),
    yes: bool = confirm.YES,
    json_out: bool = JSON_OPTION,
) -> None:
    """Staff confirmation: charge a milestone on or after the event's start (never done
    without it).

    Example: billing events confirm 3 balance --yes
    """
    with output.transaction() as session:
        view = views.view(session, event_id)
    confirm.ask(f"charge {milestone} of event {event_id} ({view.event.title}) now",
                [f"balance {inputs.dollars(view.balance_cents)}"], yes=yes)  # fmt: skip
    with _named_options(), output.transaction() as session:
        booking.confirm(session, event_id, milestone, now=SystemClock().now())
        view = views.view(session, event_id)
    _show(view, json_out)


@app.command()
@command
def cancel(
    event_id: int = EVENT_ID, yes: bool = confirm.YES, json_out: bool = JSON_OPTION
) -> None:
    """Cancel an event: future milestones stop, the mandate is revoked, and what the
    cancellation tier retains and the refund owed are recorded (refund it in Toast).

    Example: billing events cancel 3 --yes
    """
    with output.transaction() as session:
        view = views.view(session, event_id)
    confirm.ask(f"cancel event {event_id} ({view.event.title})",
                [f"paid so far {inputs.dollars(view.paid_cents)}"], yes=yes)  # fmt: skip
    with output.transaction() as session:
        done = booking.cancel(session, event_id, now=SystemClock().now())
        view = views.view(session, event_id)
    if not json_out and done.still_in_flight:
        output.echo(f"still being charged: {', '.join(done.still_in_flight)} (counted once "
                    "settled)")  # fmt: skip
    _show(view, json_out)


@app.command()
@command
def close(event_id: int = EVENT_ID, yes: bool = confirm.YES, json_out: bool = JSON_OPTION) -> None:
    """Close an event for good: unpaid milestones are withdrawn and the mandate is revoked
    (an event paid in full closes by itself once it starts).

    Example: billing events close 3 --yes
    """
    with output.transaction() as session:
        view = views.view(session, event_id)
    confirm.ask(f"close event {event_id} ({view.event.title})",
                [f"balance left {inputs.dollars(view.balance_cents)}"], yes=yes)  # fmt: skip
    with output.transaction() as session:
        booking.close(session, event_id, now=SystemClock().now())
        view = views.view(session, event_id)
    _show(view, json_out)


@app.command()
@command
def link(event_id: int = EVENT_ID, json_out: bool = JSON_OPTION) -> None:
    """Create a payment link for an event and print its URL (send it to the guest: it works
    once, for serve.card_link_days). A tentative event's link takes the deposit in the hosted
    checkout (an INSTALLMENT payment whose mandate pays the later milestones); an event whose
    total rose after it was paid in full gets a link for the difference.

    Example: billing events link 3
    """
    settings = settings_or_exit()
    with output.transaction(settings) as session:
        issued = links.issue(session, event_id, now=SystemClock().now(), serve=settings.serve)
        facts = {"url": issued.url, "event_id": event_id, "purpose": issued.purpose,
                 "amount_cents": issued.amount_cents, "customer_id": issued.event.customer_id,
                 "expires_at": issued.expires_at}  # fmt: skip
    if json_out:
        output.print_json(facts)
        return
    output.echo(issued.url)
    output.echo(f"the {issued.purpose} of event {event_id} ({issued.event.title}): "
                f"{inputs.dollars(issued.amount_cents)} now; works once, until "
                f"{output.cell(issued.expires_at)}")  # fmt: skip


@app.command("schedule")
@command
def schedule_(
    event_id: int = EVENT_ID,
    add: list[str] = ADD,
    change: list[str] = CHANGE,
    remove: list[str] = REMOVE,
    json_out: bool = JSON_OPTION,
) -> None:  # fmt: skip
    """Edit an event's schedule: add, change or remove milestones not yet paid (paid ones never
    change); the result must still have exactly one remainder, due last, and percentages of at
    most 100%. Unpaid milestones are recomputed and their charges updated at once.

    Example: billing events schedule 3 --set second=40%@45 --add tasting=$500@60
    """
    with _named_options(EDIT_OPTIONS):
        edit = editing.Edit(
            add=[schedules.parse_milestone(m, field="add") for m in add or ()],
            change=[schedules.parse_milestone(m, field="change") for m in change or ()],
            remove=list(remove or ()),
        )  # fmt: skip
        with output.transaction() as session:
            amend.edit_schedule(session, event_id, edit, now=SystemClock().now())
            view = views.view(session, event_id)
    _show(view, json_out)


@app.command("waive")
@command
def waive_(
    event_id: int = EVENT_ID,
    milestone: str = typer.Argument(..., help="Milestone name"),
    reason: str = typer.Option(..., "--reason", help="Why it is waived (kept in the log)"),
    yes: bool = confirm.YES,
    json_out: bool = JSON_OPTION,
) -> None:
    """Waive an unpaid milestone: its amount is written off (never charged, and not rolled
    into the remainder: the balance is total - paid - written off).

    Example: billing events waive 3 second --reason "venue flooded: goodwill" --yes
    """
    with output.transaction() as session:
        view = views.view(session, event_id)
    line = next((li for li in view.lines if li.name == milestone), None)
    amount = inputs.dollars(line.amount_cents) if line else "?"
    confirm.ask(f"waive {milestone} of event {event_id} ({view.event.title})",
                [f"written off {amount}"], yes=yes)  # fmt: skip
    with _named_options({"milestone": "milestone", "reason": "--reason"}), \
            output.transaction() as session:  # fmt: skip
        amend.waive(session, event_id, milestone, reason=reason, now=SystemClock().now())
        view = views.view(session, event_id)
    _show(view, json_out)
