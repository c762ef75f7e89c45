"""Customers as staff see them: the list, and one customer with its cards and subscriptions."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from billing.manage import members
from billing.store.tables import Customer, Mandate, Subscription


@dataclass(frozen=True, slots=True, kw_only=True)
class Overview:
    customer: Customer
    mandates: list[Mandate]
    subscriptions: list[Subscription]


def list_all(session: Session) -> list[Customer]:
    return list(session.exec(select(Customer).order_by(col(Customer.id))).all())


def overview(session: Session, ref: str) -> Overview:
    customer = members.get_customer(session, ref)
    mandates = session.exec(
        select(Mandate).where(Mandate.customer_id == customer.id).order_by(col(Mandate.id))
    ).all()
    subs = session.exec(
        select(Subscription)
        .where(Subscription.customer_id == customer.id)
        .order_by(col(Subscription.id))
    ).all()
    return Overview(customer=customer, mandates=list(mandates), subscriptions=list(subs))
