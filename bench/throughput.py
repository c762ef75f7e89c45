"""Engine throughput against the sandbox, with a bare httpx loop as the baseline of the same run.

Two measurements, each on N due charges spread over L locations, sandbox in its own process
with injected latency:

1. **Rate-limit bound**: the documented Toast limits (20 requests/s per location, 10,000 per
   15 minutes) on both sides. A charge costs 3 requests (create, confirm, apply to a check),
   so the bound is ``L * 20 / 3`` charges/s. Target: >= 90% of it with zero 429s.
2. **Not binding**: limits raised out of the way; the engine (store, write-ahead phases,
   leases) against a bare loop doing only the HTTP (create, confirm, apply) at the same
   concurrency. Target: >= 0.8x the bare loop, and CPU per charge (this process: the event
   loop and its store threads) <= 1.2x the bare loop's.

    .venv/bin/python bench/throughput.py [--charges 480] [--locations 4] [--concurrency 16]

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from billing import wiring
from billing.clock import SystemClock
from billing.manage import members
from billing.sandbox import FaultRule, FaultSettings, Latency, SandboxConfig, running_sandbox
from billing.sandbox.remote import SandboxControl
from billing.settings import PLACEHOLDER_SECRET, BillingSettings
from billing.store import migrate
from billing.store.db import Store
from billing.store.tables import Charge

REQUESTS_PER_CHARGE = 3
LOGIN = {"clientId": "sandbox-client", "clientSecret": PLACEHOLDER_SECRET,
         "userAccessType": "TOAST_MACHINE_CLIENT"}  # fmt: skip


def locations(count: int) -> tuple[str, ...]:
    return tuple(str(uuid.UUID(int=0x6F1E2D3C4B5A49788A6B5C4D3E2F1A01 + n)) for n in range(count))


def sandbox_config(locs: tuple[str, ...], *, rate: float, per_15: int, latency_ms: float) -> SandboxConfig:  # noqa: E501
    slow = FaultRule(path=r"^/(v1|orders)/",
                     latency_ms=Latency(distribution="uniform", min=latency_ms / 2,
                                        max=latency_ms * 1.5))  # fmt: skip
    return SandboxConfig(locations=locs, rate_per_second=rate, rate_per_15min=per_15,
                         faults=FaultSettings(seed=1, rules=(slow,)))  # fmt: skip


async def mandates(control: SandboxControl, locs: tuple[str, ...], per_location: int) -> list[dict[str, str]]:  # noqa: E501
    out = []
    for loc in locs:
        for _ in range(per_location):
            cof = await control.card_on_file(loc, "4111111111111111", "RECURRING")
            out.append({"location": loc, "mandate": cof["mandateId"], "pm": cof["paymentMethodId"]})
    return out


def seed_store(store: Store, cards: list[dict[str, str]], count: int) -> None:
    now = SystemClock().now()
    with store.transaction() as session:
        ids = []
        for card in cards:
            customer = members.create_customer(
                session, email=f"b{uuid.uuid4().hex[:8]}@example.com", now=now)
            mandate = members.add_active_mandate(
                session, customer=customer, location_guid=card["location"],
                standing_instruction="RECURRING", toast_mandate_id=card["mandate"],
                payment_method_id=card["pm"], now=now)
            ids.append(mandate.id or 0)
        for n in range(count):  # RECURRING charges: the cards' own type (their consent)
            card = cards[n % len(cards)]
            session.add(Charge(mandate_id=ids[n % len(ids)], kind="RECURRING",
                               amount_cents=1000 + n, location_guid=card["location"],
                               check_item="Bench", reason="bench", due_at=now,
                               next_attempt_at=now, created_at=now))


def engine_settings(base_url: str, url: str, *, rate: float, per_15: int, concurrency: int) -> BillingSettings:  # noqa: E501
    return BillingSettings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url,
        toast={"base_url": base_url, "rate_per_second": rate, "rate_per_15min": per_15},
        scheduler={"concurrency": concurrency, "claim_batch_size": max(100, concurrency * 4)},
    )


async def run_engine(base_url: str, cards: list[dict[str, str]], count: int, *, rate: float,
                     per_15: int, concurrency: int) -> tuple[float, float]:  # fmt: skip
    """Charges/s and CPU ms per charge (this process: the event loop and its store threads)."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate.upgrade(url)
        store = Store.from_url(url)
        seed_store(store, cards, count)
        settings = engine_settings(base_url, url, rate=rate, per_15=per_15, concurrency=concurrency)
        async with wiring.engine(settings, clock=SystemClock(), store=store) as engine:
            started, cpu = time.perf_counter(), time.process_time()
            charged = await engine.sweep()
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            group = engine.charger.group
            if group.writes:
                print(f"phase records: {group.writes} in {group.commits} commits "
                      f"({group.commits / max(charged, 1):.2f} a charge)")  # fmt: skip
        store.dispose()
    assert charged == count, (charged, count)
    return count / elapsed, 1000 * cpu / count


