"""The Toast sandbox: a stateful emulator of the hosted-checkout APIs billing uses.

    from billing.sandbox import SandboxConfig, running_sandbox

    with running_sandbox(SandboxConfig()) as sandbox:
        httpx.get(sandbox.base_url + "/__sandbox__/clock")

See docs/sandbox.md for the endpoints, control API, test cards and faults.
"""

from __future__ import annotations

from billing.sandbox.config import Assumptions, SandboxConfig
from billing.sandbox.faults import FaultRule, FaultSettings, Latency
from billing.sandbox.server import SandboxHandle, running_sandbox, serve

__all__ = [
    "Assumptions",
    "FaultRule",
    "FaultSettings",
    "Latency",
    "SandboxConfig",
    "SandboxHandle",
    "running_sandbox",
    "serve",
]
