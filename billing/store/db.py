"""Engine and transactions. SQLite runs in WAL mode with foreign keys on; PostgreSQL as is.

The use case opens the transaction (``store.transaction()``); helpers never commit by themselves.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import Session

from billing.errors import StoreError
from billing.store import integrity, purpose_marks  # noqa: F401  (registers the flush hook)


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for ``url``; SQLite connections get WAL, foreign keys and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30}
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (pysqlite's own
        # implicit BEGIN breaks SAVEPOINTs and defers locking).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # One writer at a time: take the write lock up front instead of failing on upgrade.
        # On the DBAPI connection itself: through ``exec_driver_sql`` this one statement cost
        # as much CPU as a hot-path UPDATE (engine profile, ``bench/throughput.py``).
        conn.connection.driver_connection.execute("BEGIN IMMEDIATE")


class Store:
    """Holds the engine; hands out sessions whose commit maps named-constraint violations."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # SQLite has one writer: queue this process's transactions on a lock instead of
        # letting them collide on the file lock, whose busy handler sleeps in steps of
        # up to 100 ms. Other processes still wait on the file lock (busy_timeout).
        self._writer: Any = threading.RLock() if engine.dialect.name == "sqlite" else nullcontext()
        self._held: Connection | None = None  # SQLite: the hot path's one connection

    @classmethod
    def from_url(cls, url: str) -> Store:
        return cls(make_engine(url))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction: committed on success, rolled back on error.

        A violation of a named money constraint surfaces as its domain error
        (``ChargeAlreadyExists``, ``AttemptAlreadyOpen``, ...); anything else is re-raised.
        """
        with self._writer, Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except IntegrityError as exc:
                session.rollback()
                raise integrity.translate(exc) from exc
            except StatementError as exc:
                session.rollback()
                if isinstance(exc.orig, ValueError):  # refused by a column type at bind time
                    raise StoreError(str(exc.orig)) from exc
                raise
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A Core transaction for the hot path's named statements (``billing.store.hot``):
        the same writer lock and constraint mapping as ``transaction``, without ORM overhead.

        On SQLite the transactions are serialized by the writer lock anyway, so they share one
        connection kept open (checking one out of the pool and back cost as much CPU as the
        UPDATE it carried: engine profile, ``bench/throughput.py``); on PostgreSQL each
        takes a pooled connection, as they run on several threads at once."""
        with self._writer, self._connected() as conn:
            try:
                with conn.begin():
                    yield conn
            except IntegrityError as exc:
                raise integrity.translate(exc) from exc

    def _connected(self) -> AbstractContextManager[Connection]:
        if self.dialect != "sqlite":
            return self.engine.connect()
        if self._held is None or self._held.closed:
            self._held = self.engine.connect()
        return nullcontext(self._held)

    def dispose(self) -> None:
        with self._writer:
            held, self._held = self._held, None
            if held is not None:
                held.close()
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)})"
