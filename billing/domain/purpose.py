"""A mandate is consent for one standing instruction type: what each charge may be put on.

The customer agreed to *one* kind of merchant-initiated charge when the card was saved:
recurring charges of a subscription, the installments of a plan, or unscheduled one-off fees
(a no-show). A charge whose purpose differs from the mandate's type is outside that consent
and must not be sent. Pure: values in, a refusal message (or None) out.
"""

from __future__ import annotations

from billing.domain.states import PlanKind
from billing.errors import DomainError

_WHAT = {
    PlanKind.UNSCHEDULED: "a one-off fee",
    PlanKind.RECURRING: "a recurring subscription's charge",
    PlanKind.INSTALLMENT: "an installment plan's charge",
}


def needed(kind: PlanKind | str) -> str:
    """The mandate type a charge of this kind needs: the plan's kind (UNSCHEDULED for a
    one-off fee). Toast's standing instruction types are named after the plan kinds."""
    return str(PlanKind(kind))


def mismatch(
    mandate_type: str | None, kind: PlanKind | str, *, mandate_id: int | None
) -> str | None:
    """Why a charge of ``kind`` may not go on a mandate of ``mandate_type`` (None: it may)."""
    want = needed(kind)
    if mandate_type == want:
        return None
    name = f"mandate {mandate_id}" if mandate_id is not None else "the mandate"
    return (
        f"{name} has standing instruction type {mandate_type or '(none)'}; "
        f"{_WHAT[PlanKind(kind)]} needs a mandate of type {want}"
    )


def require(mandate_type: str | None, kind: PlanKind | str, *, mandate_id: int | None) -> None:
    """Refuse (one ``DomainError`` naming both types) a charge outside the mandate's consent."""
    why = mismatch(mandate_type, kind, mandate_id=mandate_id)
    if why is not None:
        raise DomainError(why, field="mandate")
