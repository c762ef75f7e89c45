"""What every command needs: settings built once, and one-line errors on stderr."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer

from billing.errors import BillingError
from billing.settings import BillingSettings, load_settings


def fail(message: str, *, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise SystemExit(code)


def settings_or_exit() -> BillingSettings:
    try:
        return load_settings()
    except BillingError as exc:
        fail(exc.message)


def describe(exc: BaseException) -> str:
    if isinstance(exc, BillingError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


def verbose_requested() -> bool:
    return "--verbose" in sys.argv
