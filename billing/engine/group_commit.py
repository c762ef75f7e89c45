"""Group commit: concurrent attempts' phase records share one transaction.

The write-ahead rule (shared/design.md invariant 2) asks that each attempt's record be
committed before *its own* next request; it does not ask for one commit per record. So the
charger hands its phase writes here: every write queued while the previous group was being
committed (PostgreSQL: in a worker thread) or during one turn of the event loop (SQLite: run
inline, its writes are sub-millisecond) goes into the next group, one transaction, and each
waiting attempt resumes only once the commit that holds its record has returned.

A group is all or nothing: if any write in it fails (an attempt not in the state its write
expects, a constraint, a lost commit), the group is rolled back and each of its writes runs
again in its own transaction, so one failure is reported to its own attempt and never undoes
the others. A phase write is a pure store function (``billing.engine.phases``): running it
again after a rollback is the same as running it once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection
from sqlmodel import Session

from billing.store.db import Store

R = TypeVar("R")
_Write = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any], "asyncio.Future[Any]"]


class _Joined(Store):
    """The store as seen by one write of a group: its transactions are the group's."""

    def __init__(self, store: Store, conn: Connection) -> None:
        super().__init__(store.engine)
        self._conn = conn

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        yield self._conn

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with Session(bind=self._conn, expire_on_commit=False) as session:
            yield session
            session.flush()


class GroupCommit:
    def __init__(self, store: Store, *, inline: bool) -> None:
        self.store = store
        self.inline = inline
        self._queue: list[_Write] = []
        self._flushing = False
        self._flusher: asyncio.Task[None] | None = None
        self.writes = 0  # records written, and the commits that held them (the bench prints)
        self.commits = 0
        self.rollbacks = 0

    async def run(self, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        """Run ``fn(store, *args, **kwargs)`` in the next group; return once it is committed."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[R] = loop.create_future()
        self._queue.append((fn, args, kwargs, done))
        if not self._flushing:
            self._flushing = True
            if self.inline:
                loop.call_soon(self._flush_inline)
            else:
                self._flusher = loop.create_task(self._flush_threaded())
        return await done

    def _flush_inline(self) -> None:
        batch, self._queue = self._queue, []
        self._flushing = False
        self._settle(batch, self._commit(batch))

    async def _flush_threaded(self) -> None:
        batch: list[_Write] = []
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                self._settle(batch, await asyncio.to_thread(self._commit, batch))
                batch = []
        except BaseException as exc:  # cancelled at shutdown: nobody waits forever
            for *_, done in batch:
                if not done.done():
                    done.set_exception(exc if isinstance(exc, Exception) else RuntimeError(
                        "group commit cancelled"))  # fmt: skip
            raise
        finally:
            self._flushing = False

    def _commit(self, batch: list[_Write]) -> list[tuple[bool, Any]]:
        self.writes += len(batch)
        if len(batch) > 1:
            try:
                with self.store.connection() as conn:
                    joined = _Joined(self.store, conn)
                    results = [(True, fn(joined, *args, **kw)) for fn, args, kw, _ in batch]
                self.commits += 1
                return results
            except Exception:
                self.rollbacks += 1  # each write again, alone: its failure is its own
        outcomes: list[tuple[bool, Any]] = []
        for fn, args, kw, _ in batch:
            try:
                outcomes.append((True, fn(self.store, *args, **kw)))
            except Exception as exc:
                outcomes.append((False, exc))
            self.commits += 1
        return outcomes

    @staticmethod
    def _settle(batch: list[_Write], outcomes: list[tuple[bool, Any]]) -> None:
        for (*_, done), (ok, value) in zip(batch, outcomes, strict=True):
            if done.done():  # its task was cancelled while it waited: the record stands
                continue
            if ok:
                done.set_result(value)
            else:
                done.set_exception(value)
