"""The collections report as frozen values: what the terminal, JSON and HTML views render.

Definitions (each charge counts in the month, in the report's time zone, of the instant named):

- charged: paid charges (amount, count), by ``settled_at``
- declined: charges that had at least one decline, by ``first_declined_at``
- recovered: paid charges that had at least one decline (paid by dunning), by ``settled_at``
- failed: charges dunning gave up on (status failed), by ``settled_at``
- outstanding: charges still open (scheduled, retry scheduled, processing, needs attention)
  and already due, by ``due_at``; a snapshot at the time the report is built
- active members (trend): subscriptions with a recurring charge due in the month (not
  cancelled); monthly recurring revenue: those charges' amounts as monthly amounts
- churned: subscriptions that ended (cancelled, paused, defaulted), by the event's instant; a
  pause later resumed is not churn
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from billing.reports.period import Period

ONE_OFF = "(one-off)"  # the plan key of UNSCHEDULED charges (not a valid plan code)
EVENTS = "(events)"  # the plan key of catering event milestone charges (door source "event")
TALLIES = ("charged", "declined", "recovered", "failed", "outstanding")
CHURN_KINDS = ("cancelled", "paused", "defaulted")
# The one vocabulary of every view (terminal, HTML): the heading of each figure.
LABELS = {"charged": "Paid", "declined": "Declined", "recovered": "Recovered",
          "failed": "Failed", "outstanding": "Outstanding", "churned": "Churned"}  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class Tally:
    count: int = 0
    cents: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Churn:
    cancelled: int = 0
    paused: int = 0
    defaulted: int = 0

    @property
    def total(self) -> int:
        return self.cancelled + self.paused + self.defaulted


@dataclass(frozen=True, slots=True, kw_only=True)
class Figures:
    charged: Tally = field(default_factory=Tally)
    declined: Tally = field(default_factory=Tally)
    recovered: Tally = field(default_factory=Tally)
    failed: Tally = field(default_factory=Tally)
    outstanding: Tally = field(default_factory=Tally)
    churned: Churn = field(default_factory=Churn)

    @property
    def recovery_rate(self) -> float | None:
        """Of the charges dunning finished with in the period, the share it recovered."""
        done = self.recovered.count + self.failed.count
        return self.recovered.count / done if done else None

    @property
    def collection_rate(self) -> float | None:
        """Of the charges settled in the period, the share paid."""
        done = self.charged.count + self.failed.count
        return self.charged.count / done if done else None


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanInfo:
    code: str
    name: str
    kind: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Line:
    """The finest grain: one month, one plan, one location."""

    month: str
    plan: str
    location: str
    figures: Figures


@dataclass(frozen=True, slots=True, kw_only=True)
class Group:
    """A roll-up: ``key`` is a month ('2027-03'), a plan code or a location GUID."""

    key: str
    label: str
    figures: Figures


@dataclass(frozen=True, slots=True, kw_only=True)
class Point:
    """One month of the time series the charts draw."""

    month: str
    label: str
    collected_cents: int
    recovered_cents: int
    failed_cents: int
    active_members: int = 0  # subscriptions with a recurring charge due in the month
    mrr_cents: int = 0  # those charges as a monthly amount (a yearly $120 is $10)


@dataclass(frozen=True, slots=True, kw_only=True)
class Milestone:
    """An event milestone still to be collected (open, a non-zero amount), as of the report."""

    event_id: int
    title: str
    location: str  # a GUID
    location_label: str
    milestone: str
    amount_cents: int
    due_at: datetime
    due_local: str  # "2027-03-12 09:00 America/New_York" (the event's zone)
    past_due: bool  # due by the report's instant and not yet paid
    event_status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Balance:
    """Per location: what its live events still owe (every open milestone), and how much of it
    is already due."""

    location: str
    label: str
    events: int
    due_cents: int
    past_due_cents: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectionsReport:
    period: Period
    generated_at: datetime
    plans: tuple[PlanInfo, ...]
    lines: tuple[Line, ...]
    by_month: tuple[Group, ...]
    by_plan: tuple[Group, ...]
    by_location: tuple[Group, ...]
    totals: Figures
    series: tuple[Point, ...]
    milestones: tuple[Milestone, ...] = ()  # upcoming event milestones, soonest first
    balances: tuple[Balance, ...] = ()  # event balances due by location

    def month(self, key: str) -> Figures:
        return _find(self.by_month, key)

    def plan(self, code: str) -> Figures:
        return _find(self.by_plan, code)

    def location(self, guid: str) -> Figures:
        return _find(self.by_location, guid)

    def line(self, month: str, plan: str, location: str) -> Figures:
        for line in self.lines:
            if (line.month, line.plan, line.location) == (month, plan, location):
                return line.figures
        return Figures()


def _find(groups: tuple[Group, ...], key: str) -> Figures:
    return next((g.figures for g in groups if g.key == key), Figures())
