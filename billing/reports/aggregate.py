"""From facts (one per charge, one per subscription end) to the report: pure, no I/O."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from billing.reports.model import (
    CHURN_KINDS,
    EVENTS,
    ONE_OFF,
    Balance,
    Churn,
    CollectionsReport,
    Figures,
    Group,
    Line,
    Milestone,
    PlanInfo,
    Point,
    Tally,
)
from billing.reports.period import Month, Period

OPEN_STATES = frozenset({"scheduled", "retry_scheduled", "processing", "needs_attention"})
ONE_OFF_PLAN = PlanInfo(code=ONE_OFF, name="One-off fees", kind="UNSCHEDULED")
EVENTS_PLAN = PlanInfo(code=EVENTS, name="Event milestones", kind="INSTALLMENT")
SOURCE_PLANS = {"event": EVENTS}  # door sources with their own report line (else one-off)
LAST = (EVENTS, ONE_OFF)  # listed after the plans, in this order


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargeFact:
    plan: str  # plan code, EVENTS, or ONE_OFF
    location: str
    amount_cents: int
    status: str
    decline_count: int
    due_at: datetime
    first_declined_at: datetime | None
    settled_at: datetime | None
    count: int = 1  # a fact may stand for ``count`` alike charges (``amount_cents`` their sum)
    due_yet: bool | None = None  # due by the report's instant; None: compare ``due_at``


@dataclass(frozen=True, slots=True, kw_only=True)
class EndFact:
    """A subscription ended: ``kind`` is cancelled, paused or defaulted."""

    plan: str
    location: str
    kind: str
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class TrendFact:
    """Recurring charges of one plan due in one month: ``members`` distinct subscriptions,
    ``cents`` their amounts; ``per_month`` turns one cycle into a monthly amount."""

    month: str
    members: int
    cents: int
    per_month: float = 1.0


MONTHLY_SHARE = {"day": 365.25 / 12, "week": 365.25 / 7 / 12, "month": 1.0, "year": 1 / 12}


def monthly_share(unit: str | None, every: int) -> float:
    """How many cycles of ``every`` ``unit`` fall in an average month."""
    return MONTHLY_SHARE.get(unit or "month", 1.0) / max(every, 1)


Key = tuple[str, str, str]  # (month, plan, location)


@dataclass(slots=True)
class _Acc:
    tallies: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    churn: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, other: _Acc) -> None:
        for name, (count, cents) in other.tallies.items():
            self.tallies[name][0] += count
            self.tallies[name][1] += cents
        for kind, count in other.churn.items():
            self.churn[kind] += count

    def freeze(self) -> Figures:
        tallies = {n: Tally(count=c, cents=s) for n, (c, s) in self.tallies.items()}
        return Figures(**tallies, churned=Churn(**self.churn))


def contributions(fact: ChargeFact, period: Period, now: datetime) -> Iterator[tuple[Month, str]]:
    """The (month, tally) pairs one charge counts in. An open charge is outstanding once it
    is due (at ``now``): a charge scheduled for later is not owed yet."""
    settled = period.bucket(fact.settled_at)
    if fact.status == "paid" and settled is not None:
        yield settled, "charged"
        if fact.decline_count > 0:
            yield settled, "recovered"
    if fact.status == "failed" and settled is not None:
        yield settled, "failed"
    declined = period.bucket(fact.first_declined_at)
    if declined is not None:
        yield declined, "declined"
    due = period.bucket(fact.due_at)
    due_yet = fact.due_yet if fact.due_yet is not None else fact.due_at <= now
    if fact.status in OPEN_STATES and due is not None and due_yet:
        yield due, "outstanding"


def build(
    period: Period,
    *,
    charges: Iterable[ChargeFact],
    ends: Iterable[EndFact],
    plans: Iterable[PlanInfo],
    generated_at: datetime,
    location_names: Mapping[str, str] | None = None,
    trend: Iterable[TrendFact] = (),
) -> CollectionsReport:
    """``location_names`` labels location GUIDs (the store only knows GUIDs)."""
    cells: dict[Key, _Acc] = defaultdict(_Acc)
    for fact in charges:
        for month, name in contributions(fact, period, generated_at):
            tally = cells[(str(month), fact.plan, fact.location)].tallies[name]
            tally[0] += fact.count
            tally[1] += fact.amount_cents
    for end in ends:
        ended = period.bucket(end.at)
        if ended is not None and end.kind in CHURN_KINDS:
            cells[(str(ended), end.plan, end.location)].churn[end.kind] += 1
    known = {p.code: p for p in plans} | {ONE_OFF: ONE_OFF_PLAN, EVENTS: EVENTS_PLAN}
    members: dict[str, int] = defaultdict(int)
    mrr: dict[str, float] = defaultdict(float)
    for point in trend:
        members[point.month] += point.members
        mrr[point.month] += point.cents * point.per_month
    report = _report(period, cells, known, generated_at, location_names or {})
    series = tuple(
        replace(p, active_members=members[p.month], mrr_cents=round(mrr[p.month]))
        for p in report.series
    )
    return replace(report, series=series)


def _report(
    period: Period,
    cells: dict[Key, _Acc],
    plans: dict[str, PlanInfo],
    generated_at: datetime,
    names: Mapping[str, str],
) -> CollectionsReport:
    lines = tuple(
        Line(month=k[0], plan=k[1], location=k[2], figures=acc.freeze())
        for k, acc in sorted(cells.items())
    )
    spans_years = period.first.year != period.last.year
    months = {str(m): m.label(with_year=spans_years) for m in period.months()}
    used = sorted({k[1] for k in cells},
                  key=lambda code: (LAST.index(code) + 1 if code in LAST else 0, code))
    by_month = _roll_up(cells, 0, months)
    return CollectionsReport(
        period=period,
        generated_at=generated_at,
        plans=tuple(plans.get(c) or PlanInfo(code=c, name=c, kind="?") for c in used),
        lines=lines,
        by_month=by_month,
        by_plan=_roll_up(cells, 1, {c: (plans[c].name if c in plans else c) for c in used}),
        by_location=_roll_up(cells, 2, {k[2]: names.get(k[2], k[2]) for k in sorted(cells)}),
        totals=_total(cells.values()),
        series=tuple(_point(g) for g in by_month),
    )


def _roll_up(cells: dict[Key, _Acc], axis: int, labels: dict[str, str]) -> tuple[Group, ...]:
    """One group per key of ``labels`` (in its order), summing the cells on that axis."""
    sums: dict[str, _Acc] = {key: _Acc() for key in labels}
    for key, acc in cells.items():
        if key[axis] in sums:
            sums[key[axis]].add(acc)
    return tuple(Group(key=k, label=labels[k], figures=sums[k].freeze()) for k in labels)


def _total(cells: Iterable[_Acc]) -> Figures:
    total = _Acc()
    for acc in cells:
        total.add(acc)
    return total.freeze()


def _point(group: Group) -> Point:
    return Point(
        month=group.key, label=group.label,
        collected_cents=group.figures.charged.cents,
        recovered_cents=group.figures.recovered.cents,
        failed_cents=group.figures.failed.cents,
    )  # fmt: skip


def balances(milestones: Iterable[Milestone]) -> tuple[Balance, ...]:
    """Per location (in label order): the live events with an open milestone, what those
    milestones still owe, and how much of that is already due."""
    events: dict[str, set[int]] = defaultdict(set)
    due: dict[str, int] = defaultdict(int)
    past: dict[str, int] = defaultdict(int)
    labels: dict[str, str] = {}
    for m in milestones:
        events[m.location].add(m.event_id)
        due[m.location] += m.amount_cents
        past[m.location] += m.amount_cents if m.past_due else 0
        labels[m.location] = m.location_label
    return tuple(
        Balance(location=g, label=labels[g], events=len(events[g]), due_cents=due[g],
                past_due_cents=past[g])
        for g in sorted(labels, key=lambda g: (labels[g], g))
    )  # fmt: skip
