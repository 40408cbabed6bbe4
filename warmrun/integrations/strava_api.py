"""The Strava API as warmrun uses it: OAuth tokens, one activity and its streams, rate limits.

Strava counts requests per application in 15-minute windows aligned to the quarter hour and per
UTC day, and reports the counts on every response (``X-RateLimit-*`` for all requests,
``X-ReadRateLimit-*`` for reads). The counts are kept in Redis, shared by every worker: a call is
not made when a window is nearly used up, and a 429 closes the window until the next quarter
hour (or the next UTC day when the daily allowance is spent).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from redis.asyncio import Redis

from warmrun.config import StravaSettings
from warmrun.platform import clock

RATE_KEY = "wr:strava:rate"
SCOPE = "activity:read_all"


class StravaFailure(Exception):
    """Strava could not answer now (5xx, network); the job is retried later."""


class StravaUnauthorized(Exception):
    """The athlete's tokens are refused: access was revoked, or a token is wrong."""


class StravaNotFound(Exception):
    """No such activity (deleted, or not the athlete's)."""


class StravaRateLimited(Exception):
    def __init__(self, retry_at: datetime) -> None:
        super().__init__(f"rate limited until {retry_at.isoformat()}")
        self.retry_at = retry_at


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_at: datetime
    athlete_id: int | None = None
    athlete_name: str = ""


