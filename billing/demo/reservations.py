"""The demo's night of reservations at Downtown, booked and reported through the reservations
API (in-process), the guests' cards saved in the sandbox's checkout, the fees collected by the
engine: seated guests, no-shows (one capped), a late and an early cancellation, a no-show
reverted inside the confirmation delay, a waiver, and a policy change between bookings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from billing import wiring
from billing.clock import FakeClock
from billing.demo.scenario import DOWNTOWN, VISA, ZONE
from billing.domain import calendar, money
from billing.engine import simulation
from billing.engine.sweeper import Engine
from billing.enroll import api
from billing.reservations import policies
from billing.sandbox.remote import SandboxControl
from billing.settings import BillingSettings

CONSENT = ("A ${fee} per guest fee (at most $100 per table) applies if you do not come or "
           "cancel less than 24 hours before your reservation.")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Guest:
    ref: str
    name: str
    party: int
    story: str  # what happens to the reservation tonight


GUESTS = (
    Guest("N-101", "Ada Okafor", 2, "seated"),
    Guest("N-102", "Ben Lindqvist", 4, "no-show"),
    Guest("N-103", "Chloe Moreau", 6, "no-show (cap)"),
    Guest("N-104", "Dev Tanaka", 2, "cancelled 3 h before"),
    Guest("N-105", "Elena Reyes", 3, "cancelled 2 days before"),
    Guest("N-106", "Farah Kowalski", 2, "no-show reverted"),
    Guest("N-107", "Gus Haddad", 2, "no-show, waived"),
    Guest("N-108", "Hana Byrne", 2, "no-show, booked after the change"),
)


class Night:
    def __init__(self, http: httpx.AsyncClient, engine: Engine, clock: FakeClock,
                 control: SandboxControl, settings: BillingSettings) -> None:  # fmt: skip
        self.http, self.engine, self.clock = http, engine, clock
        self.control, self.sandbox_url = control, settings.toast.base_url
        self.auth = {"Authorization": f"Bearer {settings.api_key.get_secret_value()}"}

    async def at(self, instant: datetime) -> None:
        await simulation.run_until(self.engine, self.clock, instant, step=timedelta(hours=1),
                                   on_advance=self.control.set_clock)  # fmt: skip

    async def post(self, path: str, body: dict[str, Any], key: str | None = None) -> Any:
        headers = {**self.auth, **({"Idempotency-Key": key} if key else {})}
        response = await self.http.post(path, json=body, headers=headers)
        assert response.is_success, response.text
        return response.json()

    async def book(self, guest: Guest, slot: datetime) -> None:
        email = guest.name.lower().replace(" ", ".") + "@example.com"
        booked = await self.post("/v1/reservations", {
            "reference": guest.ref, "slot": slot.isoformat(), "party_size": guest.party,
            "customer": {"email": email, "name": guest.name}}, key=guest.ref)  # fmt: skip
        checkout = booked["enrollment"]
        card = {"sessionSecret": checkout["session_secret"], "authorize": True,
                "card": {"number": VISA, "cvv": "123", "expiry": {"month": "12", "year": "30"}}}
        async with httpx.AsyncClient(base_url=self.sandbox_url) as browser:
            (await browser.post("/__sandbox__/checkout/confirm", json=card)).raise_for_status()
        await self.post(f"/v1/enrollments/{checkout['id']}/complete", {})

    async def status(self, ref: str, status: str, who: str = "host: Sam") -> None:
        await self.post(f"/v1/reservations/{ref}/status",
                        {"report_id": f"{ref}-{status}", "status": status, "reported_by": who})


async def night(engine: Engine, clock: FakeClock, control: SandboxControl,
                settings: BillingSettings, console: Console) -> None:  # fmt: skip
    """Book, report and collect one night; print what was charged and why."""
    with engine.store.transaction() as session:
        policies.create(session, policies.PolicySpec(
            code="dinner", name="Dinner", per="person", amount_cents=2500, cap_cents=10_000,
            consent_text=CONSENT.format(fee=25), location_guid=DOWNTOWN, timezone=ZONE,
        ), now=clock.now())  # fmt: skip
    day = (clock.now() + timedelta(days=2)).astimezone(calendar.zone(ZONE)).date()
    slot = calendar.local_instant(day, time(19, 30), ZONE)
    app = api.create_app(settings, engine.store,
                         lambda: wiring.toast_client(settings, engine.store, business=clock),
                         clock)  # fmt: skip
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://billing") as http:  # fmt: skip
        n = Night(http, engine, clock, control, settings)
        await _play(n, slot)
        views = [(await http.get(f"/v1/reservations/{g.ref}", headers=n.auth)).json()
                 for g in GUESTS]  # fmt: skip
    _show(console, slot, views)


async def _play(n: Night, slot: datetime) -> None:
    for guest in GUESTS[:-1]:
        await n.book(guest, slot)
    with n.engine.store.transaction() as session:  # the restaurant raises its fee
        policies.update(session, DOWNTOWN, "dinner", now=n.clock.now(), amount_cents=3000,
                        consent_text=CONSENT.format(fee=30))  # fmt: skip
    await n.book(GUESTS[-1], slot)
    await n.at(n.clock.now() + timedelta(hours=1))
    await n.status("N-105", "cancelled", who="guest (online)")
    await n.at(slot - timedelta(hours=3))
    await n.status("N-104", "cancelled", who="guest (phone)")
    await n.at(slot)
    await n.status("N-101", "seated")
    await n.at(slot + timedelta(minutes=30))
    for ref in ("N-102", "N-103", "N-106", "N-107", "N-108"):
        await n.status(ref, "no_show")
    await n.at(slot + timedelta(minutes=35))
    await n.status("N-106", "seated")  # she was at the bar: inside the 15-minute delay
    waiver = {"action": "waive", "reason": "regular guest", "staff": "Kim (manager)"}
    await n.post("/v1/reservations/N-107/fee", waiver, key="waive-N-107")
    await n.at(slot + timedelta(days=2, hours=1))  # past every last moment


def _show(console: Console, slot: datetime, views: list[dict[str, Any]]) -> None:
    table = Table(title=f"A night at Downtown ({slot:%Y-%m-%d}): reservations through the API",
                  title_justify="left")  # fmt: skip
    for column in ("ref", "party", "what happened", "policy", "charged", "why"):
        table.add_column(column)
    total = 0
    for guest, view in zip(GUESTS, views, strict=True):
        charge = view["charge"]
        paid = charge["amount_cents"] if charge and charge["status"] == "paid" else 0
        total += paid
        policy = f"{view['policy']['code']} v{view['policy']['version']}"
        charged = money.format_cents(paid) if paid else "-"
        table.add_row(guest.ref, str(guest.party), guest.story, policy, charged,
                      view["decision"]["reason"])  # fmt: skip
    revoked = sum(v["mandate_status"] == "revoked" for v in views)
    console.print()
    console.print(table)
    console.print(f"  fees collected {money.format_cents(total)}; {revoked} of {len(views)} "
                  "cards-on-file revoked once their reservation closed")  # fmt: skip
