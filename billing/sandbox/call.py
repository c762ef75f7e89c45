"""What an operation receives from the HTTP layer, and what it returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from billing.sandbox.errors import InvalidRequest

JSON = dict[str, Any]
Reply = tuple[int, Any]  # (HTTP status, JSON body or None for an empty body)


@dataclass(frozen=True, slots=True)
class Call:
    location: str | None = None
    body: Any = None
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)

    def json(self) -> JSON:
        """The body as a JSON object ({} when empty); 400 for anything else."""
        if self.body is None:
            return {}
        if not isinstance(self.body, dict):
            raise InvalidRequest("request body must be a JSON object")
        return self.body

    def param(self, name: str) -> str:
        return self.params[name]
