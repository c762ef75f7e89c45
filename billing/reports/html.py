"""The report as one self-contained HTML page: inline CSS and SVG, no scripts, no network.

Every string that can come from a user (plan names and codes, locations) goes through
``html.escape``; so do the generated ones, for good measure.
"""

from __future__ import annotations

import math
from html import escape

from billing.domain.money import format_cents
from billing.reports import svg
from billing.reports.model import (
    LABELS,
    TALLIES,
    Balance,
    CollectionsReport,
    Figures,
    Group,
    Milestone,
    Tally,
)

STYLE = """
:root { --ink: #1f2933; --muted: #6b7785; --line: #e4e7eb; --collected: #2f7d5b;
  --recovered: #3b82c4; --failed: #d0533f; --bg: #f7f8fa; }
* { box-sizing: border-box; }
body { margin: 0; padding: 32px; background: var(--bg); color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
h1 { margin: 0 0 4px; font-size: 24px; } h2 { font-size: 17px; margin: 28px 0 10px; }
.sub { color: var(--muted); margin: 0 0 20px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.card .k { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .v { font-size: 22px; font-weight: 600; margin-top: 2px; }
.card .n { color: var(--muted); font-size: 12px; }
.panel { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 14px;
  margin-top: 12px; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: right;
  white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
thead th { font-size: 12px; color: var(--muted); text-transform: uppercase; }
tfoot td { font-weight: 600; border-top: 2px solid var(--ink); }
.code { color: var(--muted); font-size: 12px; }
svg.chart { display: block; max-width: 980px; }
svg .grid { stroke: var(--line); } svg .axis { stroke: var(--ink); fill: none; }
svg .tick, svg .label { fill: var(--muted); font-size: 11px; }
.bar.collected, .swatch.collected { fill: var(--collected); background: var(--collected); }
.bar.recovered, .swatch.recovered { fill: var(--recovered); background: var(--recovered); }
.bar.failed, .swatch.failed { fill: var(--failed); background: var(--failed); }
.bar.mrr { fill: #7a5cc4; }
.legend { margin: 6px 0 0 64px; color: var(--muted); font-size: 12px; }
.legend .key { margin-right: 16px; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 6px; border-radius: 2px; }
footer { color: var(--muted); font-size: 12px; margin-top: 28px; max-width: 760px; }
.scroll { overflow-x: auto; max-width: 100%; }
svg.chart { width: 100%; height: auto; }
@media (max-width: 600px) { body { padding: 14px; } .card .v { font-size: 18px; }
  .cards { grid-template-columns: repeat(2, minmax(0, 1fr)); } }
"""

DEFINITIONS = (
    "Paid: paid charges, in the month they were paid. Declined: charges with at least one "
    "decline, in the month of the first. Recovered: paid after at least one decline (dunning "
    "worked). Failed: dunning gave up. Outstanding: due and still open (awaiting a retry, "
    "processing or needing attention), in the month due. Churned: subscriptions that ended "
    "(cancelled, paused and not resumed, or defaulted). Paid %: paid / (paid + failed)."
)


def _amount(t: Tally) -> str:
    if not t.count:
        return "—"
    return f'{escape(format_cents(t.cents))} <span class="code">({t.count})</span>'


def _rate(value: float | None) -> str:
    """One decimal, rounded down: 293 paid and 1 failed is 99.6%, never 100%."""
    return "—" if value is None else f"{math.floor(value * 1000) / 10:.1f}%"


def _card(key: str, value: str, note: str = "") -> str:
    return (
        f'<div class="card"><div class="k">{escape(key)}</div>'
        f'<div class="v">{escape(value)}</div><div class="n">{escape(note)}</div></div>'
    )


def cards(f: Figures) -> str:
    c = f.churned
    return '<section class="cards">' + "".join([
        _card("Collected", format_cents(f.charged.cents), f"{f.charged.count} charges paid"),
        _card("Recovered by dunning", format_cents(f.recovered.cents),
              f"{f.recovered.count} of {f.declined.count} declined"),
        _card("Failed", format_cents(f.failed.cents), f"{f.failed.count} charges gave up"),
        _card("Outstanding", format_cents(f.outstanding.cents), f"{f.outstanding.count} open"),
        _card("Churned", str(c.total),
              f"{c.cancelled} cancelled · {c.paused} paused · {c.defaulted} defaulted"),
        _card("Paid", _rate(f.collection_rate), "of charges settled"),
    ]) + "</section>"  # fmt: skip


def _cells(f: Figures) -> str:
    churn = str(f.churned.total) if f.churned.total else "—"
    values = [_amount(f.charged), _amount(f.declined), _amount(f.recovered), _amount(f.failed),
              _amount(f.outstanding), churn, _rate(f.collection_rate)]  # fmt: skip
    return "".join(f"<td>{v}</td>" for v in values)