async def run_bare(base_url: str, cards: list[dict[str, str]], count: int, concurrency: int) -> tuple[float, float]:  # noqa: E501
    """create, confirm, apply: the same HTTP work, no store, no limiter, no retries (charges/s
    and CPU ms per charge)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30,
                                 limits=httpx.Limits(max_connections=100)) as http:  # fmt: skip
        token = (await http.post("/authentication/v1/authentication/login", json=LOGIN)).json()
        auth = {"Authorization": f"Bearer {token['token']['accessToken']}"}
        gate = asyncio.Semaphore(concurrency)

        async def one(n: int) -> None:
            card = cards[n % len(cards)]
            head = auth | {"Toast-Restaurant-External-ID": card["location"]}
            ref = str(uuid.uuid4())
            async with gate:
                pi = (await http.post("/v1/payment-intents", headers=head, json={
                    "amount": 1000 + n, "currency": "USD", "externalReferenceId": ref,
                    "captureMethod": "MANUAL", "email": "bench@example.com",
                    "offSession": True, "mandateId": card["mandate"]})).json()
                await http.post(f"/v1/payment-intents/{pi['id']}/confirm", headers=head, json={
                    "sessionSecret": pi["sessionSecret"], "paymentMethodId": card["pm"]})
                payment = {"guid": ref, "type": "CREDIT", "amount": (1000 + n) / 100,
                           "tipAmount": 0}
                response = await http.post("/orders/v2/orders", headers=head,
                                           json={"checks": [{"payments": [payment]}]})
                response.raise_for_status()

        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one(n) for n in range(count)))
        cpu = time.process_time() - cpu
        return count / (time.perf_counter() - started), 1000 * cpu / count


async def ledger_check(control: SandboxControl) -> dict[str, int]:
    ledger = await control.items("order-payments")
    guids = Counter(e["guid"] for e in ledger)
    requests = await control.requests()
    return {
        "captured": sum(1 for e in ledger if e["status"] == "CAPTURED"),
        "duplicates": sum(n - 1 for n in guids.values()),
        "http_429": sum(1 for r in requests if r["status"] == 429),
    }


async def bound_phase(args: argparse.Namespace) -> dict[str, Any]:
    locs = locations(args.locations)
    config = sandbox_config(locs, rate=20, per_15=10_000, latency_ms=args.latency_ms)
    with running_sandbox(config, isolation="process") as sandbox:
        control = SandboxControl.at(sandbox.base_url)
        cards = await mandates(control, locs, 2)
        rate, _ = await run_engine(sandbox.base_url, cards, args.charges, rate=20, per_15=10_000,
                                concurrency=args.concurrency)  # fmt: skip
        checked = await ledger_check(control)
        await control.aclose()
    bound = args.locations * 20 / REQUESTS_PER_CHARGE
    return {"charges_per_s": rate, "bound_per_s": bound, "ratio_to_bound": rate / bound,
            "http_429": checked["http_429"], "duplicates": checked["duplicates"],
            "captured": checked["captured"]}  # fmt: skip


async def free_phase(args: argparse.Namespace) -> dict[str, Any]:
    locs = locations(args.locations)
    config = sandbox_config(locs, rate=1e6, per_15=10**9, latency_ms=args.latency_ms)
    with running_sandbox(config, isolation="process") as sandbox:
        control = SandboxControl.at(sandbox.base_url)
        cards = await mandates(control, locs, 2)
        engine, engine_cpu = await run_engine(sandbox.base_url, cards, args.free_charges,
                                              rate=1e6, per_15=10**9,
                                              concurrency=args.concurrency)  # fmt: skip
        bare, bare_cpu = await run_bare(sandbox.base_url, cards, args.free_charges,
                                        args.concurrency)  # fmt: skip
        checked = await ledger_check(control)
        await control.aclose()
    return {"free_charges_per_s": engine, "bare_charges_per_s": bare,
            "ratio_to_bare": engine / bare, "free_duplicates": checked["duplicates"],
            "engine_cpu_ms_per_charge": engine_cpu, "bare_cpu_ms_per_charge": bare_cpu,
            "cpu_ratio_to_bare": engine_cpu / bare_cpu}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--charges", type=int, default=480)
    parser.add_argument("--free-charges", type=int, default=1000)
    parser.add_argument("--locations", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args()
    bound = asyncio.run(bound_phase(args))
    print(f"rate-limited: {bound['charges_per_s']:.1f} charges/s of a {bound['bound_per_s']:.1f}/s "
          f"bound ({bound['ratio_to_bound']:.0%}), {bound['http_429']} x 429, "
          f"{bound['duplicates']} duplicates")  # fmt: skip
    free = asyncio.run(free_phase(args))
    print(f"not binding: engine {free['free_charges_per_s']:.1f} charges/s, bare httpx loop "
          f"{free['bare_charges_per_s']:.1f}/s ({free['ratio_to_bare']:.2f}x); CPU "
          f"{free['engine_cpu_ms_per_charge']:.2f} vs {free['bare_cpu_ms_per_charge']:.2f} ms a "
          f"charge ({free['cpu_ratio_to_bare']:.2f}x)")  # fmt: skip
    result = bound | free
    result["duplicates"] = bound["duplicates"] + free["free_duplicates"]
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}))


if __name__ == "__main__":
    main()
