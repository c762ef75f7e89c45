"""Group commit: concurrent phase records share one commit, each waits for its own, and one
failing write never undoes the others."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import text

from billing.engine.group_commit import GroupCommit
from billing.errors import InvalidTransition
from billing.store import hot
from billing.store.db import Store

NOW = datetime(2027, 1, 1, tzinfo=UTC)


def write(store: Store, n: int, *, fail: bool = False) -> int:
    with store.connection() as conn:
        hot.event(conn, now=NOW, entity="test", entity_id=n, type="record")
        if fail:
            raise InvalidTransition("attempt", "(current)", "confirm_sent")
    return n


def committed(store: Store) -> list[int]:
    with store.engine.connect() as conn:  # a connection of its own: sees only what is committed
        rows = conn.execute(
            text("SELECT entity_id FROM event WHERE entity = 'test' ORDER BY entity_id")
        )
        return [r[0] for r in rows]


def group_for(store: Store) -> GroupCommit:
    return GroupCommit(store, inline=store.dialect == "sqlite")


def test_concurrent_records_share_one_commit_and_each_is_committed_when_it_returns(
    store: Store,
) -> None:
    group = group_for(store)
    seen: dict[int, list[int]] = {}

    async def one(n: int) -> None:
        assert await group.run(write, n) == n
        seen[n] = committed(store)  # its own record is committed once it may send

    async def main() -> None:
        await asyncio.gather(*(one(n) for n in range(5)))

    asyncio.run(main())
    assert committed(store) == [0, 1, 2, 3, 4]
    assert all(n in rows for n, rows in seen.items())
    assert (group.writes, group.commits, group.rollbacks) == (5, 1, 0)


def test_a_failing_write_is_its_own_and_the_others_commit(store: Store) -> None:
    group = group_for(store)

    async def main() -> list[int | BaseException]:
        return await asyncio.gather(
            group.run(write, 1), group.run(write, 2, fail=True), group.run(write, 3),
            return_exceptions=True,
        )  # fmt: skip

    one, two, three = asyncio.run(main())
    assert (one, three) == (1, 3)
    assert isinstance(two, InvalidTransition)
    assert committed(store) == [1, 3]  # the failed write's own record was rolled back
    assert group.rollbacks == 1


def test_records_queued_while_a_group_commits_go_in_the_next(store: Store) -> None:
    group = group_for(store)

    async def main() -> None:
        await group.run(write, 1)
        await asyncio.gather(*(group.run(write, n) for n in (2, 3, 4)))

    asyncio.run(main())
    assert committed(store) == [1, 2, 3, 4]
    assert (group.writes, group.commits) == (4, 2)
