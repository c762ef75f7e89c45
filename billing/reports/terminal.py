"""The report as Rich tables for the terminal (``billing report``, ``billing demo``).

Compact enough for 80 columns: amounts for paid, recovered, failed and outstanding charges,
counts for charges paid, declined and subscriptions churned, in the words of the HTML page
(the HTML and JSON views carry both everywhere).
"""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.console import Group as RichGroup
from rich.table import Table
from rich.text import Text

from billing.domain.money import format_cents
from billing.reports.model import (
    LABELS,
    Balance,
    CollectionsReport,
    Figures,
    Group,
    Milestone,
    Tally,
)

HEADERS = (LABELS["charged"], "#", LABELS["declined"], LABELS["recovered"], LABELS["failed"],
           LABELS["outstanding"], LABELS["churned"])  # fmt: skip


def _money(t: Tally) -> str:
    return format_cents(t.cents) if t.count else "—"


def _count(n: int) -> str:
    return str(n) if n else "—"


def _row(label: str, f: Figures) -> list[str]:
    return [
        label, _money(f.charged), _count(f.charged.count), _count(f.declined.count),
        _money(f.recovered), _money(f.failed), _money(f.outstanding), _count(f.churned.total),
    ]  # fmt: skip


def table(title: str, first: str, groups: tuple[Group, ...], total: Figures | None) -> Table:
    out = Table(title=title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD,
                show_footer=total is not None, pad_edge=False, collapse_padding=True)  # fmt: skip
    totals = _row("Total", total) if total is not None else [""] * (len(HEADERS) + 1)
    for n, (header, foot) in enumerate(zip((first, *HEADERS), totals, strict=True)):
        label = n == 0  # only the label column shrinks (numbers never wrap)
        out.add_column(
            header, footer=foot, justify="left" if label else "right", no_wrap=not label,
            overflow="fold",
        )  # fmt: skip
    for group in groups:
        name, *cells = _row(group.label, group.figures)
        out.add_row(Text(name), *cells)  # Text: a plan named "[bold]x" is not markup
    return out


def short_location(label: str) -> str:
    """A location GUID as its first block (names are kept as they are)."""
    return label.split("-")[0] + "…" if len(label) == 36 and label.count("-") == 4 else label


def _plain(title: str, heads: tuple[str, ...]) -> Table:
    out = Table(title=title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD,
                pad_edge=False, collapse_padding=True)  # fmt: skip
    for n, head in enumerate(heads):
        out.add_column(head, justify="left" if n < 3 else "right", no_wrap=n >= 3,
                       overflow="fold")  # fmt: skip
    return out


def milestones_table(milestones: tuple[Milestone, ...]) -> Table:
    out = _plain("Upcoming event milestones", ("Event", "Milestone", "Location", "Due", "Amount"))
    for m in milestones:
        due = m.due_local.rsplit(" ", 1)[0] + (" (due)" if m.past_due else "")
        out.add_row(Text(f"#{m.event_id} {m.title}"), Text(m.milestone),
                    Text(short_location(m.location_label)), due,
                    format_cents(m.amount_cents))  # fmt: skip
    return out


def balances_table(balances: tuple[Balance, ...]) -> Table:
    out = _plain("Event balances due by location",
                 ("Location", "Events", "Balance due", "Already due"))  # fmt: skip
    out.columns[1].justify = "right"
    for b in balances:
        out.add_row(Text(short_location(b.label)), str(b.events), format_cents(b.due_cents),
                    _money(Tally(count=1, cents=b.past_due_cents)) if b.past_due_cents else "—")
    return out


def render(report: CollectionsReport) -> RichGroup:
    locations = tuple(
        Group(key=g.key, label=short_location(g.label), figures=g.figures)
        for g in report.by_location
    )
    months = tuple(Group(key=g.key, label=g.key, figures=g.figures) for g in report.by_month)
    header = Text.assemble(
        ("Collections report ", "bold"), (report.period.label(), "bold cyan"),
        f"  (months in {report.period.timezone})",
    )  # fmt: skip
    events = (milestones_table(report.milestones), balances_table(report.balances))
    return RichGroup(
        header,
        table("By month", "Month", months, report.totals),
        table("By plan", "Plan", report.by_plan, None),
        table("By location", "Location", locations, None),
        *(events if report.milestones else ()),
    )


def show(report: CollectionsReport, console: Console | None = None) -> None:
    (console or Console()).print(render(report))
