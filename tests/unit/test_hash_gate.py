"""Password hashing runs behind a gate: a burst of sign-ins never hashes more than two at once."""

from __future__ import annotations

import asyncio
import threading

from warmrun.platform import accounts


async def test_a_burst_of_hashes_uses_two_threads_at_most() -> None:
    seen: set[str] = set()
    before = set(threading.enumerate())
    hashes = await asyncio.gather(*(accounts.hash_password(f"password-{i}") for i in range(8)))
    seen = {
        t.name for t in set(threading.enumerate()) - before if t.name.startswith("warmrun-hash")
    }
    assert len(set(hashes)) == 8
    assert len(seen) <= 2
    assert len(accounts._HASHING._threads) <= 2
