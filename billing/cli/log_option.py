"""The ``--log-format`` option shared by the long-running commands (``run``, ``serve``)."""

from __future__ import annotations

import typer

from billing.logs import LogFormat

LOG_FORMAT = typer.Option(
    LogFormat.AUTO, "--log-format", case_sensitive=False,
    help="Log lines for people (human) or machines (json); auto: human on a terminal",
)  # fmt: skip
