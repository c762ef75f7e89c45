"""Shared pieces of the admin commands: the store, error handling, JSON and Rich output.

Every admin command is wrapped by ``command``: it gains a ``--verbose`` option, and any error
becomes one line on stderr (``error: ...`` naming the field) with exit code 1; ``--verbose``
adds the traceback. Commands validate before writing and write in one transaction, so an
error leaves the store unchanged.
"""

from __future__ import annotations

import functools
import inspect
import json
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any, TypeVar, cast

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import Session, SQLModel

from billing.cli import failures
from billing.cli.context import fail, settings_or_exit
from billing.settings import BillingSettings
from billing.store import migrate
from billing.store.db import Store

T = TypeVar("T")
# Never printed, whatever the command (the attempt's payment-intent session secret).
PRIVATE_FIELDS = frozenset({"session_secret", "access_token"})
VERBOSE = inspect.Parameter(
    "verbose",
    inspect.Parameter.KEYWORD_ONLY,
    default=typer.Option(False, "--verbose", help="Show the traceback of an error"),
    annotation=bool,
)
JSON_OPTION = typer.Option(False, "--json", help="Print plain JSON on stdout (for scripts)")


def command(fn: Callable[..., None]) -> Callable[..., None]:
    """Add ``--verbose`` to ``fn`` and turn its errors into one line on stderr."""
    signature = inspect.signature(fn, eval_str=True)

    @functools.wraps(fn)
    def wrapper(*args: Any, verbose: bool = False, **kwargs: Any) -> None:
        try:
            fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except Exception as exc:
            if verbose:
                traceback.print_exc()
            line, code = failures.line_and_code(exc)
            fail(line, code=code)

    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*signature.parameters.values(), VERBOSE]
    )
    return wrapper


def one_line(exc: BaseException) -> str:
    """The error as one line that names the field to blame."""
    return failures.line_and_code(exc)[0]


@contextmanager
def opened_store(settings: BillingSettings | None = None) -> Iterator[Store]:
    """The store of the configured database, whose schema must be current.

    The admin commands do not migrate by themselves: ``billing db upgrade`` is a deliberate
    step (in production it runs once per release, before the workers start).
    """
    settings = settings or settings_or_exit()
    url = settings.database_url
    try:
        current, head = migrate.current_revision(url), migrate.head_revision(url)
    except Exception as exc:
        fail(f"database_url: cannot open the database: {one_line(exc)}")
    if current != head:
        fail(f"database schema is {current or 'empty'}, expected {head}: run `billing db upgrade`")
    store = Store.from_url(url)
    try:
        yield store
    finally:
        store.dispose()


def plain(value: Any) -> Any:
    """``value`` as JSON-ready data (rows without their private fields)."""
    if isinstance(value, SQLModel):
        data = value.model_dump()
        return {k: plain(v) for k, v in data.items() if k not in PRIVATE_FIELDS}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items() if k not in PRIVATE_FIELDS}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


def print_json(value: Any, *, reveal: dict[str, str] | None = None) -> None:
    """``value`` as JSON; ``reveal`` adds fields that are private elsewhere (``enroll`` prints
    the setup intent's session secret for the website's iframe)."""
    data = plain(value)
    if reveal:
        data = {**data, **reveal}
    typer.echo(json.dumps(data, indent=2, sort_keys=False))


def cell(value: Any) -> str:
    value = plain(value)
    return "" if value is None else str(value)


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(cell(v) for v in row))
    console = Console()
    if not console.is_terminal:  # piped: do not squeeze the table into 80 columns
        console = Console(width=240)
    console.print(table)


def print_fields(title: str, fields: dict[str, Any]) -> None:
    """One record as a two-column table (private fields left out)."""
    rows = [(k, v) for k, v in fields.items() if k not in PRIVATE_FIELDS]
    print_table(title, ("field", "value"), rows)


def echo(message: str) -> None:
    typer.echo(message)


@contextmanager
def transaction(settings: BillingSettings | None = None) -> Iterator[Session]:
    """One transaction on the configured store: the whole of a command's reads and writes."""
    with opened_store(settings) as store, store.transaction() as session:
        yield session


class _Rollback(Exception):
    def __init__(self, value: object) -> None:
        super().__init__("dry run")
        self.value = value


def dry_run(store: Store, fn: Callable[[Session], T]) -> T:
    """``fn`` in a transaction that is always rolled back: the validation of a command (and
    what it would do) before a Toast call, which must not run inside the write transaction."""
    try:
        with store.transaction() as session:
            value = fn(session)
            session.expunge_all()  # keep the rows readable after the rollback
            raise _Rollback(value)
    except _Rollback as done:
        return cast(T, done.value)
