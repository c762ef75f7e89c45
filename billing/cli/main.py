"""The `billing` command: Typer app whose entry point builds settings once and passes them down.

Commands are listed in ``billing.cli.commands`` and imported only when run. Every error, a
usage error as much as a refused value or an unreachable Toast, ends as one line on stderr
with the exit code documented in ``billing.cli.failures`` (``--verbose`` adds the traceback).
"""

from __future__ import annotations

import re
import sys
import traceback
from collections.abc import Sequence
from difflib import get_close_matches
from typing import Any

import typer
from typer import _click as click
from typer._click.exceptions import NoArgsIsHelpError, UsageError
from typer.core import TyperGroup

import billing
from billing.cli import commands, failures


class BillingGroup(TyperGroup):
    """The top-level group: commands from ``commands.COMMANDS``, loaded on first use, and one
    error handler around all of them."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = {name: commands.stub(spec) for name, spec in commands.COMMANDS.items()}
        self._loaded: dict[str, click.Command] = {}
        self._listing = False

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        spec = commands.COMMANDS.get(cmd_name)
        if spec is None:
            return None
        if self._listing:  # the help page: one line and a panel, nothing imported
            return self.commands[cmd_name]
        if cmd_name not in self._loaded:
            self._loaded[cmd_name] = commands.load(spec)
        return self._loaded[cmd_name]

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        commands.quiet_flags(self)  # Typer adds the completion options after __init__
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def main(
        self, args: Sequence[str] | None = None, prog_name: str | None = None,
        complete_var: str | None = None, standalone_mode: bool = True,
        windows_expand_args: bool = True, **extra: Any,
    ) -> Any:  # fmt: skip
        argv = list(sys.argv[1:] if args is None else args)
        try:
            rv = super().main(argv, prog_name or "billing", complete_var, False, **extra)
            code = rv if isinstance(rv, int) else 0
        except NoArgsIsHelpError as exc:  # `billing` or `billing plans` alone: the help page
            typer.echo(exc.ctx.get_help() if exc.ctx else "")
            code = 0
        except UsageError as exc:
            code = _report(usage_line(exc), failures.USAGE)
        except (typer.Abort, KeyboardInterrupt):
            code = _report("interrupted", failures.INTERRUPTED)
        except click.ClickException as exc:
            code = _report(exc.format_message(), exc.exit_code)
        except Exception as exc:
            if "--verbose" in argv:
                traceback.print_exc()
            code = _report(*failures.line_and_code(exc))
        if standalone_mode:
            sys.exit(code)
        return code


def _report(line: str, code: int) -> int:
    typer.echo(f"error: {failures.clip(line)}", err=True)
    return code


def usage_line(exc: UsageError) -> str:
    """A usage error in one line: what is wrong, a suggestion, and where help is."""
    message = exc.format_message().replace("Value error, ", "")
    wrong = re.search(r"'([^']*)' is not one of (.*)$", message)
    if wrong:
        choices = re.findall(r"'([^']*)'", wrong.group(2))
        close = get_close_matches(wrong.group(1).lower(), choices, n=1, cutoff=0.5)
        if close:
            message = f"{message.rstrip('.')}. Did you mean {close[0]!r}?"
    where = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
    return f"{message}{where}"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"billing {billing.__version__}")
        raise typer.Exit()


app = typer.Typer(
    name="billing",
    cls=BillingGroup,
    help="Recurring billing for Toast: plans, members, and scheduled card-on-file charges.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit"
    ),
) -> None:
    """Recurring billing for Toast: plans, members, and scheduled card-on-file charges."""


def main() -> None:
    app()
