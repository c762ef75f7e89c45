"""Card-update links in the store: issue one (only the token's hash is kept), find one.

Why a random token stored hashed rather than a signed URL (itsdangerous): a link must be
single-use and revocable, so the store has to hold its state anyway; a signature would add a
key to keep and rotate without removing that row. 256 random bits are unguessable; keeping
only their SHA-256 means the database, a backup or a log of it holds no usable link.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from billing.errors import DomainError
from billing.links import rules
from billing.manage import members
from billing.settings import ServeSettings
from billing.store.db import Store
from billing.store.tables import CardLink, Charge, Customer, Event, Mandate, Message

DECLINE, STAFF = "decline", "staff"
# The message kinds that carry a card-update link (``billing.notify.rules.Kind`` values).
CARRY_A_LINK = frozenset({"decline", "expiring_card"})


@dataclass(frozen=True, slots=True)
class Issued:
    url: str
    mandate: Mandate
    customer: Customer
    expires_at: datetime


def issue(
    session: Session, *, mandate: Mandate, now: datetime, serve: ServeSettings, created_by: str,
    message_id: int | None = None,
) -> Issued:  # fmt: skip
    """A new link for ``mandate``. For a message, one link per message: composing the message
    again (a retried send) replaces the token of a link that never left."""
    token = secrets.token_urlsafe(rules.TOKEN_BYTES)
    expires = rules.expires_at(now, serve.card_link_days)
    row = None
    if message_id is not None:
        row = session.exec(select(CardLink).where(CardLink.message_id == message_id)).first()
    if row is None:
        row = CardLink(mandate_id=mandate.id or 0, customer_id=mandate.customer_id,
                       message_id=message_id, created_by=created_by, token_hash="",
                       created_at=now, expires_at=expires)  # fmt: skip
        session.add(row)
    row.token_hash, row.created_at, row.expires_at = rules.token_hash(token), now, expires
    session.flush()
    customer = session.get(Customer, mandate.customer_id)
    assert customer is not None
    return Issued(rules.url(serve.public_url, token), mandate, customer, expires)


def replaceable(mandate: Mandate | None) -> bool:
    return (mandate is not None and mandate.status in rules.REPLACEABLE
            and mandate.replaced_by_id is None)  # fmt: skip


def for_message(
    store: Store, message: Message, *, now: datetime, serve: ServeSettings
) -> str | None:
    """The link a decline (or expiring-card) email carries: for the card the declined charge
    is on, or the card about to expire (None when that card was replaced or revoked
    meanwhile: the email then links the manage page)."""
    with store.transaction() as session:
        mandate = _mandate_of(session, session.get(Event, message.event_id))
        if mandate is None or not replaceable(mandate):
            return None
        return issue(session, mandate=mandate, now=now, serve=serve, created_by=message.kind,
                     message_id=message.id).url  # fmt: skip


def _mandate_of(session: Session, event: Event | None) -> Mandate | None:
    if event is not None and event.entity == "mandate":
        return session.get(Mandate, event.entity_id)
    charge = session.get(Charge, event.entity_id) if event and event.entity == "charge" else None
    return session.get(Mandate, charge.mandate_id) if charge else None


def for_customer(
    session: Session, ref: str, *, mandate_id: int | None, now: datetime, serve: ServeSettings
) -> Issued:
    """A link staff send to a customer (by id, email or reference), for their one card on
    file, or the mandate named when they have several (a wine club and a catering deposit)."""
    customer = members.get_customer(session, ref)
    query = select(Mandate).where(Mandate.customer_id == customer.id)
    owned = [m for m in session.exec(query.order_by(col(Mandate.id))).all() if replaceable(m)]
    if mandate_id is not None:
        chosen = [m for m in owned if m.id == mandate_id]
        if not chosen:
            raise DomainError(f"mandate {mandate_id} is not a card on file of customer "
                              f"{customer.id} (active or expired, not replaced)",
                              field="mandate")  # fmt: skip
        owned = chosen
    if not owned:
        raise DomainError(f"customer {customer.id} has no card on file to replace",
                          field="customer")  # fmt: skip
    if len(owned) > 1:
        ids = ", ".join(str(m.id) for m in owned)
        raise DomainError(f"customer {customer.id} has {len(owned)} cards on file (mandates "
                          f"{ids}): choose one with --mandate", field="mandate")  # fmt: skip
    return issue(session, mandate=owned[0], now=now, serve=serve, created_by=STAFF)


def for_mandate(session: Session, mandate: Mandate | None, *, now: datetime,
                serve: ServeSettings, field: str) -> Issued:  # fmt: skip
    """A link staff send for one card on file (a club member's: ``billing members
    update-card``); refused, naming ``field``, when there is no card left to replace."""
    if mandate is None or not replaceable(mandate):
        state = "none" if mandate is None else mandate.status
        raise DomainError(f"{field} has no card on file to replace (mandate: {state}): enroll "
                          "a new card instead (billing enroll)", field=field)  # fmt: skip
    return issue(session, mandate=mandate, now=now, serve=serve, created_by=STAFF)


def find(session: Session, token: str) -> CardLink | None:
    if not rules.well_formed(token):
        return None
    query = select(CardLink).where(CardLink.token_hash == rules.token_hash(token))
    return session.exec(query).first()
