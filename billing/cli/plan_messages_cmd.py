"""`billing plans messages CODE`: which messages a plan's members get, set by staff in the store
(over the configuration's defaults, ``billing.notify.plan_messages``)."""

from __future__ import annotations

from typing import Any

import typer
from sqlmodel import Session

from billing.cli import context, output
from billing.cli.output import JSON_OPTION, command
from billing.clock import SystemClock
from billing.errors import DomainError
from billing.manage import plans
from billing.notify import plan_messages
from billing.settings import NotifySettings

SWITCH = {"on": True, "off": False, "default": None}
HELP = "on, off, or default (back to the configuration)"


def _switch(option: str) -> Any:
    return typer.Option(None, option, help=f"{option[2:].replace('-', ' ')}: {HELP}")


def _parse(value: str | None, option: str) -> tuple[bool, bool | None]:
    """(given, on/off/None) from on|off|default; one error line naming the option."""
    if value is None:
        return False, None
    key = value.strip().lower()
    if key not in SWITCH:
        raise DomainError(f"{option}: must be on, off or default, not {value!r}", field=option)
    return True, SWITCH[key]


def _days(value: str | None) -> tuple[int | None, bool]:
    """(days, reset) from --reminder-days N (1-60) or default."""
    if value is None:
        return None, False
    if value.strip().lower() == "default":
        return None, True
    text = value.strip()
    if not text.isdigit() or not 1 <= int(text) <= 60:
        raise DomainError(f"--reminder-days: must be a whole number of days from 1 to 60, or "
                          f"default, not {value!r}", field="--reminder-days")  # fmt: skip
    return int(text), False


def view(session: Session, code: str, notify: NotifySettings) -> dict[str, Any]:
    """A plan's message settings in force, and where each comes from (JSON-ready)."""
    found = plan_messages.effective(session, code, notify)
    return {
        "kinds": {k.value: k not in found.kinds_off for k in plan_messages.PLAN_KINDS},
        "reminder_days": found.reminder_days,
        "from": {**{k.value: found.kind_from[k.value] for k in plan_messages.PLAN_KINDS},
                 "reminder_days": found.days_from},
    }  # fmt: skip


def rows(shown: dict[str, Any]) -> list[list[Any]]:
    kinds: dict[str, bool] = shown["kinds"]
    out = [[k, "on" if on else "off", shown["from"][k]] for k, on in kinds.items()]
    return [*out, ["reminder days", shown["reminder_days"], shown["from"]["reminder_days"]]]


@command
def messages(
    code: str = typer.Argument(..., help="Plan code"),
    receipt: str = _switch("--receipt"), reminder: str = _switch("--reminder"),
    decline: str = _switch("--decline"), final_failure: str = _switch("--final-failure"),
    cancellation: str = _switch("--cancellation"), expiring_card: str = _switch("--expiring-card"),
    reminder_days: str = typer.Option(
        None, "--reminder-days", help="Days before a charge to remind (1-60), or default"
    ),
    json_out: bool = JSON_OPTION,
) -> None:  # fmt: skip
    """Show or set which messages a plan's members get; without options, show them.

    Settings here override the configuration (notify.plans, then notify.*) for this plan, kind
    by kind; "default" goes back to it. Switching reminders off holds the charges that need a
    required notice (billing attention). Example: billing plans messages wine --receipt on
    --reminder-days 7 --decline on
    """
    settings = context.settings_or_exit()
    given = {
        "receipt": _parse(receipt, "--receipt"), "reminder": _parse(reminder, "--reminder"),
        "decline": _parse(decline, "--decline"),
        "final_failure": _parse(final_failure, "--final-failure"),
        "cancellation": _parse(cancellation, "--cancellation"),
        "expiring_card": _parse(expiring_card, "--expiring-card"),
    }  # fmt: skip
    days, reset = _days(reminder_days)
    kinds = {kind: on for kind, (set_, on) in given.items() if set_}
    with output.transaction(settings) as session:
        if kinds or days is not None or reset:
            plan_messages.set_for_plan(session, code, kinds=kinds, reminder_days=days,
                                       reset_days=reset, now=SystemClock().now())  # fmt: skip
        else:
            plans.get(session, code)  # an unknown plan is refused
        shown = view(session, code, settings.notify)
    if json_out:
        output.print_json({"plan": code, **shown})
    else:
        output.print_table(f"Messages of plan {code}", ("message", "value", "set in"), rows(shown))
