"""What completing a card-update link's checkout does, inside the transaction that activates
the new mandate (``billing.enroll.service``): the link is used up, and the new mandate takes
over the old one's subscriptions and open charges through the replace-card use case
(``billing.manage.cards``), which re-attempts a declined charge at once, within the cap. The
old mandate's purpose has ended (``door.end_purpose``): it is revoked at once when nothing is
in flight on it, else by the engine's maintain lane once the charge in flight has settled."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from billing.domain import lifecycle
from billing.links import tokens
from billing.manage import cards
from billing.store import door
from billing.store.tables import CardLink, Charge, Enrollment, Mandate


def checkout_done(
    session: Session, enrollment: Enrollment, new: Mandate, *, now: datetime
) -> int | None:
    """Returns the mandate to revoke now: the old one (None while a charge is in flight on it),
    or ``new`` itself when the old card was replaced meanwhile (another link, staff): then the
    new card has no purpose."""
    session.exec(
        update(CardLink)
        .where(col(CardLink.enrollment_id) == enrollment.id, col(CardLink.used_at).is_(None))
        .values(used_at=now)
    )
    old_id = enrollment.replaces_mandate_id
    old = session.get(Mandate, old_id) if old_id is not None else None
    if old is None or not tokens.replaceable(old):
        return new.id
    cards.replace_mandate(session, old=old, new=new, now=now)
    door.end_purpose(session, old.id or 0, now=now)
    session.flush()
    in_flight = select(Charge.id).where(Charge.mandate_id == old.id,
                                        col(Charge.status).in_(lifecycle.OPEN_CHARGES))  # fmt: skip
    return None if session.exec(in_flight).first() is not None else old.id