class TokenBox:
    """Seals tokens for storage. Keys are Fernet keys, newest first; without configured keys
    one is derived from the site's secret key."""

    def __init__(self, keys: tuple[str, ...], secret_key: str) -> None:
        if not keys:
            digest = hashlib.sha256(b"warmrun strava tokens\x00" + secret_key.encode()).digest()
            keys = (base64.urlsafe_b64encode(digest).decode(),)
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])

    def seal(self, token: str) -> str:
        return self._fernet.encrypt(token.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise StravaUnauthorized(
                "stored token does not decrypt with the configured keys"
            ) from exc


def next_quarter_hour(now: datetime) -> datetime:
    now = now.astimezone(UTC)
    base = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    return base + timedelta(minutes=15)


def next_utc_day(now: datetime) -> datetime:
    now = now.astimezone(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


def _pair(value: str | None) -> tuple[int, int] | None:
    if not value:
        return None
    try:
        a, b = (int(x.strip()) for x in value.split(",")[:2])
    except ValueError:
        return None
    return a, b


class RateGate:
    """The application's Strava allowance, shared through Redis."""

    def __init__(self, redis: Redis | None, margin: int) -> None:
        self.redis = redis
        self.margin = margin

    @staticmethod
    def _windows(now: datetime) -> tuple[str, str]:
        now = now.astimezone(UTC)
        quarter = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
        return quarter.isoformat(), now.date().isoformat()

    async def wait_until(self, *, read: bool) -> datetime | None:
        """When the next call may be made, if not now."""
        if self.redis is None:
            return None
        now = clock.now()
        quarter, day = self._windows(now)
        raw = await cast(Awaitable[dict[bytes, bytes]], self.redis.hgetall(RATE_KEY))
        state = {k.decode(): v.decode() for k, v in raw.items()}
        waits: list[datetime] = []
        for kind in ("all", "read") if read else ("all",):
            for window, current, used, limit, reopens in (
                ("quarter", quarter, "used15", "limit15", next_quarter_hour(now)),
                ("day", day, "usedday", "limitday", next_utc_day(now)),
            ):
                if state.get(f"{kind}:{window}") != current:
                    continue
                if int(state[f"{kind}:{used}"]) >= int(state[f"{kind}:{limit}"]) - self.margin:
                    waits.append(reopens)
        return max(waits, default=None)

    async def record(self, headers: httpx.Headers, *, exhausted: bool = False) -> None:
        if self.redis is None:
            return
        quarter, day = self._windows(clock.now())
        mapping: dict[str, str] = {}
        for kind, prefix in (("all", "x-ratelimit"), ("read", "x-readratelimit")):
            limit, usage = (
                _pair(headers.get(f"{prefix}-limit")),
                _pair(headers.get(f"{prefix}-usage")),
            )
            if limit is None or usage is None:
                continue
            # A 429 closes the 15-minute window whatever its count said.
            used15 = max(usage[0], limit[0]) if exhausted else usage[0]
            mapping.update(
                {
                    f"{kind}:quarter": quarter,
                    f"{kind}:used15": str(used15),
                    f"{kind}:limit15": str(limit[0]),
                    f"{kind}:day": day,
                    f"{kind}:usedday": str(usage[1]),
                    f"{kind}:limitday": str(limit[1]),
                }
            )
        if mapping:
            await cast(Awaitable[int], self.redis.hset(RATE_KEY, mapping=mapping))
            await self.redis.expire(RATE_KEY, 2 * 24 * 3600)


class StravaApi:
    def __init__(self, cfg: StravaSettings, *, redis: Redis | None) -> None:
        self.cfg = cfg
        self.gate = RateGate(redis, cfg.rate_margin)
        self._http = httpx.AsyncClient(timeout=cfg.timeout_s)

    async def aclose(self) -> None:
        await self._http.aclose()

    def authorize_url(self, *, redirect_uri: str, state: str) -> str:
        query = httpx.QueryParams(
            {
                "client_id": self.cfg.client_id,
                "redirect_uri": redirect_uri,
                "response_type": "code",
                "approval_prompt": "auto",
                "scope": SCOPE,
                "state": state,
            }
        )
        return f"{self.cfg.oauth_base}/authorize?{query}"

    async def exchange_code(self, code: str) -> Tokens:
        return await self._token({"grant_type": "authorization_code", "code": code})

    async def refresh(self, refresh_token: str) -> Tokens:
        return await self._token({"grant_type": "refresh_token", "refresh_token": refresh_token})

    async def deauthorize(self, access_token: str) -> None:
        try:
            await self._call("POST", f"{self.cfg.oauth_base}/deauthorize", token=access_token)
        except (StravaUnauthorized, StravaNotFound):
            pass  # already revoked

    async def activity(self, access_token: str, activity_id: int) -> dict[str, Any]:
        data = await self._call(
            "GET", f"{self.cfg.api_base}/activities/{activity_id}", token=access_token
        )
        if not isinstance(data, dict):
            raise StravaFailure("activity is not an object")
        return data

    async def streams(self, access_token: str, activity_id: int) -> dict[str, Any]:
        data = await self._call(
            "GET",
            f"{self.cfg.api_base}/activities/{activity_id}/streams",
            token=access_token,
            params={"keys": "latlng,time,altitude,heartrate", "key_by_type": "true"},
        )
        if not isinstance(data, dict):
            raise StravaFailure("streams are not keyed by type")
        return data

    async def _token(self, form: dict[str, str]) -> Tokens:
        body = {
            "client_id": self.cfg.client_id,
            "client_secret": str(self.cfg.client_secret),
            **form,
        }
        data = await self._call("POST", f"{self.cfg.oauth_base}/token", form=body)
        try:
            athlete = data.get("athlete") or {}
            return Tokens(
                access_token=str(data["access_token"]),
                refresh_token=str(data["refresh_token"]),
                expires_at=datetime.fromtimestamp(int(data["expires_at"]), UTC),
                athlete_id=int(athlete["id"]) if "id" in athlete else None,
                athlete_name=" ".join(
                    str(athlete.get(k) or "") for k in ("firstname", "lastname")
                ).strip(),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StravaFailure("unexpected token response") from exc

    async def _call(
        self,
        method: str,
        url: str,
        *,
        token: str | None = None,
        params: dict[str, str] | None = None,
        form: dict[str, str] | None = None,
    ) -> Any:
        read = method == "GET"
        wait = await self.gate.wait_until(read=read)
        if wait is not None:
            raise StravaRateLimited(wait)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            r = await self._http.request(method, url, headers=headers, params=params, data=form)
        except httpx.HTTPError as exc:
            raise StravaFailure(f"{method} {url}: {exc!r}") from exc
        await self.gate.record(r.headers, exhausted=r.status_code == 429)
        if r.status_code == 429:
            raise StravaRateLimited(
                await self.gate.wait_until(read=read) or next_quarter_hour(clock.now())
            )
        if r.status_code in (400, 401, 403) and (token is not None or form is not None):
            raise StravaUnauthorized(f"{method} {url}: {r.status_code}")
        if r.status_code == 404:
            raise StravaNotFound(url)
        if r.status_code >= 300:
            raise StravaFailure(f"{method} {url}: {r.status_code}")
        try:
            return r.json()
        except ValueError as exc:
            raise StravaFailure("response is not JSON") from exc
