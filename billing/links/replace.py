"""What completing a card-update link's checkout does, inside the transaction that activates
the new mandate (``billing.enroll.service``): the link is used up, and the new mandate takes
over the old one's subscriptions and open charges through the replace-card use case
(``billing.manage.cards``), which re-attempts a declined charge at once, within the cap."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col

from billing.links import tokens
from billing.manage import cards
from billing.store.tables import CardLink, Enrollment, Mandate


def checkout_done(
    session: Session, enrollment: Enrollment, new: Mandate, *, now: datetime
) -> int | None:
    """Returns the mandate to revoke: the old one, or ``new`` itself when the old card was
    replaced meanwhile (another link, staff): then the new card has no purpose."""
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
    return old.id
