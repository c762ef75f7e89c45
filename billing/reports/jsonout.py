"""The report as plain JSON-able data (``billing report --json``); amounts in integer cents."""

from __future__ import annotations

from typing import Any

from billing.reports.model import TALLIES, CollectionsReport, Figures, Group

SCHEMA = "billing.collections/1"


def figures(f: Figures) -> dict[str, Any]:
    out: dict[str, Any] = {
        name: {"count": getattr(f, name).count, "cents": getattr(f, name).cents} for name in TALLIES
    }
    out["churned"] = {
        "cancelled": f.churned.cancelled, "paused": f.churned.paused,
        "defaulted": f.churned.defaulted, "total": f.churned.total,
    }  # fmt: skip
    return out


def _groups(groups: tuple[Group, ...], key: str) -> list[dict[str, Any]]:
    return [{key: g.key, "label": g.label, **figures(g.figures)} for g in groups]


def to_json(report: CollectionsReport) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "period": {
            "from": str(report.period.first), "to": str(report.period.last),
            "timezone": report.period.timezone,
        },
        "generatedAt": report.generated_at.isoformat(),
        "currency": "USD",
        "totals": figures(report.totals),
        "months": _groups(report.by_month, "month"),
        "plans": [
            {"code": p.code, "name": p.name, "kind": p.kind, **figures(report.plan(p.code))}
            for p in report.plans
        ],
        "locations": _groups(report.by_location, "location"),
        "lines": [
            {"month": x.month, "plan": x.plan, "location": x.location, **figures(x.figures)}
            for x in report.lines
        ],
        "series": [
            {"month": p.month, "collectedCents": p.collected_cents,
             "recoveredCents": p.recovered_cents, "failedCents": p.failed_cents,
             "activeMembers": p.active_members, "mrrCents": p.mrr_cents}
            for p in report.series
        ],
        "eventMilestones": [
            {"eventId": m.event_id, "title": m.title, "location": m.location,
             "milestone": m.milestone, "amountCents": m.amount_cents,
             "dueAt": m.due_at.isoformat(), "dueLocal": m.due_local, "pastDue": m.past_due,
             "eventStatus": m.event_status}
            for m in report.milestones
        ],
        "eventBalances": [
            {"location": b.location, "label": b.label, "events": b.events,
             "dueCents": b.due_cents, "pastDueCents": b.past_due_cents}
            for b in report.balances
        ],
    }  # fmt: skip
