"""A wine-club release of N members at L locations (one club whose members signed up at L
tasting rooms), processed and collected through the engine against the sandbox with Toast's
documented limits.

1. **Processing** (the store's side): the preview of every member, the snapshot at the cutoff,
   the comparison at processing and one door charge per member, in batches
   (``billing.clubs.batches``), timed, with the longest single transaction (on SQLite: the
   write lock held, the engine's lanes waiting).
2. **Collection**: the engine collects the release's charges with the documented limits (20
   requests/s per location, 10,000 per 15 minutes; 3 requests per charge), so the bound is
   ``L * 20 / 3`` charges/s; printed as the ratio to it, with 429s and duplicates.

    .venv/bin/python bench/clubs.py [--members 10000] [--locations 4] [--clubs 1]
        [--concurrency 16]

``--clubs 4`` (with 4 locations): four clubs, one per location, whose releases process at the
same instant (members split evenly); by default one club whose members' cards are at L
locations.

Members' cards are saved through the sandbox's setup-intent flow first (not timed). The last
line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlmodel import Session

from billing import wiring
from billing.clock import SystemClock
from billing.clubs import batches, process, service
from billing.clubs import store as clubs_store
from billing.manage import locations as named
from billing.manage import members
from billing.sandbox import SandboxConfig, running_sandbox
from billing.sandbox.remote import SandboxControl
from billing.settings import BillingSettings
from billing.store import migrate
from billing.store.db import Store
from billing.store.tables import Release

BATCH = 500
REQUESTS_PER_CHARGE = 3  # create, confirm, apply to a check (as bench/throughput.py)


class TimedStore(Store):
    """A store that remembers its longest transaction (SQLite: the write lock held)."""

    longest_s = 0.0

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        started = time.perf_counter()
        try:
            with super().transaction() as session:
                yield session
        finally:
            self.longest_s = max(self.longest_s, time.perf_counter() - started)


def locations(count: int) -> tuple[str, ...]:
    return tuple(str(uuid.UUID(int=0x6F1E2D3C4B5A49788A6B5C4D3E2F1A01 + n)) for n in range(count))


async def ledger_check(control: SandboxControl) -> dict[str, int]:
    ledger = await control.items("order-payments")
    guids = Counter(e["guid"] for e in ledger)
    requests = await control.requests()
    return {
        "captured": sum(1 for e in ledger if e["status"] == "CAPTURED"),
        "duplicates": sum(n - 1 for n in guids.values()),
        "http_429": sum(1 for r in requests if r["status"] == 429),
    }


async def seed(store: Store, control: SandboxControl, locs: tuple[str, ...], count: int,
               clubs: int = 1) -> list[int]:  # fmt: skip
    """``clubs`` 1: one club (its zone from the first location) whose members signed up at L
    tasting rooms (each member's RECURRING mandate at their room's location, round-robin).
    More: club k at location k mod L, its members' cards there. One release per club, all
    due at the same instant."""
    now = SystemClock().now()
    joined = now - timedelta(days=1)
    with store.transaction() as session:
        for n, loc in enumerate(locs):
            named.add(session, loc, name=f"Room {n}", timezone="America/Los_Angeles", now=now)
        made = []
        for k in range(clubs):
            club = service.create_club(session, name=f"Cellar Club {k}",
                                       location=locs[k % len(locs)], shipping={"*": 1500},
                                       tax_rates={"*": 72_500}, notice_days=0, now=now)  # fmt: skip
            tier = service.add_tier(session, club, name="Six", bottles=6, discount_pct=15)
            made.append((club.id or 0, str(tier.id)))

    def place(n: int) -> tuple[int, str]:  # (club index, location) of member n
        k = n % clubs
        return k, locs[(n if clubs == 1 else k) % len(locs)]

    cards = [(place(n), await control.card_on_file(place(n)[1], "4111111111111111",
                                                   "RECURRING"))
             for n in range(count)]  # fmt: skip
    for start in range(0, count, BATCH):
        with store.transaction() as session:
            for (k, loc), cof in cards[start : start + BATCH]:
                club = clubs_store.club(session, str(made[k][0]))
                tier = clubs_store.tier(session, made[k][0], made[k][1])
                customer = members.create_customer(
                    session, email=f"m{uuid.uuid4().hex[:10]}@example.com", now=joined
                )
                mandate = members.add_active_mandate(
                    session, customer=customer, location_guid=loc,
                    standing_instruction="RECURRING", toast_mandate_id=cof["mandateId"],
                    payment_method_id=cof["paymentMethodId"], now=joined,
                )  # fmt: skip
                service.join(session, club, customer=customer, tier=tier, delivery="ship",
                             region="CA", address="1 Vine St", mandate_id=mandate.id,
                             now=joined)  # fmt: skip
    release_ids = []
    with store.transaction() as session:
        for club_id, _ in made:
            club = clubs_store.club(session, str(club_id))
            release = service.create_release(session, club, title="Spring release",
                                             process_on=date.today() + timedelta(days=3),
                                             now=now)  # fmt: skip
            service.set_line(session, release, item="Pinot", qty=2, retail_cents=4200, now=now)
            service.set_line(session, release, item="Rose", qty=1, retail_cents=2600, now=now)
            service.open_release(session, release, now=now)
            service.approve(session, release, now=now)
            release_ids.append(release.id or 0)
    with store.transaction() as session:  # the clock reaches the cutoff and the process instant
        session.execute(update(Release).values(cutoff_at=now - timedelta(seconds=2),
                                               process_at=now - timedelta(seconds=1)))
    return release_ids


async def run(args: argparse.Namespace) -> dict[str, Any]:
    locs = locations(args.locations)
    config = SandboxConfig(locations=locs, rate_per_second=20, rate_per_15min=10_000)
    with running_sandbox(config, isolation="process") as sandbox, \
            tempfile.TemporaryDirectory() as tmp:  # fmt: skip
        control = SandboxControl.at(sandbox.base_url)
        url = args.database_url or f"sqlite:///{Path(tmp) / 'clubs.db'}"
        migrate.upgrade(url)
        store = TimedStore(Store.from_url(url).engine)
        release_ids = await seed(store, control, locs, args.members, args.clubs)
        now = datetime.now(UTC)
        store.longest_s = 0.0
        started = time.perf_counter()
        for release_id in release_ids:  # the snapshot at the cutoff, in batches
            batches.take_snapshot(store, release_id, now=now)
        snapshot_s = time.perf_counter() - started
        started = time.perf_counter()
        made = process.run(store, now=now)  # check + one door charge per member, in batches
        process_s = time.perf_counter() - started
        longest_s, store.longest_s = store.longest_s, 0.0
        settings = BillingSettings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=url,
            toast={"base_url": sandbox.base_url, "rate_per_second": 20, "rate_per_15min": 10_000},
            scheduler={"concurrency": args.concurrency,
                       "claim_batch_size": max(100, args.concurrency * 4)},
        )  # fmt: skip
        async with wiring.engine(settings, clock=SystemClock(), store=store) as engine:
            started = time.perf_counter()
            charged = 0
            while charged < made:
                done = await engine.sweep()
                if done == 0:
                    break
                charged += done
            collect_s = time.perf_counter() - started
        collect_longest_s = store.longest_s
        checked = await ledger_check(control)
        await control.aclose()
        store.dispose()
    bound = args.locations * 20 / REQUESTS_PER_CHARGE
    rate = charged / collect_s if collect_s else 0.0
    return {
        "members": args.members, "locations": args.locations, "clubs": args.clubs,
        "charges": made, "snapshot_s": snapshot_s, "process_s": process_s,
        "longest_transaction_s": longest_s, "collect_longest_transaction_s": collect_longest_s,
        "batch_members": batches.BATCH_MEMBERS, "collected": charged,
        "collect_s": collect_s, "charges_per_s": rate, "bound_per_s": bound,
        "ratio_to_bound": rate / bound, "http_429": checked["http_429"],
        "duplicates": checked["duplicates"], "captured": checked["captured"],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--locations", type=int, default=4)
    parser.add_argument("--clubs", type=int, default=1, help="clubs processing at once")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--database-url", default=None, help="default: a SQLite file")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print(f"{result['members']} members at {result['locations']} locations in "
          f"{result['clubs']} club(s): snapshot {result['snapshot_s']:.1f} s, processing "
          f"{result['process_s']:.1f} s ({result['charges']} charges; longest transaction "
          f"{result['longest_transaction_s']:.2f} s); collected {result['collected']} at "
          f"{result['charges_per_s']:.1f} charges/s of a {result['bound_per_s']:.1f}/s bound "
          f"({result['ratio_to_bound']:.0%}), {result['http_429']} x 429, "
          f"{result['duplicates']} duplicates")  # fmt: skip
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}))


if __name__ == "__main__":
    main()
