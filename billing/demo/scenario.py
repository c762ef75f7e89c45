"""The demo's cast, as data: plans, members (who joins when, on which card) and no-show fees.

Sandbox test cards (docs/sandbox.md) script the story: ``4000000000000341`` declines its first
two payment authorizations and then approves (counted per card number, so the two members on it
are due at the same instant and each recovers on the first retry); ``4000000000000275`` saves
fine and then declines every payment (dunning gives up: the member is paused, the installment
plan defaults, the fee fails).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from billing.manage.plans import PlanCreate

START = datetime(2027, 1, 1, tzinfo=UTC)
DOWNTOWN = "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a01"
HARBOR = "0b9a8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d"
LOCATIONS = {DOWNTOWN: "Downtown", HARBOR: "Harbor"}
VISA, MASTERCARD = "4111111111111111", "5555555555554444"
RECOVERS = "4000000000000341"
NEVER_RECOVERS = "4000000000000275"
ZONE = "America/New_York"
FIRST = ("Ada", "Ben", "Chloe", "Dev", "Elena", "Farah", "Gus", "Hana", "Ivan", "Jade", "Kofi",
         "Lena", "Marco", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Tariq")  # fmt: skip
LAST = ("Okafor", "Lindqvist", "Moreau", "Tanaka", "Reyes", "Kowalski", "Haddad", "Byrne")
FEES_PER_MONTH = (2, 1, 2, 3, 1, 2, 2, 1, 3, 2, 1, 2)


@dataclass(frozen=True, slots=True, kw_only=True)
class Member:
    name: str
    email: str
    plan: str
    card: str
    month: int  # joins at the start of this month of the simulation (0 = the first)
    anchor_day: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Fee:
    name: str
    email: str
    card: str
    month: int  # charged on the evening of the 15th of this month
    amount_cents: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    months: int
    plans: tuple[PlanCreate, ...]
    members: tuple[Member, ...]
    fees: tuple[Fee, ...]


def plans() -> tuple[PlanCreate, ...]:
    wine = PlanCreate(code="wine-club", name="Wine club", kind="RECURRING", amount_cents=5900,
                      interval_unit="month", timezone=ZONE, location_guid=DOWNTOWN,
                      check_item="Wine club")  # fmt: skip

    def deposit(code: str, name: str, total: int) -> PlanCreate:
        return PlanCreate(code=code, name=name, kind="INSTALLMENT", total_cents=total,
                          installments=3, interval_unit="month", timezone=ZONE,
                          location_guid=HARBOR, check_item="Catering deposit")  # fmt: skip

    return (
        wine,
        deposit("wedding-deposit", "Wedding catering deposit", 150_000),  # 3 x $500.00
        deposit("party-deposit", "Holiday party deposit", 100_000),  # $333.34 + 2 x $333.33
        deposit("corporate-deposit", "Corporate lunch deposit", 90_000),  # card stops working
    )


def _person(n: int) -> tuple[str, str]:
    first, last = FIRST[n % len(FIRST)], LAST[(n // len(FIRST) + n) % len(LAST)]
    return f"{first} {last}", f"{first}.{last}.{n}@example.com".lower()


def _card(n: int) -> str:
    return {3: RECOVERS, 4: RECOVERS, 6: NEVER_RECOVERS}.get(n, VISA if n % 3 else MASTERCARD)


def wine_members(count: int, months: int) -> list[Member]:
    """Two thirds join in the first month, the rest one by one over the following months;
    anchors spread over the month (29th-31st included); the two recovering cards share one."""
    founders = max(min(count, 7), count * 2 // 3) if months > 1 else count
    members = []
    for n in range(count):
        name, email = _person(n)
        month = 0 if n < founders else 1 + (n - founders) % (months - 1)
        anchor = 12 if n in (3, 4) else 1 + (n * 31) // max(count, 1)
        members.append(Member(name=name, email=email, plan="wine-club", card=_card(n),
                              month=month, anchor_day=anchor))  # fmt: skip
    return members


def deposits(months: int) -> list[Member]:
    clients = [
        Member(name="Iris & Tom Whitfield", email="whitfield.wedding@example.com",
               plan="wedding-deposit", card=VISA, month=1, anchor_day=10),
        Member(name="Northside Rotary", email="events@northside-rotary.example.com",
               plan="party-deposit", card=MASTERCARD, month=2, anchor_day=20),
        Member(name="Acme Robotics", email="office@acme-robotics.example.com",
               plan="corporate-deposit", card=NEVER_RECOVERS, month=4, anchor_day=5),
    ]  # fmt: skip
    return [c for c in clients if c.month < months]


def fees(months: int) -> list[Fee]:
    out = []
    for month in range(months):
        for k in range(FEES_PER_MONTH[month % 12]):
            n = 100 + month * 3 + k
            name, email = _person(n)
            party = 2 + (n * 5) % 7
            card = NEVER_RECOVERS if (month, k) == (4, 0) else (VISA if n % 2 else MASTERCARD)
            out.append(Fee(name=name, email=email, card=card, month=month,
                           amount_cents=party * 2500,
                           reason=f"No-show: table for {party}"))  # fmt: skip
    return out


def build(*, members: int = 30, months: int = 12) -> Scenario:
    return Scenario(
        months=months,
        plans=plans(),
        members=tuple(wine_members(members, months) + deposits(months)),
        fees=tuple(fees(months)),
    )
