"""Fixed-window rate limits with counters in Redis.

Redis being away must not lock residents out, so a failed counter lets the request through.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from warmrun.platform.errors import RateLimited

log = logging.getLogger("warmrun.web")


@dataclass(frozen=True)
class Limit:
    name: str
    count: int
    per_s: int


LOGIN = Limit("login", 10, 300)  # per address and e-mail
SIGNUP = Limit("signup", 20, 3600)  # per address
UPLOAD = Limit("upload", 60, 3600)  # per account, requests
REDEEM = Limit("redeem", 20, 600)  # per account


async def check(redis: Redis | None, limit: Limit, who: str) -> None:
    """Count one attempt; raise RateLimited (with Retry-After seconds) past the limit."""
    if redis is None:
        return
    now = time.time()
    window = int(now // limit.per_s)
    key = f"wr:rl:{limit.name}:{who}:{window}"
    try:
        pipe = redis.pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, limit.per_s + 5)
        count, _ = await pipe.execute()
    except (RedisError, OSError) as exc:
        log.warning("rate limit %s not counted (Redis unavailable): %s", limit.name, exc)
        return
    if int(count) > limit.count:
        retry = max(1, math.ceil((window + 1) * limit.per_s - now))
        raise RateLimited(retry_after=retry)
