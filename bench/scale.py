"""The store at scale: a group with 50 locations and 100k or 1M members.

For each backend and size: a fresh store is migrated and seeded by set-based SQL
(``billing.store.seed``: per member a customer, a mandate, a monthly subscription and about
three paid cycles with their attempts; one member in ten cancelled), then measured:

- ``materialize_s``: ``materialize.run`` when about 1/30 of the members fall due (1 day ahead);
- ``queries_ms``: each query the engine runs on a schedule (min of 3 runs);
- ``claim_500_ms``: claiming 500 due charges (``FOR UPDATE SKIP LOCKED`` on PostgreSQL);
- ``upcoming_s`` / ``upcoming_rss_mb``: ``billing upcoming --days 30 --json`` in a subprocess;
- ``report_s`` / ``report_rss_mb``: ``billing report --month <this month> --json``.

The last line printed is one JSON object, with the largest/smallest size ratio of each figure
(goal: <= 11 for work that grows with members, ~1 for work that should not grow).

    .venv/bin/python bench/scale.py [--sizes 100000,1000000] [--sqlite-max 100000]
        [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/bench]

The PostgreSQL database's public schema is DROPPED and recreated: give it a scratch database.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from scratch import empty_schema

from billing.clock import SystemClock
from billing.engine import materialize
from billing.reports.period import Period, month_of
from billing.store import leases, migrate, scheduled, seed
from billing.store.db import Store

HORIZON = timedelta(days=1)  # about one anchor day in 28 falls due: ~1/30 of the members
BILLING = str(Path(sys.executable).with_name("billing"))


def fresh(backend: str, pg_url: str, workdir: Path, size: int) -> str:
    if backend == "sqlite":
        return f"sqlite:///{workdir / f'scale-{size}.db'}"
    return empty_schema(pg_url)


def run_cli(url: str, *args: str) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of ``billing ARGS`` against ``url`` (output discarded)."""
    env = {**os.environ, "BILLING_DATABASE_URL": url}
    start = time.perf_counter()
    proc = subprocess.Popen([BILLING, *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)  # fmt: skip
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        err = proc.stderr.read().decode()[-500:] if proc.stderr else ""
        raise SystemExit(f"billing {' '.join(args)} failed: {err}")
    return elapsed, usage.ru_maxrss / 1024  # Linux: kilobytes


def measure(backend: str, url: str, size: int) -> dict[str, Any]:
    migrate.upgrade(url)
    store = Store.from_url(url)
    now = SystemClock().now()
    t0 = time.perf_counter()
    seeded = seed.seed(store, subscriptions=size, now=now)
    out: dict[str, Any] = {"seed_s": round(time.perf_counter() - t0, 1),
                           "charges_seeded": seeded.charges}  # fmt: skip
    t0 = time.perf_counter()
    out["materialized"] = materialize.run(store, now=now, horizon=HORIZON)
    out["materialize_s"] = round(time.perf_counter() - t0, 2)
    with store.engine.connect() as conn:
        seed.analyze(conn)
        queries = scheduled.catalogue(store.dialect, now=now + HORIZON, horizon=HORIZON)
        out["queries_ms"] = {name: _best_ms(conn, q) for name, q in queries.items()}
        out["claim_500_ms"] = round(1000 * min(_claim(conn, now + HORIZON) for _ in range(3)), 2)
    store.dispose()
    out["upcoming_s"], out["upcoming_rss_mb"] = run_cli(url, "upcoming", "--days", "30", "--json")
    month = str(month_of(now, Period.zone_of("UTC")))
    out["report_s"], out["report_rss_mb"] = run_cli(url, "report", "--month", month, "--json")
    for key in ("upcoming_s", "upcoming_rss_mb", "report_s", "report_rss_mb"):
        out[key] = round(out[key], 2)
    return out


def _claim(conn: Any, at: Any) -> float:
    with conn.begin() as tx:
        start = time.perf_counter()
        ids = leases.claim_due(conn, owner="bench", now=at, lease_s=60, limit=500)
        elapsed = time.perf_counter() - start
        tx.rollback()
    if len(ids) < 500:
        print(f"warning: only {len(ids)} charges due to claim", file=sys.stderr)
    return elapsed


def _best_ms(conn: Any, query: scheduled.Query) -> float:
    return round(1000 * min(scheduled.timed(conn, query, time.perf_counter) for _ in range(3)), 2)


def ratios(small: dict[str, Any], large: dict[str, Any]) -> dict[str, Any]:
    def ratio(a: float, b: float) -> float | None:
        return round(b / a, 2) if a else None

    flat = {k: ratio(small[k], large[k]) for k in small if isinstance(small[k], int | float)}
    flat["queries_ms"] = {
        k: ratio(small["queries_ms"][k], large["queries_ms"][k]) for k in small["queries_ms"]
    }
    return flat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--sqlite-max", type=int, default=100_000)
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--pg-url", default=os.environ.get(
        "PG_BENCH_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench"))  # fmt: skip
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    result: dict[str, Any] = {"conditions": {"cpus": os.cpu_count(), "locations": 50,
                                             "materialize_horizon_days": HORIZON.days}}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            runs: dict[str, Any] = {}
            for size in sizes:
                if backend == "sqlite" and size > args.sqlite_max:
                    continue
                url = fresh(backend, args.pg_url, Path(tmp), size)
                runs[str(size)] = measure(backend, url, size)
                print(f"{backend} {size}: {json.dumps(runs[str(size)])}", file=sys.stderr)
            done = [s for s in sizes if str(s) in runs]
            if len(done) > 1:
                runs[f"ratio_{done[-1]}_{done[0]}"] = ratios(runs[str(done[0])],
                                                             runs[str(done[-1])])  # fmt: skip
            result[backend] = runs
    print(json.dumps(result))


if __name__ == "__main__":
    main()
