"""Per-plan message settings: the store overrides the configuration's plan entry, which
overrides the global configuration, kind by kind and for the reminder days (pure)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from billing.notify import plan_messages
from billing.notify.rules import Kind
from billing.settings import NotifySettings, PlanMessages
from billing.store.tables import PlanMessageSettings

KINDS = st.sets(st.sampled_from([k.value for k in Kind]))
DAYS = st.none() | st.integers(1, 60)


@given(global_off=KINDS, plan_off=st.none() | KINDS, stored=st.dictionaries(
    st.sampled_from([k.value for k in Kind]), st.booleans()), global_days=st.integers(1, 60),
    plan_days=DAYS, stored_days=DAYS, has_row=st.booleans())  # fmt: skip
def test_the_nearest_layer_wins(
    global_off: set[str], plan_off: set[str] | None, stored: dict[str, bool],
    global_days: int, plan_days: int | None, stored_days: int | None, has_row: bool,
) -> None:  # fmt: skip
    notify = NotifySettings(kinds_off=sorted(global_off), reminder_days=global_days, plans={
        "wine": PlanMessages(kinds_off=None if plan_off is None else sorted(plan_off),
                             reminder_days=plan_days)})  # fmt: skip
    row = PlanMessageSettings(plan_code="wine", kinds=stored, reminder_days=stored_days)
    found = plan_messages.resolve("wine", notify, row if has_row else None)
    for kind in Kind:
        if has_row and kind in stored:
            assert (kind in found.kinds_off) == (not stored[kind])
            assert found.kind_from[kind] == plan_messages.STORE
        elif plan_off is not None:
            assert (kind in found.kinds_off) == (kind in plan_off)
        else:
            assert (kind in found.kinds_off) == (kind in global_off)
    expected = (stored_days if has_row and stored_days else plan_days or global_days)
    assert found.reminder_days == expected
    # another plan only sees the global configuration
    other = plan_messages.resolve("cellar", notify, None)
    assert other.kinds_off == frozenset(global_off)
    assert other.reminder_days == global_days
