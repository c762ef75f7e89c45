"""The demo's wine club: two releases in the year, across a DST change (10 March in EST, 5
August in EDT), members who skip, customize, ship now, sit on hold, and decline; one of the
decliners updates their card during rebilling (collected at once), the other never does (the
shipment is skipped and listed in the failed-billing report). Members save their cards through
the sandbox's setup-intent flow (enrollment as today); everything else goes through the same
use cases as ``billing clubs|releases|members``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from billing.clubs import reports, service
from billing.clubs import store as clubs_store
from billing.demo import cast
from billing.demo.scenario import DOWNTOWN, MASTERCARD, NEVER_RECOVERS, VISA
from billing.manage import cards, members
from billing.sandbox.remote import SandboxControl
from billing.store.db import Store

LINES = [("Cabernet Franc 2024", 2, 3800), ("Riesling 2025", 1, 2400)]
# (name, tier, card, delivery region or "" for pickup)
PEOPLE = [
    ("Ada", "Six", VISA, "NY"), ("Ben", "Three", MASTERCARD, ""), ("Chloe", "Six", VISA, "CA"),
    ("Dev", "Three", VISA, "NY"), ("Elena", "Six", NEVER_RECOVERS, "NY"),
    ("Gus", "Three", NEVER_RECOVERS, "CA"), ("Hana", "Six", VISA, "NJ"),
    ("Ivan", "Three", MASTERCARD, "NY"),
]  # fmt: skip


@dataclass
class ClubDemo:
    club_id: int
    releases: list[int]
    membership: dict[str, int]
    card_updated: bool = False
    runs: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)


async def setup(store: Store, control: SandboxControl, *, now: datetime) -> ClubDemo:
    with store.transaction() as session:
        club = service.create_club(
            session, name="Cellar Club", location=DOWNTOWN, pickup_region="NY",
            shipping={"NY": 1200, "*": 1800}, tax_rates={"NY": 88_750, "CA": 72_500,
                                                         "*": 60_000}, now=now,
        )  # fmt: skip
        service.add_tier(session, club, name="Three", bottles=3, discount_pct=10)
        service.add_tier(session, club, name="Six", bottles=6, discount_pct=15)
        club_id = club.id or 0
    ids: dict[str, int] = {}
    for name, tier, card, region in PEOPLE:
        cof = await cast.card_on_file(control, DOWNTOWN, card, "RECURRING")
        with store.transaction() as session:
            customer = members.create_customer(
                session, email=f"{name.lower()}.club@example.com", name=f"{name} (club)", now=now
            )
            cast._mandate(session, customer, cof, "RECURRING", now)
            club = clubs_store.club(session, str(club_id))
            row = service.join(
                session, club, customer=customer, tier=clubs_store.tier(session, club_id, tier),
                delivery="ship" if region else "pickup", region=region, address="1 Vine St",
                now=now,
            )  # fmt: skip
            ids[name] = row.id or 0
    releases = [_release(store, club_id, "Spring release", date(2027, 3, 10), now),
                _release(store, club_id, "Summer release", date(2027, 8, 5), now)]  # fmt: skip
    with store.transaction() as session:
        spring, summer = (clubs_store.release(session, r) for r in releases)
        people = {name: clubs_store.membership(session, i) for name, i in ids.items()}
        service.skip(session, spring, people["Chloe"], now=now)
        service.customize(session, spring, people["Dev"], quantity=2, now=now)
        service.hold(session, people["Ivan"], until=date(2027, 4, 1), now=now)
        service.ship_now(session, summer, people["Hana"], now=now)
    return ClubDemo(club_id, releases, ids)


def _release(store: Store, club_id: int, title: str, on: date, now: datetime) -> int:
    with store.transaction() as session:
        club = clubs_store.club(session, str(club_id))
        release = service.create_release(session, club, title=title, process_on=on, now=now)
        for item, qty, cents in LINES:
            service.set_line(session, release, item=item, qty=qty, retail_cents=cents, now=now)
        service.open_release(session, release, now=now)
        service.approve(session, release, now=now)
        return release.id or 0


async def mid_month(demo: ClubDemo, store: Store, control: SandboxControl, *,
                    now: datetime) -> None:  # fmt: skip
    """On the 15th: Gus, declined since the spring release, updates his card."""
    if demo.card_updated or now < datetime(2027, 3, 15, tzinfo=now.tzinfo):
        return
    cof = await cast.card_on_file(control, DOWNTOWN, VISA, "RECURRING")
    with store.transaction() as session:
        member = clubs_store.membership(session, demo.membership["Gus"])
        old = members.get_mandate(session, member.mandate_id or 0)
        customer = members.get_customer(session, str(member.customer_id))
        new = cast._mandate(session, customer, cof, "RECURRING", now)
        cards.replace_mandate(session, old=old, new=new, now=now)
    demo.card_updated = True


def finish(demo: ClubDemo, store: Store) -> None:
    with store.transaction() as session:
        demo.runs = [reports.club_run(session, r) for r in demo.releases]
        demo.failed = reports.failed_billing(session, str(demo.club_id))


def show(demo: ClubDemo | None, echo: Any) -> None:
    """Print the club-run reports and the failed-billing list (``echo``: a console print)."""
    if demo is None:
        return
    for run in demo.runs:
        counts = ", ".join(f"{k} {v}" for k, v in run["counts"].items() if v)
        tiers = ", ".join(f"{k} ${v / 100:,.2f}" for k, v in run["revenue_by_tier"].items())
        echo(f"  club run  {run['title']} ({run['status']}): {counts}; revenue "
             f"${run['revenue_cents'] / 100:,.2f} ({tiers})")  # fmt: skip
    for row in demo.failed:
        echo(f"  failed billing  {row['release']}: {row['member']} "
             f"${(row['amount_cents'] or 0) / 100:,.2f} after {row['attempts']} attempts")
