"""Sandbox fixtures: one sandbox per session on 127.0.0.1, reset before every test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from billing.sandbox import SandboxConfig, SandboxHandle, running_sandbox
from tests.sandbox.helpers import LOC_A, LOC_B, Api


@pytest.fixture(scope="session")
def shared_sandbox() -> Iterator[SandboxHandle]:
    config = SandboxConfig(
        locations=(LOC_A, LOC_B), rate_per_second=10_000, rate_per_15min=10_000_000
    )
    with running_sandbox(config) as handle:
        yield handle


@pytest.fixture
def sandbox(shared_sandbox: SandboxHandle) -> SandboxHandle:
    """The shared sandbox with empty state, no faults and the clock back to real time."""
    httpx.post(shared_sandbox.base_url + "/__sandbox__/reset", json={}).raise_for_status()
    return shared_sandbox


@pytest.fixture
def api(sandbox: SandboxHandle) -> Iterator[Api]:
    with httpx.Client(base_url=sandbox.base_url, timeout=10) as client:
        yield Api(client).login()
