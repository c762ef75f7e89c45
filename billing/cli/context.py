"""What every command needs: settings built once, and one-line errors on stderr."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer

from billing.errors import BillingError
from billing.settings import BillingSettings, load_settings


def fail(message: str, *, code: int = 1) -> NoReturn:
    from billing.cli import failures

    typer.echo(f"error: {failures.clip(message)}", err=True)
    raise SystemExit(code)


def settings_or_exit() -> BillingSettings:
    try:
        return load_settings()
    except BillingError as exc:
        fail(exc.message)


def describe(exc: BaseException) -> str:
    """The error as one line naming the field (``billing.cli.failures``)."""
    from billing.cli import failures

    return failures.line_and_code(exc)[0]


def verbose_requested() -> bool:
    return "--verbose" in sys.argv
