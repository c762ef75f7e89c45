"""Property-based run of the enrollment API against its own OpenAPI schema (schemathesis,
in-process over ASGI) with a valid API key: no input makes it answer 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from billing import wiring
from billing.clock import SystemClock
from billing.enroll import api
from billing.manage import plans
from billing.reservations import policies
from billing.sandbox import SandboxConfig, running_sandbox
from billing.store.db import Store
from tests.conftest import IN_CI
from tests.databases import migrated_database_url
from tests.enroll.conftest import AUTH, LOCATION, settings_for

try:
    import schemathesis
    from schemathesis.checks import not_a_server_error
except ImportError:  # pragma: no cover - the dev extra installs it
    if IN_CI:
        raise
    pytest.skip("schemathesis is NOT installed (pip install -e '.[dev]')", allow_module_level=True)


MAX_EXAMPLES = 40
VALID_RESERVATION = {"reference": "FZ-1", "party_size": 2,
                     "customer": {"email": "resv@example.com"}}  # fmt: skip  (+ a slot tomorrow)
VALID_BODIES = [
    {"plan": "wine-club", "customer": {"email": "fuzz@example.com"}},
    {"plan": "wine-club", "customer": {"email": "now@example.com"}, "pay_now": True},
]


@pytest.fixture
def api_schema(tmp_path: Path) -> Iterator[Any]:
    config = SandboxConfig(locations=(LOCATION,), rate_per_second=10_000,
                           rate_per_15min=10_000_000)  # fmt: skip
    with running_sandbox(config) as sandbox:
        url = migrated_database_url("sqlite", tmp_path)
        app_settings = settings_for(sandbox, url)
        store = Store.from_url(url)
        clock = SystemClock()
        with store.transaction() as session:
            plans.create(session, plans.PlanCreate(
                code="wine-club", name="Wine club", kind="RECURRING", amount_cents=4500,
                location_guid=LOCATION), now=clock.now())  # fmt: skip
            policies.create(session, policies.PolicySpec(
                code="dinner", name="Dinner", per="person", amount_cents=2500,
                consent_text="A $25 per guest no-show fee", location_guid=LOCATION),
                now=clock.now())  # fmt: skip
        app = api.create_app(
            app_settings, store, lambda: wiring.toast_client(app_settings, store), clock
        )
        try:
            yield schemathesis.openapi.from_asgi("/openapi.json", app)
        finally:
            store.dispose()


def test_no_input_makes_the_api_fail_with_5xx(api_schema: Any) -> None:
    # schemathesis's pytest plugin predates this pytest; hypothesis drives each operation.
    seen: dict[str, set[int]] = {}
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def call(case: Any) -> None:
            response = case.call_and_validate(headers=AUTH, checks=[not_a_server_error])
            seen.setdefault(f"{case.method} {case.path}", set()).add(response.status_code)

        call()
        if operation.method.upper() == "POST" and operation.path == "/v1/enrollments":
            for body in VALID_BODIES:  # the fuzz may not hit a valid body: make sure some do
                key = {"Idempotency-Key": body["customer"]["email"]}
                case = operation.Case(body=body, headers=key)
                response = case.call_and_validate(headers=AUTH, checks=[not_a_server_error])
                assert response.status_code == 201, response.text
                seen["POST /v1/enrollments"].add(response.status_code)
        if operation.method.upper() == "POST" and operation.path == "/v1/reservations":
            tomorrow = (SystemClock().now() + timedelta(days=1)).isoformat()
            case = operation.Case(body={**VALID_RESERVATION, "slot": tomorrow},
                                  headers={"Idempotency-Key": "fz-1"})  # fmt: skip
            response = case.call_and_validate(headers=AUTH, checks=[not_a_server_error])
            assert response.status_code == 201, response.text
            seen["POST /v1/reservations"].add(response.status_code)
    assert len(seen) == 18, seen  # 6 enrollment + 4 reservation + 3 event + 5 club routes
    assert 201 in seen["POST /v1/enrollments"], seen  # valid bodies got through to Toast
