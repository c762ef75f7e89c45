"""The rows a list needs beside its own, loaded once per list (one query per table, never one
per row): the customers, plans and mandates that subscriptions, charges and mandates point at,
and the location names."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from sqlmodel import Session, col, select

from billing.manage import locations
from billing.store.tables import Customer, Mandate, Plan, Subscription


@dataclass(frozen=True, slots=True, kw_only=True)
class Lookup:
    customers: dict[int, Customer] = field(default_factory=dict)
    plans: dict[int, Plan] = field(default_factory=dict)
    mandates: dict[int, Mandate] = field(default_factory=dict)
    subscriptions: dict[int, Subscription] = field(default_factory=dict)
    location_names: dict[str, str] = field(default_factory=dict)


def _ids(values: Iterable[int | None]) -> set[int]:
    return {v for v in values if v is not None}


def load(
    session: Session, *, customer_ids: Iterable[int | None] = (),
    plan_ids: Iterable[int | None] = (), mandate_ids: Iterable[int | None] = (),
    subscription_ids: Iterable[int | None] = (),
) -> Lookup:  # fmt: skip
    subs = _by_id(session, Subscription, _ids(subscription_ids))
    mandates = _by_id(session, Mandate, _ids(mandate_ids))
    wanted_customers = _ids(customer_ids) | {s.customer_id for s in subs.values()}
    wanted_customers |= {m.customer_id for m in mandates.values()}
    return Lookup(
        customers=_by_id(session, Customer, wanted_customers),
        plans=_by_id(session, Plan, _ids(plan_ids) | {s.plan_id for s in subs.values()}),
        mandates=mandates,
        subscriptions=subs,
        location_names=locations.names(session),
    )


T = TypeVar("T", Customer, Plan, Mandate, Subscription)


def _by_id(session: Session, table: type[T], ids: set[int]) -> dict[int, T]:
    if not ids:
        return {}
    rows = session.exec(select(table).where(col(table.id).in_(sorted(ids)))).all()
    return {row.id: row for row in rows if row.id is not None}
