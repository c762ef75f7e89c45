"""Compare the store with the processor's ledger: one captured payment per paid charge.

The ledger entries are Toast order payments (here: the sandbox's ``order-payments``), each
keyed by the ``externalReferenceId`` of the attempt that authorized it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from billing.domain.money import format_cents
from billing.store.tables import Attempt, Charge


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerCheck:
    paid_charges: int
    paid_cents: int
    captured: int
    captured_cents: int
    duplicates: int  # captured payments beyond the first for one charge
    unmatched: int  # captured payments that no succeeded attempt accounts for

    @property
    def ok(self) -> bool:
        return (self.paid_charges, self.paid_cents, self.duplicates, self.unmatched) == (
            self.captured, self.captured_cents, 0, 0,
        )  # fmt: skip

    def summary(self) -> str:
        verdict = "match" if self.ok else "MISMATCH"
        return (
            f"ledger check: {self.captured} captured payments ({format_cents(self.captured_cents)})"
            f" vs {self.paid_charges} paid charges ({format_cents(self.paid_cents)}): {verdict}; "
            f"duplicates: {self.duplicates}; unmatched: {self.unmatched}"
        )


def compare(
    paid: Mapping[int, int], attempts: Mapping[str, int], ledger: Iterable[Mapping[str, Any]]
) -> LedgerCheck:
    """``paid``: charge id -> amount; ``attempts``: externalReferenceId -> charge id."""
    captured = [e for e in ledger if e.get("status") == "CAPTURED"]
    per_charge = Counter(attempts.get(str(e.get("guid"))) for e in captured)
    unmatched = per_charge.pop(None, 0)
    return LedgerCheck(
        paid_charges=len(paid),
        paid_cents=sum(paid.values()),
        captured=len(captured),
        captured_cents=sum(int(e.get("amount") or 0) for e in captured),
        duplicates=sum(n - 1 for n in per_charge.values()),
        unmatched=unmatched,
    )


def check(session: Session, ledger: Iterable[Mapping[str, Any]]) -> LedgerCheck:
    paid = dict(
        session.exec(select(Charge.id, Charge.amount_cents).where(Charge.status == "paid")).all()
    )
    refs = session.exec(
        select(Attempt.external_reference_id, Attempt.charge_id).where(
            col(Attempt.toast_intent_id).is_not(None)
        )
    ).all()
    return compare(paid, dict(refs), ledger)  # type: ignore[arg-type]
