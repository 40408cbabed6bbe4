"""Bulk Redis traffic on one dedicated connection, with commands packed by hand.

redis-py packs every argument through several Python calls; loading or updating hundreds of
thousands of board members spends most of its time there. Our arguments are ASCII key names,
ids and integers, so a whole command packs with one f-string join.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode
from redis.exceptions import ResponseError


def pack(args: Iterable[Any]) -> bytes:
    """One command in RESP, from ASCII strings and integers."""
    items = [a if isinstance(a, str) else str(a) for a in args]
    text = f"*{len(items)}\r\n" + "".join([f"${len(a)}\r\n{a}\r\n" for a in items])
    data = text.encode()
    if len(data) != len(text):  # a non-ASCII argument: lengths must count bytes
        parts = [b"*%d\r\n" % len(items)]
        for a in items:
            raw = a.encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
        data = b"".join(parts)
    return data


def bulk(items: list[str]) -> str:
    """ASCII arguments as RESP bulk strings, to follow a :func:`command` header."""
    text = "".join([f"${len(a)}\r\n{a}\r\n" for a in items])
    if not text.isascii():
        raise ValueError("bulk() packs ASCII arguments only")
    return text


def command(name: str, key: str, args: str, count: int) -> bytes:
    """``name key`` followed by ``count`` arguments already packed by :func:`bulk`."""
    return f"*{count + 2}\r\n${len(name)}\r\n{name}\r\n${len(key)}\r\n{key}\r\n{args}".encode()


_POW10 = 10 ** np.arange(19, dtype=np.int64)
# "$<digits>\r\n" for every possible digit count of an int64, padded to 5 bytes, with a mask.
_HEADS = np.zeros((20, 5), dtype=np.uint8)
_HEAD_MASK = np.zeros((20, 5), dtype=bool)
for _n in range(1, 20):
    _h = f"${_n}\r\n".encode()
    _HEADS[_n, : len(_h)] = np.frombuffer(_h, dtype=np.uint8)
    _HEAD_MASK[_n, : len(_h)] = True


def _bulk_matrix(x: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.bool_]]:
    """Non-negative integers as RESP bulk strings: one row of bytes each, and which bytes of
    the row are used (numbers of different widths share the same columns)."""
    digits = np.ones(x.size, dtype=np.int64)
    for k in range(1, 19):
        digits += x >= _POW10[k]
    width = int(digits.max(initial=1))
    rows = np.zeros((x.size, 5 + width + 2), dtype=np.uint8)
    used = np.zeros(rows.shape, dtype=bool)
    rows[:, :5] = _HEADS[digits]
    used[:, :5] = _HEAD_MASK[digits]
    # Digits right-aligned, the unused columns before them masked out: the bytes read in row
    # order still spell the number.
    rest = x.copy()
    for j in range(width):  # the j-th digit from the right
        col = 5 + width - 1 - j
        rest, digit = np.divmod(rest, 10)
        rows[:, col] = digit + 48
        used[:, col] = j < digits
    rows[:, -2:] = (13, 10)
    used[:, -2:] = True
    return rows, used


def int_pairs(command: str, key: str, a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]) -> bytes:
    """``command key a1 b1 a2 b2 ...`` for arrays of non-negative integers, packed by numpy:
    loading a million board members costs tens of milliseconds instead of seconds."""
    if a.size != b.size or (a.size and (a.min() < 0 or b.min() < 0)):
        raise ValueError("int_pairs() packs pairs of non-negative integers")
    ra, ua = _bulk_matrix(a)
    rb, ub = _bulk_matrix(b)
    body: npt.NDArray[np.uint8] = np.concatenate([ra, rb], axis=1)[np.concatenate([ua, ub], axis=1)]
    head = f"*{2 + 2 * a.size}\r\n${len(command)}\r\n{command}\r\n${len(key)}\r\n{key}\r\n"
    return head.encode() + bytes(body.tobytes())


class Channel:
    """A connection for a run of pipelined commands: taken from a client's pool, or, for a
    Redis Cluster node (``servers.py``), one of its own with the cluster's connection settings,
    closed when released.

    ``send`` queues packed commands, ``replies`` reads them back in order. Every reply is read
    before an error is raised, so the connection stays in step; one given back mid-stream (an
    exception between the two) is closed first.
    """

    def __init__(self, server: Redis | ClusterNode) -> None:
        self.server = server
        self.conn: Any = None
        self.unread = 0

    async def send(self, commands: list[bytes]) -> None:
        if self.conn is None:
            if isinstance(self.server, Redis):
                self.conn = await cast(Any, self.server.connection_pool).get_connection()
            else:
                self.conn = self.server.connection_class(**self.server.connection_kwargs)
        if commands:
            await self.conn.send_packed_command(commands, check_health=False)
            self.unread += len(commands)

    async def replies(self, count: int | None = None) -> list[Any]:
        """Read ``count`` replies (all outstanding ones by default)."""
        n = self.unread if count is None else count
        out: list[Any] = []
        error: Exception | None = None
        for _ in range(n):
            try:
                out.append(await self.conn.read_response())
            except ResponseError as exc:
                out.append(exc)
                error = error or exc
            self.unread -= 1
        if error is not None:
            raise error
        return out

    async def release(self, *, broken: bool = False) -> None:
        """Give the connection back; one left mid-stream, or in an unknown state (``broken``:
        an error came between WATCH and EXEC), is closed first."""
        if self.conn is None:
            return
        if isinstance(self.server, Redis):
            if self.unread or broken:
                await self.conn.disconnect()
            await self.server.connection_pool.release(self.conn)
        else:
            await self.conn.disconnect()
        self.unread = 0
        self.conn = None
