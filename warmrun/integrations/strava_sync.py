"""Strava as a source of runs: connect an athlete, turn activities into runs, follow deletions
and deauthorization.

Webhook events are not signed, so their content is never trusted: an event only says *which*
activity or athlete to look at. A create or update re-fetches the activity and its streams with
the athlete's own token; a delete counts only when Strava no longer returns the activity; a
deauthorization counts only when Strava refuses the athlete's refresh token.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis
from tortoise.transactions import in_transaction

from warmrun.config import Settings, StravaSettings
from warmrun.integrations.readers.strava import SPORTS, strava_record
from warmrun.integrations.strava_api import (
    SCOPE,
    StravaApi,
    StravaFailure,
    StravaNotFound,
    StravaRateLimited,
    StravaUnauthorized,
    TokenBox,
    Tokens,
)
from warmrun.platform import clock, ingest, runs
from warmrun.platform.errors import DuplicateRun, InvalidInput, InvalidTrack, NotFound
from warmrun.platform.models import Run, StravaAccount, StravaActivity
from warmrun.platform.uploads import Parser, Upload

STRAVA = "strava"

log = logging.getLogger("warmrun.strava")

EBIKES = frozenset({"EBikeRide", "EMountainBikeRide"})


@dataclass
class Strava:
    """What the sync needs: the API, the token box, Redis (rate limits and refresh locks)."""

    cfg: StravaSettings
    api: StravaApi
    box: TokenBox
    redis: Redis | None
    parser: Parser

    @classmethod
    def open(cls, settings: Settings, redis: Redis | None, parser: Parser) -> Strava:
        if settings.strava is None:
            raise ValueError("Strava is not configured")
        cfg = settings.strava
        return cls(
            cfg=cfg,
            api=StravaApi(cfg, redis=redis),
            box=TokenBox(cfg.token_keys, str(settings.secret_key)),
            redis=redis,
            parser=parser,
        )

    async def aclose(self) -> None:
        await self.api.aclose()


# --- connecting ----------------------------------------------------------------------------------


def granted(scope: str | None) -> bool:
    """Whether the scopes the athlete actually granted (the callback's ``scope``) suffice."""
    return SCOPE in {s.strip() for s in (scope or "").split(",")}


async def connect(s: Strava, *, resident_id: int, code: str, scope: str | None) -> StravaAccount:
    """Finish the OAuth flow: check the granted scope, exchange the code, store the tokens."""
    if not granted(scope):
        raise InvalidInput(
            "scope",
            "warmrun needs to read all your activities (activity:read_all)",
            "需要授权读取您的全部运动记录（activity:read_all）",
        )
    tokens = await s.api.exchange_code(code)
    if tokens.athlete_id is None:
        raise InvalidInput("code", "Strava did not name the athlete", "Strava 未返回运动员信息")
    taken = await StravaAccount.get_or_none(athlete_id=tokens.athlete_id)
    if taken is not None and taken.resident_id != resident_id:
        raise InvalidInput(
            "athlete",
            "this Strava account is connected to another resident",
            "该 Strava 账户已绑定其他居民",
        )
    now = clock.now()
    account, _ = await StravaAccount.update_or_create(
        resident_id=resident_id,
        defaults={
            "athlete_id": tokens.athlete_id,
            "scope": str(scope)[:255],
            "access_token": s.box.seal(tokens.access_token),
            "refresh_token": s.box.seal(tokens.refresh_token),
            "expires_at": tokens.expires_at,
            "connected_at": now,
        },
    )
    return account


async def access_token(s: Strava, account_id: int, *, force: bool = False) -> str:
    """A valid access token, refreshed (one refresh at a time per athlete) when it is about
    to expire. Strava rotates refresh tokens: the new one is stored every time."""
    account = await StravaAccount.get_or_none(id=account_id)
    if account is None:
        raise StravaUnauthorized("not connected")
    margin = timedelta(seconds=s.cfg.refresh_margin_s)
    if not force and account.expires_at - clock.now() > margin:
        return s.box.open(account.access_token)
    if s.redis is None:
        return await _refresh(s, account)
    async with s.redis.lock(
        f"wr:strava:refresh:{account.athlete_id}", timeout=60, blocking_timeout=60
    ):
        fresh = await StravaAccount.get_or_none(id=account_id)
        if fresh is None:
            raise StravaUnauthorized("not connected")
        if fresh.token_version != account.token_version or (
            not force and fresh.expires_at - clock.now() > margin
        ):
            return s.box.open(fresh.access_token)  # refreshed by someone else meanwhile
        return await _refresh(s, fresh)


async def _refresh(s: Strava, account: StravaAccount) -> str:
    tokens: Tokens = await s.api.refresh(s.box.open(account.refresh_token))
    stored = await StravaAccount.filter(id=account.id, token_version=account.token_version).update(
        access_token=s.box.seal(tokens.access_token),
        refresh_token=s.box.seal(tokens.refresh_token),
        expires_at=tokens.expires_at,
        token_version=account.token_version + 1,
    )
    if not stored:
        raise StravaUnauthorized("the tokens changed during the refresh")
    return tokens.access_token


async def disconnect(s: Strava, *, resident_id: int) -> None:
    """The resident disconnects: revoke at Strava (best effort), then forget everything."""
    account = await StravaAccount.get_or_none(resident_id=resident_id)
    if account is None:
        raise NotFound("Strava connection", "Strava 绑定")
    try:
        await s.api.deauthorize(await access_token(s, account.id))
    except (StravaUnauthorized, StravaFailure, StravaRateLimited) as exc:
        # Revoking is a courtesy to the athlete; forgetting the tokens is what matters.
        log.info("strava deauthorize for athlete %s failed: %s", account.athlete_id, exc)
    await forget(account)


async def forget(account: StravaAccount) -> int:
    """Delete the athlete's tokens and the Strava-sourced tracks. The runs' figures and the
    credit they earned stay in the ledgers; returns how many tracks were deleted."""
    ids = await Run.filter(resident_id=account.resident_id, source="strava").values_list(
        "id", flat=True
    )
    run_ids = [int(str(i)) for i in ids]
    await runs.drop_tracks(run_ids=run_ids)
    async with in_transaction() as conn:
        await StravaActivity.filter(resident_id=account.resident_id).using_db(conn).delete()
        await StravaAccount.filter(id=account.id).using_db(conn).delete()
    return len(run_ids)


# --- activities ----------------------------------------------------------------------------------


def ineligible(activity: dict[str, Any]) -> str | None:
    """Why an activity earns no credit, or None."""
    sport = str(activity.get("sport_type") or activity.get("type") or "")
    if activity.get("manual"):
        return "strava_manual"
    if activity.get("trainer"):
        return "strava_trainer"
    if activity.get("flagged"):
        return "strava_flagged"
    if sport in EBIKES:
        return "strava_ebike"
    if sport not in SPORTS:
        return "strava_sport"
    return None


async def _note(
    activity_id: int, account: StravaAccount, status: str, *, run_id: int | None, reason: str = ""
) -> None:
    await StravaActivity.update_or_create(
        id=activity_id,
        defaults={
            "athlete_id": account.athlete_id,
            "resident_id": account.resident_id,
            "run_id": run_id,
            "status": status,
            "reason": reason[:64],
            "updated_at": clock.now(),
        },
    )


async def sync_activity(s: Strava, *, athlete_id: int, activity_id: int) -> str:
    """A create or update event: fetch the activity and bring our run in line with it."""
    account = await StravaAccount.get_or_none(athlete_id=athlete_id)
    if account is None:
        return "not_connected"
    token = await access_token(s, account.id)
    try:
        activity = await s.api.activity(token, activity_id)
    except StravaNotFound:
        return await remove_activity(s, athlete_id=athlete_id, activity_id=activity_id, token=token)
    owner = activity.get("athlete") or {}
    if not isinstance(owner, dict) or owner.get("id") != athlete_id:
        return "not_the_athletes"
    known = await StravaActivity.get_or_none(id=activity_id)
    reason = ineligible(activity)
    if reason is not None:
        if known is not None and known.run_id is not None and known.status == "imported":
            await runs.withdraw(run_id=known.run_id, drop_track=False)
        await _note(
            activity_id,
            account,
            "ineligible",
            run_id=known.run_id if known else None,
            reason=reason,
        )
        return "ineligible"
    if known is not None and known.status in ("imported", "duplicate"):
        return "unchanged"
    streams = await s.api.streams(token, activity_id)
    return await _import(s, account, activity_id, activity, streams)


async def _import(
    s: Strava,
    account: StravaAccount,
    activity_id: int,
    activity: dict[str, Any],
    streams: dict[str, Any],
) -> str:
    upload = Upload(
        name=f"strava-{activity_id}.json", data=strava_record(activity, streams), format=STRAVA
    )
    (item,) = await ingest.import_uploads(
        parser=s.parser,
        resident_id=account.resident_id,
        uploads=[upload],
        source="strava",
        draw_line=True,
    )
    if isinstance(item.error, DuplicateRun):
        await _note(activity_id, account, "duplicate", run_id=int(item.error.params["run_id"]))
        return "duplicate"
    if item.error is not None or item.outcome is None:
        code = item.error.code if item.error is not None else InvalidTrack.code
        await _note(activity_id, account, "invalid", run_id=None, reason=code)
        return "invalid"
    await _note(activity_id, account, "imported", run_id=item.outcome.run.id)
    return "imported"


async def remove_activity(
    s: Strava, *, athlete_id: int, activity_id: int, token: str | None = None
) -> str:
    """A delete event: counts only when Strava no longer has the activity."""
    account = await StravaAccount.get_or_none(athlete_id=athlete_id)
    if account is None:
        return "not_connected"
    token = token or await access_token(s, account.id)
    try:
        await s.api.activity(token, activity_id)
    except StravaNotFound:
        pass
    else:
        return "still_there"
    known = await StravaActivity.get_or_none(id=activity_id, resident_id=account.resident_id)
    if known is None:
        return "unknown"
    if known.run_id is not None and known.status == "imported":
        await runs.withdraw(run_id=known.run_id, drop_track=True)
    await _note(activity_id, account, "deleted", run_id=known.run_id)
    return "deleted"


async def deauthorized(s: Strava, *, athlete_id: int) -> str:
    """A deauthorization event: counts only when Strava refuses the athlete's token."""
    account = await StravaAccount.get_or_none(athlete_id=athlete_id)
    if account is None:
        return "not_connected"
    try:
        await access_token(s, account.id, force=True)
    except StravaUnauthorized:
        await forget(account)
        return "forgotten"
    return "still_authorized"
