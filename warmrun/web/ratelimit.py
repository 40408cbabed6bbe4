"""Rate limits: fixed windows per caller, and growing back-off after failed sign-ins.

Counters live in Redis, shared by every web process. When Redis cannot be reached the same
counters are kept in this process instead (bounded in size): a limit holds, a little looser
across several processes, but never lets everything through.

Sign-in is limited three ways: per address (all e-mails from one address), per identity (one
normalised e-mail, from any address, with a wait that doubles after each failure past the first
few) and by the fixed window of both together. The identity is the very normalisation the
account lookup uses, so ``" Alice@X.org\\x1c"`` and ``alice@x.org`` share one counter.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeAlias, cast

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisClusterException, RedisError

from warmrun.platform import accounts
from warmrun.platform.accounts import Identity
from warmrun.platform.errors import InvalidCredentials, InvalidInput, RateLimited
from warmrun.web import metrics

log = logging.getLogger("warmrun.web")
# One server or a Redis Cluster. Every counter is one key, changed by one script: atomic on
# either, and a cluster routes it by that key (no transaction spans two keys).
Client: TypeAlias = Redis | RedisCluster
# Failures that leave the counting to this process.
AWAY = (RedisError, RedisClusterException, OSError)


@dataclass(frozen=True)
class Limit:
    name: str
    count: int
    per_s: int


LOGIN = Limit("login", 10, 300)  # per address and identity
LOGIN_ADDRESS = Limit("login-ip", 30, 300)  # per address, whatever the e-mail
SIGNUP = Limit("signup", 20, 3600)  # per address
UPLOAD = Limit("upload", 60, 3600)  # per account, requests
REDEEM = Limit("redeem", 20, 600)  # per account
EXPORT = Limit("export", 5, 3600)  # per account: whole-data exports
LEDGER_EXPORT = Limit("ledger-export", 10, 3600)  # per account: a campaign's public log
PROOFS = Limit("proofs", 120, 3600)  # per address (public) or account: computed proofs


@dataclass(frozen=True)
class Backoff:
    """After ``free`` failed sign-ins an identity waits ``base_s`` seconds, doubling with each
    further failure up to ``max_s``; failures are forgotten ``forget_s`` after the last."""

    free: int = 5
    base_s: float = 2.0
    max_s: float = 900.0
    forget_s: int = 3600

    def wait_s(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        return float(min(self.max_s, self.base_s * 2 ** min(failures - self.free, 30)))


SIGN_IN = Backoff()
SIGN_IN_BACKOFF = "login-backoff"  # the name its refusals are counted under


class _Local:
    """Counters of this process, for when Redis is away (oldest forgotten past ``size``)."""

    def __init__(self, size: int = 100_000) -> None:
        self.size = size
        self.values: OrderedDict[str, tuple[float, float, float]] = OrderedDict()

    def get(self, key: str, now: float) -> tuple[float, float]:
        count, last, expires = self.values.get(key, (0.0, 0.0, 0.0))
        if expires <= now:
            self.values.pop(key, None)
            return 0.0, 0.0
        return count, last

    def add(self, key: str, now: float, ttl: float) -> float:
        count, _ = self.get(key, now)
        self.values[key] = (count + 1, now, now + ttl)
        self.values.move_to_end(key)
        while len(self.values) > self.size:
            self.values.popitem(last=False)
        return count + 1

    def clear(self, key: str) -> None:
        self.values.pop(key, None)


LOCAL = _Local()


def identity(email: str) -> str:
    """The sign-in identity of a typed e-mail: the account lookup's own normalisation (for a
    string that is no e-mail address, its lower-cased self, which matches no account)."""
    try:
        return accounts.normalise_email(email)
    except InvalidInput:
        return email.strip().lower()


def _key(*parts: str) -> str:
    # Hashed: keys stay short whatever is typed, and Redis holds no e-mail addresses.
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


# Count one and (re)arm the expiry, together: a counter never outlives its window.
_COUNT = """
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return n
"""
# One more failed sign-in at ARGV[1] (seconds), forgotten ARGV[2] seconds after the last.
_FAIL = """
redis.call('HINCRBY', KEYS[1], 'count', 1)
redis.call('HSET', KEYS[1], 'last', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 0
"""


async def check(redis: Client | None, limit: Limit, who: str) -> None:
    """Count one attempt; raise RateLimited (with Retry-After seconds) past the limit."""
    now = time.time()
    window = int(now // limit.per_s)
    key = f"wr:rl:{limit.name}:{_key(who)}:{window}"
    count: float
    try:
        if redis is None:
            raise RedisError("no Redis")
        count = await cast(Awaitable[Any], redis.eval(_COUNT, 1, key, str(limit.per_s + 5)))
    except AWAY as exc:
        if redis is not None:
            log.warning("rate limit %s counted in this process (Redis: %s)", limit.name, exc)
        count = LOCAL.add(key, now, limit.per_s)
    if int(count) > limit.count:
        metrics.count_refusal(limit.name)
        raise RateLimited(retry_after=max(1, math.ceil((window + 1) * limit.per_s - now)))


def _fail_key(ident: str) -> str:
    return f"wr:signin:{_key(ident)}"


async def sign_in_allowed(redis: Client | None, *, email: str, address: str) -> str:
    """Refuse a sign-in attempt that comes too soon; returns the identity to report back."""
    ident = identity(email)
    await check(redis, LOGIN_ADDRESS, address)
    await check(redis, LOGIN, f"{address}\x00{ident}")
    now = time.time()
    key = _fail_key(ident)
    try:
        if redis is None:
            raise RedisError("no Redis")
        raw = await redis.hmget(key, ["count", "last"])  # type: ignore[misc]
        failures, last = float(raw[0] or 0), float(raw[1] or 0)
    except AWAY:
        failures, last = LOCAL.get(key, now)
    wait = SIGN_IN.wait_s(int(failures))
    if wait and now < last + wait:
        metrics.count_refusal(SIGN_IN_BACKOFF)
        raise RateLimited(retry_after=max(1, math.ceil(last + wait - now)))
    return ident


async def sign_in_failed(redis: Client | None, ident: str) -> None:
    now = time.time()
    key = _fail_key(ident)
    LOCAL.add(key, now, SIGN_IN.forget_s)  # kept here too: Redis may go away before the next
    try:
        if redis is None:
            return
        await cast(Awaitable[Any], redis.eval(_FAIL, 1, key, str(now), str(SIGN_IN.forget_s)))
    except AWAY as exc:
        log.warning("sign-in failure counted in this process only (Redis: %s)", exc)


async def sign_in_succeeded(redis: Client | None, ident: str) -> None:
    key = _fail_key(ident)
    LOCAL.clear(key)
    try:
        if redis is not None:
            await redis.delete(key)
    except AWAY as exc:
        log.warning("sign-in failures not cleared in Redis: %s", exc)


async def guarded_sign_in(
    redis: Client | None, *, email: str, password: str, address: str
) -> Identity:
    """Check a password under the sign-in limits: too soon is RateLimited (the password is
    not even hashed), a wrong one counts against the identity, a right one clears it."""
    ident = await sign_in_allowed(redis, email=email, address=address)
    try:
        account = await accounts.authenticate(email=email, password=password)
    except InvalidCredentials:
        await sign_in_failed(redis, ident)
        raise
    await sign_in_succeeded(redis, ident)
    return account
