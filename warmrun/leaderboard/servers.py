"""Which Redis server holds a campaign's keys, for the work that must run on that one server.

On a single server that is the server. On a Redis Cluster every key of a campaign carries the
campaign's hash tag (``keys.py``), so all of them live in one slot, on the primary that owns
it. The relay's optimistic transaction (WATCH/MULTI/EXEC), the rebuild's bulk load, SCAN and
swap run there, on a connection of their own (``resp.Channel``):
redis-py's cluster client (5.x) runs no transactions, and a transaction's keys must all be on
the server that runs it. Everything else (board reads, the relay's lock and stamps) goes through
the cluster client, which routes each command by its key and follows MOVED and ASK itself.

A slot can move while a transaction is under way (resharding, a failover). Its old primary then
answers MOVED (the slot has gone), ASK or TRYAGAIN (it is on its way); inside MULTI that aborts
the whole EXEC, so nothing is half-applied. :data:`SLOT_MOVED` names these replies; callers read
the slot map again (:func:`refresh`) and retry on the new owner, or leave the work for their
next round while the migration lasts.
"""

from __future__ import annotations

import contextlib
from typing import TypeAlias

from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.exceptions import (
    AskError,
    ClusterDownError,
    RedisClusterException,
    RedisError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# Either client the app may hold: one server, or a cluster.
Client: TypeAlias = Redis | RedisCluster
# A slot is somewhere else, on its way, or its owner is down (MovedError is an AskError).
SLOT_MOVED = (AskError, TryAgainError, ClusterDownError)
# A server that does not answer (on a cluster, perhaps a primary that failed over).
UNREACHABLE = (RedisConnectionError, RedisTimeoutError)


async def server_of(redis: Client, key: str) -> Redis | ClusterNode:
    """The server holding ``key``: ``redis`` itself, or the cluster primary that owns the
    key's slot in the client's slot map."""
    if isinstance(redis, Redis):
        return redis
    await redis.initialize()  # a no-op once the slot map is known
    node: ClusterNode | None = redis.get_node_from_key(key)
    if node is None:  # pragma: no cover - None only when asked for a replica
        raise RuntimeError(f"no primary for {key}")
    return node


def name(server: Redis | ClusterNode) -> str:
    """A name that tells servers apart, to keep one channel per server."""
    return server.name if isinstance(server, ClusterNode) else f"redis@{id(server)}"


async def refresh(redis: Client) -> None:
    """Read the cluster's slot map again after a slot moved (nothing to do on one server)."""
    if isinstance(redis, RedisCluster):
        await redis.nodes_manager.initialize()


async def refresh_after_failure(redis: Client) -> None:
    """After a node did not answer: read the slot map again if the cluster can be reached, so
    that the next round goes to the slot's owner after a failover. The cluster client does so
    for its own commands; the connections of a ``Channel`` are not its own."""
    with contextlib.suppress(RedisError, RedisClusterException, OSError):
        await refresh(redis)
