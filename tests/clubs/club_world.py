"""A club in the engine test world: a named location, a club with two tiers and members
enrolled the real way (an OFF_SESSION setup intent confirmed in the sandbox)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import select

from billing.clubs import service
from billing.clubs import store as clubs_store
from billing.manage import cards, locations, members
from billing.store.tables import Attempt, Charge, Customer, Membership, Release, Shipment
from tests.engine.world import APPROVE, World

# Shipping CA $15, elsewhere $25; tax CA 7.25 %, NY 8.875 % (a fixture, not live rates).
SHIPPING = {"CA": 1500, "*": 2500}
TAX = {"CA": 72_500, "NY": 88_750, "OR": 0}


@dataclass
class ClubWorld:
    w: World
    club_id: int
    tiers: dict[str, int]

    async def member(self, *, tier: str = "Six", card: str = APPROVE, region: str = "CA",
                     pickup: bool = False, exp: tuple[int, int] | None = (12, 2035)) -> int:
        cof = await self.w.card(card, "RECURRING")
        now = self.w.clock.now()
        with self.w.store.transaction() as session:
            customer = members.create_customer(
                session, email=f"c{uuid.uuid4().hex[:8]}@example.com", now=now
            )
            members.add_active_mandate(
                session, customer=customer, location_guid=self.w.location,
                standing_instruction="RECURRING", toast_mandate_id=cof["mandateId"],
                payment_method_id=cof["paymentMethodId"], card_brand="VISA",
                card_last4=card[-4:], card_exp=exp, now=now,
            )  # fmt: skip
            club = clubs_store.club(session, str(self.club_id))
            tier = clubs_store.tier(session, self.club_id, tier)
            row = service.join(
                session, club, customer=customer, tier=tier,
                delivery="pickup" if pickup else "ship", region=region, address="1 Vine St",
                now=now,
            )  # fmt: skip
            return row.id or 0

    def member_without_card(self) -> int:
        """A member whose enrollment has not given a card yet (no RECURRING mandate)."""
        now = self.w.clock.now()
        with self.w.store.transaction() as session:
            customer = members.create_customer(
                session, email=f"n{uuid.uuid4().hex[:8]}@example.com", now=now
            )
            club = clubs_store.club(session, str(self.club_id))
            row = service.join(session, club, customer=customer,
                               tier=clubs_store.tier(session, self.club_id, "Six"),
                               delivery="pickup", now=now)  # fmt: skip
            return row.id or 0

    async def new_card(self, membership_id: int, card: str = APPROVE, *,
                       charges_too: bool = True) -> int:  # fmt: skip
        """The member updates their card: a new mandate replaces the old one (with
        ``charges_too=False`` only the mark, as the enrollment API's subscription card
        replacement leaves a club's charges)."""
        cof = await self.w.card(card, "RECURRING")
        now = self.w.clock.now()
        with self.w.store.transaction() as session:
            member = clubs_store.membership(session, membership_id)
            old = clubs_store.current_mandates(session, {member.mandate_id or 0})[
                member.mandate_id or 0
            ]
            customer = session.get(Customer, member.customer_id)
            assert customer is not None
            new = members.add_active_mandate(
                session, customer=customer, location_guid=self.w.location,
                standing_instruction="RECURRING", toast_mandate_id=cof["mandateId"],
                payment_method_id=cof["paymentMethodId"], card_brand="VISA",
                card_last4=card[-4:], card_exp=(12, 2035), now=now,
            )  # fmt: skip
            if charges_too:
                cards.replace_mandate(session, old=old, new=new, now=now)
            else:
                old.replaced_by_id = new.id
            return new.id or 0

    def release(self, title: str, on: date, lines: list[tuple[str, int, int]], *,
                approve: bool = True) -> int:  # fmt: skip
        now = self.w.clock.now()
        with self.w.store.transaction() as session:
            club = clubs_store.club(session, str(self.club_id))
            rel = service.create_release(session, club, title=title, process_on=on, now=now)
            for item, qty, cents in lines:
                service.set_line(session, rel, item=item, qty=qty, retail_cents=cents, now=now)
            service.open_release(session, rel, now=now)
            if approve:
                service.approve(session, rel, now=now)
            return rel.id or 0

    def get(self, release_id: int) -> Release:
        with self.w.store.transaction() as session:
            return clubs_store.release(session, release_id)

    def club_charges(self) -> list[Charge]:
        return [c for c in self.w.charges() if c.source == "club"]

    def shipment(self, release_id: int, membership_id: int) -> Shipment:
        with self.w.store.transaction() as session:
            ship = clubs_store.shipment(session, release_id, membership_id)
            assert ship is not None
            return ship

    def attempts(self, charge_id: int) -> list[Attempt]:
        with self.w.store.transaction() as session:
            query = select(Attempt).where(Attempt.charge_id == charge_id)
            return list(session.exec(query).all())

    def membership(self, membership_id: int) -> Membership:
        with self.w.store.transaction() as session:
            return clubs_store.membership(session, membership_id)

    def memberships(self) -> list[Membership]:
        with self.w.store.transaction() as session:
            return list(session.exec(select(Membership)).all())


def make_club(w: World, *, now: datetime, auto_approve: bool = False,
              tz: str = "America/Los_Angeles", retry_days: tuple[int, ...] | None = None,
              notice_days: int = 0) -> ClubWorld:  # fmt: skip
    """``notice_days`` 0 (no release notice required) unless a test is about the notices
    (tests/notify/test_release_notice.py): the other tests are about amounts and charging."""
    with w.store.transaction() as session:
        locations.add(session, w.location, name="Winery", timezone=tz, now=now)
        club = service.create_club(
            session, name="Cellar Club", location=w.location, pickup_region="CA",
            auto_approve=auto_approve, shipping=SHIPPING, tax_rates=TAX, now=now,
            notice_days=notice_days,
            **({} if retry_days is None else {"retry_days": retry_days}),
        )  # fmt: skip
        three = service.add_tier(session, club, name="Three", bottles=3, discount_pct=10)
        six = service.add_tier(session, club, name="Six", bottles=6, discount_pct=15)
        return ClubWorld(w, club.id or 0, {"Three": three.id or 0, "Six": six.id or 0})