def table(first: str, rows: list[tuple[str, Figures]], total: Figures | None = None) -> str:
    heads = [first, *(LABELS[k] for k in (*TALLIES, "churned")), "Paid %"]
    head = "".join(f"<th>{escape(h)}</th>" for h in heads)
    body = "".join(f"<tr><td>{label}</td>{_cells(f)}</tr>" for label, f in rows)
    foot = f"<tfoot><tr><td>Total</td>{_cells(total)}</tr></tfoot>" if total else ""
    # The wide table scrolls inside its box on a phone; the page itself never overflows.
    return (f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>'
            f"{foot}</table></div>")  # fmt: skip


def _plan_rows(report: CollectionsReport) -> list[tuple[str, Figures]]:
    return [
        (f'{escape(p.name)} <span class="code">{escape(p.code)} · {escape(p.kind)}</span>',
         report.plan(p.code))
        for p in report.plans
    ]  # fmt: skip


def _rows(groups: tuple[Group, ...]) -> list[tuple[str, Figures]]:
    return [(escape(g.label), g.figures) for g in groups]


def charts(report: CollectionsReport) -> str:
    labels = [p.label for p in report.series]
    collected = svg.bars(labels, [p.collected_cents for p in report.series],
                         title="Collected per month", css="collected")  # fmt: skip
    pair = [
        svg.Series(name="Recovered by dunning", css="recovered",
                   values=[p.recovered_cents for p in report.series]),
        svg.Series(name="Failed (dunning gave up)", css="failed",
                   values=[p.failed_cents for p in report.series]),
    ]  # fmt: skip
    recovery = svg.stacked_bars(labels, pair, title="Recovered vs failed per month")
    mrr = svg.bars(labels, [p.mrr_cents for p in report.series],
                   title="Monthly recurring revenue", css="mrr")  # fmt: skip
    return (f'<h2>Collected per month</h2><div class="panel">{collected}</div>'
            f'<h2>Recovered vs failed per month</h2><div class="panel">{recovery}'
            f"{svg.legend(pair)}</div>"
            f'<h2>Members and monthly recurring revenue</h2><div class="panel">{mrr}</div>'
            f"{trend_table(report)}")  # fmt: skip


def trend_table(report: CollectionsReport) -> str:
    rows = "".join(
        f"<tr><td>{escape(p.label)}</td><td>{p.active_members}</td>"
        f"<td>{escape(format_cents(p.mrr_cents))}</td></tr>"
        for p in report.series
    )
    head = "<th>Month</th><th>Active members</th><th>Monthly recurring revenue</th>"
    return (f'<div class="scroll"><table class="trend"><thead><tr>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table></div>")  # fmt: skip


def _simple_table(css: str, heads: list[str], rows: list[list[str]]) -> str:
    """A table of already escaped cells (the first column left, the others right)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in heads)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return (f'<div class="scroll"><table class="{css}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")  # fmt: skip


def milestones_table(milestones: tuple[Milestone, ...]) -> str:
    rows = [
        [escape(m.title) + f' <span class="code">#{m.event_id}</span>', escape(m.milestone),
         escape(m.location_label), escape(m.due_local) + (" · due" if m.past_due else ""),
         escape(format_cents(m.amount_cents)), escape(m.event_status.replace("_", " "))]
        for m in milestones
    ]  # fmt: skip
    heads = ["Event", "Milestone", "Location", "Due (event's time)", "Amount", "Status"]
    return _simple_table("milestones", heads, rows)


def balances_table(balances: tuple[Balance, ...]) -> str:
    rows = [
        [escape(b.label), str(b.events), escape(format_cents(b.due_cents)),
         escape(format_cents(b.past_due_cents)) if b.past_due_cents else "—"]
        for b in balances
    ]  # fmt: skip
    return _simple_table("balances", ["Location", "Events", "Balance due", "Already due"], rows)


def events_sections(report: CollectionsReport) -> str:
    """Upcoming event milestones and balances due by location (a snapshot at generation);
    nothing when no live event owes anything."""
    if not report.milestones:
        return ""
    upcoming, balances = milestones_table(report.milestones), balances_table(report.balances)
    return (f"<h2>Upcoming event milestones</h2>{upcoming}"
            f"<h2>Event balances due by location</h2>{balances}")  # fmt: skip


def render(report: CollectionsReport) -> str:
    period = report.period
    generated = report.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    subtitle = f"{period.label()} · months in {period.timezone} · generated {generated}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Collections report {escape(period.label())}</title>
<style>{STYLE}</style></head>
<body>
<h1>Collections report</h1>
<p class="sub">{escape(subtitle)}</p>
{cards(report.totals)}
{charts(report)}
<h2>By month</h2>{table("Month", _rows(report.by_month), report.totals)}
<h2>By plan</h2>{table("Plan", _plan_rows(report))}
<h2>By location</h2>{table("Location", _rows(report.by_location))}
{events_sections(report)}
<footer>{escape(DEFINITIONS)}</footer>
</body></html>
"""
