"""Start-up cost (issue 14, item 15): help and simple commands import none of the web and
database stack. Measured by what is imported, not by a stopwatch, so machine load cannot make
it flaky (`python -X importtime -m billing.cli --help` shows the figures)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from typer.testing import CliRunner

from billing.cli import main

HEAVY = (
    "sqlalchemy", "sqlmodel", "alembic", "psycopg", "fastapi", "starlette", "uvicorn", "httpx",
    "apscheduler", "billing.store", "billing.engine", "billing.enroll", "billing.toast",
    "billing.reports", "billing.sandbox", "billing.manage",
)  # fmt: skip
PROBE = """
import json, sys
sys.argv = ["billing", *json.loads(sys.argv[1])]
from billing.cli.main import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def imported_by(*args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(list(args))],
        capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize("args", [("--help",), ("--version",), (), ("config",)])
def test_help_and_simple_commands_import_no_heavy_module(args: tuple[str, ...]) -> None:
    modules = imported_by(*args)
    assert "billing.cli.main" in modules
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY or m.startswith(HEAVY))
    assert heavy == [], heavy


def test_a_command_imports_only_what_it_needs() -> None:
    modules = imported_by("plans", "--help")
    assert "billing.cli.plans_cmd" in modules
    assert not {"fastapi", "uvicorn", "billing.engine.runner", "billing.cli.serve_cmd"} & modules


def test_the_listed_help_is_the_commands_own() -> None:
    """``billing --help`` shows the table's line; it must be the command's own first line."""
    from billing.cli import commands

    for name in commands.COMMANDS:
        check_listed_help(commands, name)


def check_listed_help(commands: Any, name: str) -> None:
    real = commands.load(commands.COMMANDS[name])
    first = " ".join((real.help or "").split("\n\n")[0].split())
    assert first == commands.COMMANDS[name].help
    assert CliRunner().invoke(main.app, [name, "--help"]).exit_code == 0
