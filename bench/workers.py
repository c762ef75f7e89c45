"""Workers add throughput: 1 and 3 `billing run` processes on PostgreSQL against the sandbox.

The sandbox runs in its own process at Toast's documented limits (20 requests/s and 10,000 per
15 minutes a location) with 10-30 ms of latency, over ``--locations`` locations; the workers run
with the default settings (only the database, the sandbox URL and a location are set). For each
worker count, on a fresh schema:

1. cards-on-file and ``--charges`` RECURRING charges are seeded, not yet due, and the
   locations are registered;
2. the workers start, and the bench waits until they have split the locations between them;
3. every charge is made due at once; the bench waits until all are paid, then stops the
   workers (SIGTERM) and reads the store and the sandbox's request log.

charges/s = charges / (last charge paid - first attempt started). The bound set by Toast's limits
is ``locations * 20 / 3`` charges/s (3 requests a charge). The worst second per location is the
most requests the sandbox received at one location in any sliding second. CPU is the workers'
user+system seconds (``wait4``), per charge.

    PG_BENCH_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_workers \\
        .venv/bin/python bench/workers.py [--charges 2000] [--locations 10]

The database's public schema is DROPPED and recreated: give it a scratch database (created if
missing). The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from scratch import empty_schema
from sqlalchemy import text

from billing.clock import SystemClock
from billing.manage import locations as location_admin
from billing.manage import members
from billing.sandbox import FaultRule, FaultSettings, Latency, SandboxConfig, running_sandbox
from billing.sandbox.remote import SandboxControl, busiest_window
from billing.store import migrate
from billing.store.db import Store
from billing.store.tables import Charge

REQUESTS_PER_CHARGE = 3
FAR = "2100-01-01T00:00:00+00:00"


def location_guids(count: int) -> tuple[str, ...]:
    return tuple(str(uuid.UUID(int=0x5B1E2D3C4B5A49788A6B5C4D3E2F1A01 + n)) for n in range(count))


def scratch(url: str) -> str:
    """A fresh, migrated schema in the scratch database (created if missing)."""
    migrate.upgrade(empty_schema(url))
    return url


async def seed(store: Store, control: SandboxControl, locs: tuple[str, ...], count: int) -> None:
    now = SystemClock().now()
    ids = []
    with store.transaction() as session:
        for n, loc in enumerate(locs):
            location_admin.add(session, loc, name=f"Bench {n}", timezone="UTC", now=now)
    for loc in locs:
        for _ in range(2):
            cof = await control.card_on_file(loc, "4111111111111111", "RECURRING")
            with store.transaction() as session:
                customer = members.create_customer(
                    session, email=f"b{uuid.uuid4().hex[:8]}@example.com", now=now
                )
                mandate = members.add_active_mandate(
                    session, customer=customer, location_guid=loc,
                    standing_instruction="RECURRING", toast_mandate_id=cof["mandateId"],
                    payment_method_id=cof["paymentMethodId"], now=now,
                )  # fmt: skip
                ids.append((mandate.id or 0, loc))
    later = now.replace(year=2100)
    with store.transaction() as session:
        for n in range(count):
            mandate_id, loc = ids[n % len(ids)]
            session.add(Charge(
                mandate_id=mandate_id, kind="RECURRING", amount_cents=1000 + n,
                location_guid=loc, check_item="Bench", reason="bench", due_at=now,
                next_attempt_at=later, created_at=now,
            ))  # fmt: skip


def start(env: dict[str, str], status: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "billing.cli", "run", "--status-file", str(status)],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def wait(condition: Any, what: str, timeout_s: float = 600) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.2)
    return time.monotonic() - started


def scalar(store: Store, sql: str) -> Any:
    with store.engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


def balanced(store: Store, workers: int, locs: int) -> bool:
    with store.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT owner, count(*) FROM location_lease WHERE expires_at > now() GROUP BY owner"
        )).all()  # fmt: skip
    counts = [n for _, n in rows]
    return sum(counts) == locs and len(counts) == workers and max(counts) - min(counts) <= 1


def running(status: Path) -> bool:
    try:
        return bool(json.loads(status.read_text())["state"] == "running")
    except (OSError, ValueError, KeyError):
        return False


async def one_run(args: argparse.Namespace, workers: int) -> dict[str, Any]:
    locs = location_guids(args.locations)
    slow = FaultRule(path=r"^/(v1|orders)/", latency_ms=Latency(
        distribution="uniform", min=args.latency_ms / 2, max=args.latency_ms * 1.5))  # fmt: skip
    config = SandboxConfig(locations=locs, rate_per_second=20, rate_per_15min=10_000,
                           faults=FaultSettings(seed=1, rules=(slow,)))  # fmt: skip
    url = scratch(args.pg_url)
    store = Store.from_url(url)
    with running_sandbox(config, isolation="process") as sandbox, \
            tempfile.TemporaryDirectory() as tmp:  # fmt: skip
        control = SandboxControl.at(sandbox.base_url)
        await seed(store, control, locs, args.charges)
        env = {k: v for k, v in os.environ.items() if not k.startswith("BILLING_")}
        env |= {"BILLING_DATABASE_URL": url, "BILLING_TOAST__BASE_URL": sandbox.base_url,
                "BILLING_TOAST__LOCATION_GUID": locs[0],
                "BILLING_LOG_LEVEL": "WARNING"}  # fmt: skip
        procs = [start(env, Path(tmp) / f"w{i}.json", Path(tmp) / f"w{i}.log")
                 for i in range(workers)]  # fmt: skip
        wait(lambda: all(running(Path(tmp) / f"w{i}.json") for i in range(workers)), "start")
        split_s = wait(lambda: balanced(store, workers, len(locs)), "locations split")
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE charge SET next_attempt_at = now()"))
        wait(lambda: scalar(store, "SELECT count(*) FROM charge WHERE status = 'paid'")
             == args.charges, "every charge paid")  # fmt: skip
        cpu = 0.0
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            cpu += usage.ru_utime + usage.ru_stime
        elapsed = scalar(store, "SELECT EXTRACT(EPOCH FROM (SELECT max(settled_at) FROM charge) "
                                "- (SELECT min(created_at) FROM attempt))")  # fmt: skip
        duplicates = scalar(store, "SELECT count(*) FROM (SELECT charge_id FROM attempt WHERE "
                                   "status = 'succeeded' GROUP BY charge_id HAVING count(*) > 1) d")
        requests = await control.requests()
        ledger = await control.items("order-payments")
        await control.aclose()
    store.dispose()
    statuses = Counter(r["status"] for r in requests)
    guids = Counter(e["guid"] for e in ledger if e["status"] == "CAPTURED")
    return {
        "workers": workers,
        "charges_per_s": args.charges / float(elapsed),
        "split_s": round(split_s, 1),
        "http_429": statuses[429],
        "worst_second": max(busiest_window(requests, 1.0).values()),
        "worst_15min": max(busiest_window(requests, 900.0).values()),
        "duplicates": int(duplicates) + sum(n - 1 for n in guids.values()),
        "captured": len(guids),
        "cpu_ms_per_charge": 1000 * cpu / args.charges,
        "exit_codes": [p.returncode for p in procs],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--charges", type=int, default=2000)
    parser.add_argument("--locations", type=int, default=10)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--pg-url", default=os.environ.get(
        "PG_BENCH_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_workers"))  # fmt: skip
    args = parser.parse_args()
    runs = {n: asyncio.run(one_run(args, n)) for n in (1, 3)}
    bound = args.locations * 20 / REQUESTS_PER_CHARGE
    for n, run in runs.items():
        rate = run["charges_per_s"]
        print(f"{n} worker(s): {rate:.1f} charges/s ({rate / bound:.0%}"
              f" of the {bound:.1f}/s bound), {run['http_429']} x 429, worst second "
              f"{run['worst_second']}, {run['duplicates']} duplicates, "
              f"{run['cpu_ms_per_charge']:.1f} CPU ms/charge")  # fmt: skip
    one, three = runs[1], runs[3]
    result = {
        "charges": args.charges, "locations": args.locations, "bound_per_s": round(bound, 2),
        "cpu_count": os.cpu_count(),
        "charges_per_s_1": round(one["charges_per_s"], 2),
        "charges_per_s_3": round(three["charges_per_s"], 2),
        "scaling_3_vs_1": round(three["charges_per_s"] / one["charges_per_s"], 3),
        "ratio_to_bound_3": round(three["charges_per_s"] / bound, 3),
        "http_429": one["http_429"] + three["http_429"],
        "worst_second_1": one["worst_second"], "worst_second_3": three["worst_second"],
        "worst_15min": max(one["worst_15min"], three["worst_15min"]),
        "duplicates": one["duplicates"] + three["duplicates"],
        "cpu_ms_per_charge_1": round(one["cpu_ms_per_charge"], 2),
        "cpu_ms_per_charge_3": round(three["cpu_ms_per_charge"], 2),
        "split_s_3": three["split_s"],
        "clean_exits": one["exit_codes"] + three["exit_codes"] == [0] * 4,
    }  # fmt: skip
    print(json.dumps(result))


if __name__ == "__main__":
    main()
