"""Maps a violated named constraint to the domain error that names it.

PostgreSQL reports the constraint name; SQLite reports only ``table.column`` lists, so the
map is built from the metadata for both (procrastinate's UniqueViolation -> AlreadyEnqueued).
"""

from __future__ import annotations

import re
from functools import cache

from sqlalchemy import Index, UniqueConstraint
from sqlalchemy.exc import IntegrityError

from billing.errors import (
    AttemptAlreadyOpen,
    ChargeAlreadyExists,
    DuplicateEmail,
    DuplicateKey,
    StoreError,
)
from billing.store.tables import metadata

_DOMAIN_ERRORS: dict[str, tuple[type[DuplicateKey], str]] = {
    "uq_charge_subscription_cycle": (
        ChargeAlreadyExists,
        "a charge for this subscription cycle already exists",
    ),
    "uq_attempt_one_unsettled": (
        AttemptAlreadyOpen,
        "this charge already has an unsettled attempt",
    ),
    "uq_customer_email_key": (DuplicateEmail, "a customer with this email already exists"),
}


@cache
def _names_by_columns() -> dict[str, str]:
    """'table.col1, table.col2' -> constraint or unique-index name (SQLite's message form)."""
    names: dict[str, str] = {}
    for table in metadata.sorted_tables:
        uniques: list[UniqueConstraint | Index] = [
            c for c in table.constraints if isinstance(c, UniqueConstraint)
        ]
        uniques += [ix for ix in table.indexes if ix.unique]
        for item in uniques:
            key = ", ".join(f"{table.name}.{col.name}" for col in item.columns)
            names.setdefault(key, str(item.name))
    return names


def constraint_name(exc: IntegrityError) -> str | None:
    diag = getattr(exc.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if name:
        return str(name)
    match = re.search(r"UNIQUE constraint failed: (.+)$", str(exc.orig))
    return _names_by_columns().get(match.group(1).strip()) if match else None


def translate(exc: IntegrityError) -> StoreError:
    name = constraint_name(exc)
    if name is None:
        return StoreError(f"the store refused the write: {exc.orig}")
    cls, message = _DOMAIN_ERRORS.get(name, (DuplicateKey, f"duplicate value violates {name}"))
    return cls(name, message)
