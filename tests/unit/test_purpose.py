"""The mandate-purpose rule: a charge goes only on a mandate of its own standing instruction
type (a one-off fee: UNSCHEDULED; a subscription's charge: its plan's kind)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.domain import purpose
from billing.domain.states import PlanKind
from billing.errors import DomainError

KINDS = [k.value for k in PlanKind]


@given(mandate=st.sampled_from(KINDS), kind=st.sampled_from(KINDS))
def test_only_the_same_type_is_allowed_and_a_refusal_names_both(mandate: str, kind: str) -> None:
    why = purpose.mismatch(mandate, kind, mandate_id=7)
    if mandate == kind:
        assert why is None
        purpose.require(mandate, kind, mandate_id=7)
        return
    assert why is not None
    assert mandate in why
    assert kind in why
    assert "mandate 7" in why
    with pytest.raises(DomainError) as info:
        purpose.require(mandate, kind, mandate_id=7)
    assert info.value.field == "mandate"


def test_the_message_says_what_the_charge_is() -> None:
    why = purpose.mismatch("INSTALLMENT", PlanKind.UNSCHEDULED, mandate_id=3)
    assert why == (
        "mandate 3 has standing instruction type INSTALLMENT; a one-off fee needs a mandate "
        "of type UNSCHEDULED"
    )
    assert "(none)" in (purpose.mismatch(None, "RECURRING", mandate_id=None) or "")
