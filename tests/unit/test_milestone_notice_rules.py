"""The pure rule of event milestone notices: told once inside the window, again only when the
amount to be charged differs from the one last told, never at or after the charge's instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from billing.notify import rules

DUE = datetime(2027, 3, 12, 14, tzinfo=UTC)


@given(
    before_s=st.integers(min_value=-86_400, max_value=10 * 86_400),
    days=st.integers(min_value=1, max_value=7),
    amount=st.integers(min_value=0, max_value=10_000_000),
    told=st.none() | st.integers(min_value=0, max_value=10_000_000),
)
def test_a_notice_is_due_inside_the_window_when_the_amount_was_not_told(
    before_s: int, days: int, amount: int, told: int | None
) -> None:
    now = DUE - timedelta(seconds=before_s)
    due = rules.milestone_notice_due(due_at=DUE, now=now, days=days, amount_cents=amount,
                                     told_cents=told)  # fmt: skip
    in_window = 0 < before_s <= days * 86_400
    assert due == (in_window and amount > 0 and told != amount)


def test_the_examples() -> None:
    now = DUE - timedelta(days=3)
    assert rules.milestone_notice_due(due_at=DUE, now=now, days=3, amount_cents=220_825,
                                      told_cents=None)  # fmt: skip
    assert not rules.milestone_notice_due(due_at=DUE, now=now, days=3, amount_cents=220_825,
                                          told_cents=220_825)  # fmt: skip
    assert rules.milestone_notice_due(due_at=DUE, now=now, days=3, amount_cents=387_485,
                                      told_cents=220_825)  # fmt: skip
    assert not rules.milestone_notice_due(due_at=DUE, now=DUE, days=3, amount_cents=387_485,
                                          told_cents=None)  # fmt: skip
    assert rules.milestone_notice_key("event:7:milestone:balance", 2) == (
        "event:7:milestone:balance:notice:2"
    )
    assert rules.kind_for("catering_event", "milestone_notice", off=frozenset()) == (
        rules.Kind.MILESTONE_NOTICE
    )
