"""Confirmation for destructive commands: say what will happen, then ask.

A person at a terminal sees one or two lines naming the member, plan and amount and answers
y/N. A script passes ``--yes``; without a terminal and without ``--yes`` the command is refused
(one line, exit 1) before anything is written, so a pipeline never cancels by accident.
The question is asked outside any transaction: no lock is held while a person reads.
"""

from __future__ import annotations

import sys

import typer

from billing.errors import DomainError

YES = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation (for scripts)")


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def ask(what: str, details: list[str], *, yes: bool) -> None:
    """Return when the action is confirmed; otherwise stop the command, nothing written."""
    if yes:
        return
    if not stdin_is_terminal():
        raise DomainError(
            f"--yes: {what} needs confirmation and there is no terminal to ask: add --yes",
            field="--yes",
        )
    for line in details:  # on stderr, like the question: stdout stays the command's output
        typer.echo(line, err=True)
    if not typer.confirm(f"{what[:1].upper()}{what[1:]}?", default=False, err=True):
        typer.echo("nothing changed", err=True)
        raise SystemExit(1)
