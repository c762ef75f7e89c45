"""What a running worker says about itself: a status file an operator (or a probe) can read.

``billing run --status-file PATH`` (or ``scheduler.status_file``) rewrites PATH atomically on
every heartbeat with one JSON object: the worker, its state (running, stopping, stopped), the
instant of the beat, how many attempts it is working on, and its problems (a login that is not
allowed yet). A probe treats a file whose ``beat_at`` is older than a few heartbeats, or a
non-empty ``problems`` list, as unhealthy. Nothing secret is written.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


@dataclass(slots=True)
class Health:
    owner: str
    path: Path | None = None
    state: str = "starting"
    login_unavailable_until: datetime | None = None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def problems(self) -> list[str]:
        if self.login_unavailable_until is None:
            return []
        return [f"toast login not allowed until {self.login_unavailable_until.isoformat()}"]

    def snapshot(self, now: datetime, *, in_flight: int) -> dict[str, object]:
        return {
            "owner": self.owner,
            "state": self.state,
            "beat_at": now.isoformat(),
            "in_flight": in_flight,
            "problems": self.problems,
            "counts": dict(self.counts),
        }

    def write(self, now: datetime, *, in_flight: int) -> None:
        if self.path is None:
            return
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.snapshot(now, in_flight=in_flight)) + "\n")
        os.replace(tmp, self.path)
