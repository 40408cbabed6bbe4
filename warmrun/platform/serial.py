"""Writers that must not overlap, serialised on names ("resident:7", "recording:<sha256>").

An upload decides "duplicate?", "overlapping?", "someone else's track?" from rows it reads;
two uploads deciding at once would each miss the other. Holding the names of what they decide
about makes the second wait until the first has committed, then read what it wrote:
- within a process, an asyncio lock per name (SQLite runs in one process, and the lock keeps
  PostgreSQL connections from queueing on the database for nothing);
- across processes, on PostgreSQL, a transaction-scoped advisory lock per name, released
  by the commit or rollback.
Names are always taken in sorted order, so two writers never wait on each other in a cycle.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager

from tortoise.backends.base.client import BaseDBAsyncClient

from warmrun.platform import sql

# name -> (lock, holders and waiters). An entry lives only while someone uses it, so no lock
# outlives the event loop it was used on.
_LOCKS: dict[str, tuple[asyncio.Lock, int]] = {}


@asynccontextmanager
async def _one(name: str) -> AsyncIterator[None]:
    lock, users = _LOCKS.get(name, (None, 0))
    if lock is None:
        lock = asyncio.Lock()
    _LOCKS[name] = (lock, users + 1)
    try:
        async with lock:
            yield
    finally:
        lock, users = _LOCKS[name]
        if users <= 1:
            del _LOCKS[name]
        else:
            _LOCKS[name] = (lock, users - 1)


@asynccontextmanager
async def held(names: Iterable[str]) -> AsyncIterator[list[str]]:
    """Hold every name (in this process) for the block; yields them sorted."""
    ordered = sorted(set(names))
    async with AsyncExitStack() as stack:
        for name in ordered:
            await stack.enter_async_context(_one(name))
        yield ordered


async def lock_in_database(conn: BaseDBAsyncClient, names: list[str]) -> None:
    """Inside ``conn``'s transaction: PostgreSQL advisory locks on ``names`` (sorted), held to
    its end. SQLite needs none: one process, and :func:`held` already serialises it."""
    if not sql.is_postgres(conn):
        return
    for name in sorted(names):
        await sql.execute(conn, "SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", name)
