"""Fault injection: latency, 5xx before processing, lost responses, 429s, processor stalls.

Faults are a ``FaultSettings`` value (JSON with camelCase names through the control API, or
``SandboxConfig(faults=...)``). ``FaultInjector`` draws from a seeded RNG so tests are
deterministic; rules match by method and a path regex and may be limited to ``maxHits``.
"""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True
    )


class Latency(_Model):
    distribution: Literal["fixed", "uniform", "exponential"] = "fixed"
    value: float = Field(0.0, ge=0)
    min: float = Field(0.0, ge=0)
    max: float = Field(0.0, ge=0)
    mean: float = Field(0.0, ge=0)

    def draw_ms(self, rng: random.Random) -> float:
        if self.distribution == "uniform":
            return rng.uniform(self.min, max(self.min, self.max))
        if self.distribution == "exponential":
            return rng.expovariate(1.0 / self.mean) if self.mean > 0 else 0.0
        return self.value


class FaultRule(_Model):
    method: str | None = None
    path: str | None = None
    latency_ms: Latency | None = None
    # Sandbox A29: the request is processed (its effect done), then its answer is held this long.
    hold_response_ms: Latency | None = None
    error_rate: float = Field(0.0, ge=0, le=1)
    error_status: Literal[500, 502, 503, 504] = 503
    lost_response_rate: float = Field(0.0, ge=0, le=1)
    throttle_rate: float = Field(0.0, ge=0, le=1)
    max_hits: int | None = Field(None, ge=0)

    @field_validator("path")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            re.compile(value)
        return value

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method:
            return False
        return self.path is None or re.search(self.path, path) is not None


class FaultSettings(_Model):
    seed: int | None = None
    processing_stall_seconds: float = Field(0.0, ge=0)
    rate_limit_storm_seconds: float = Field(0.0, ge=0)
    rules: tuple[FaultRule, ...] = ()

    def public(self) -> dict[str, object]:
        return self.model_dump(by_alias=True, mode="json")


@dataclass(slots=True)
class FaultPlan:
    """What to do with one request, drawn before it is processed."""

    latency_s: float = 0.0
    hold_s: float = 0.0
    error_status: int | None = None
    throttle: bool = False
    lose_response: bool = False

    @property
    def label(self) -> str | None:
        if self.throttle:
            return "throttle"
        if self.error_status is not None:
            return "error"
        if self.lose_response:
            return "lost_response"
        if self.hold_s > 0:
            return "held_response"
        return "latency" if self.latency_s > 0 else None


NO_FAULT = FaultPlan()


class FaultInjector:
    def __init__(self, settings: FaultSettings | None = None) -> None:
        self.settings = FaultSettings()
        self._rng = random.Random()
        self._hits: list[int] = []
        self._storm_until = 0.0
        self.configure(settings or FaultSettings())

    def configure(self, settings: FaultSettings) -> None:
        self.settings = settings
        self._rng = random.Random(settings.seed)
        self._hits = [0] * len(settings.rules)
        storm = settings.rate_limit_storm_seconds
        self._storm_until = time.monotonic() + storm if storm > 0 else 0.0

    @property
    def active(self) -> bool:
        return bool(self.settings.rules) or self._storm_until > 0

    def storm_retry_after(self) -> int | None:
        """Seconds left in a 429 storm, or None when there is none."""
        if self._storm_until <= 0:
            return None
        left = self._storm_until - time.monotonic()
        if left <= 0:
            self._storm_until = 0.0
            return None
        return max(1, int(left + 0.999))

    def plan(self, method: str, path: str) -> FaultPlan:
        if not self.settings.rules:
            return NO_FAULT
        plan = FaultPlan()
        for index, rule in enumerate(self.settings.rules):
            if not rule.matches(method, path) or self._exhausted(index, rule):
                continue
            if self._apply(rule, plan):
                self._hits[index] += 1
        return plan

    def _exhausted(self, index: int, rule: FaultRule) -> bool:
        return rule.max_hits is not None and self._hits[index] >= rule.max_hits

    def _apply(self, rule: FaultRule, plan: FaultPlan) -> bool:
        hit = False
        if rule.latency_ms is not None:
            plan.latency_s += rule.latency_ms.draw_ms(self._rng) / 1000.0
            hit = True
        if rule.hold_response_ms is not None:
            plan.hold_s += rule.hold_response_ms.draw_ms(self._rng) / 1000.0
            hit = True
        if rule.throttle_rate and self._rng.random() < rule.throttle_rate:
            plan.throttle = hit = True
        if rule.error_rate and self._rng.random() < rule.error_rate:
            plan.error_status = rule.error_status
            hit = True
        if rule.lost_response_rate and self._rng.random() < rule.lost_response_rate:
            plan.lose_response = hit = True
        return hit
