"""Compound-vs-compound challenges: set up, standings from the ledger, and points at the end.

Standings are computed from the contribution ledger on request (the rules are in
``challenge_rules``). Settling posts each resident's challenge points once, under
``challenge:{id}:resident:{rid}``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from warmrun.platform import audit, clock, points_ledger
from warmrun.platform.campaigns import get_campaign
from warmrun.platform.challenge_rules import TeamScore, challenge_points, team_scores
from warmrun.platform.earning import local_day
from warmrun.platform.errors import InvalidInput, NotFound
from warmrun.platform.models import (
    CampaignCity,
    Challenge,
    ChallengeTeam,
    Compound,
    Contribution,
    PointsEntry,
)
from warmrun.platform.refs import resident_of


async def create_challenge(
    *,
    campaign_id: int,
    name: str,
    compound_ids: list[int],
    starts_on: date,
    ends_on: date,
    target_m_per_household: int,
    person_cap_m: int | None = None,
    points_per_km: int = 0,
    weekly_cap_m: int = 20_000,
    decline_permille: int = 500,
) -> Challenge:
    campaign = await get_campaign(campaign_id=campaign_id)
    if len(set(compound_ids)) < 2:
        raise InvalidInput("compound_ids", "at least two compounds", "至少两个小区")
    if not (campaign.starts_on <= starts_on <= ends_on <= campaign.ends_on):
        raise InvalidInput(
            "dates", "within the campaign, start before end", "须在活动期内且开始早于结束"
        )
    if target_m_per_household <= 0 or (person_cap_m is not None and person_cap_m <= 0):
        raise InvalidInput("target", "must be positive", "须为正数")
    if not 0 <= decline_permille <= 1000 or weekly_cap_m < 0 or points_per_km < 0:
        raise InvalidInput("points", "out of range", "超出范围")
    rows = await CampaignCity.filter(campaign_id=campaign_id).values_list("city_id", flat=True)
    cities = {int(str(x)) for x in rows}
    compounds = await Compound.filter(id__in=compound_ids)
    if len(compounds) != len(set(compound_ids)) or any(c.city_id not in cities for c in compounds):
        raise InvalidInput(
            "compound_ids", "compounds of this campaign's cities", "须为本活动城市的小区"
        )
    async with in_transaction() as conn:
        challenge = await Challenge.create(
            campaign_id=campaign_id,
            name=name.strip()[:128],
            starts_on=starts_on,
            ends_on=ends_on,
            target_m_per_household=target_m_per_household,
            person_cap_m=person_cap_m,
            points_per_km=points_per_km,
            weekly_cap_m=weekly_cap_m,
            decline_permille=decline_permille,
            using_db=conn,
        )
        for cid in sorted(set(compound_ids)):
            await ChallengeTeam.create(challenge_id=challenge.id, compound_id=cid, using_db=conn)
        after = {"compounds": sorted(set(compound_ids)), "target_m": target_m_per_household}
        after |= {"starts_on": str(starts_on), "ends_on": str(ends_on)}
        await audit.record(
            conn, "challenge.create", campaign_id=campaign_id, subject=challenge.name, after=after
        )
    return challenge


async def _challenge(challenge_id: int) -> Challenge:
    c = await Challenge.get_or_none(id=challenge_id)
    if c is None:
        raise NotFound("challenge", "挑战赛")
    return c


async def _metres(c: Challenge) -> tuple[dict[int, tuple[int, int]], dict[int, dict[date, int]]]:
    """Per resident: (compound, credited metres in the period) and metres per ISO week."""
    teams = await ChallengeTeam.filter(challenge_id=c.id).values_list("compound_id", flat=True)
    rows = await Contribution.filter(
        campaign_id=c.campaign_id,
        compound_id__in=list(teams),
        local_day__gte=c.starts_on,
        local_day__lte=c.ends_on,
    ).values("resident_ref", "compound_id", "metres", "local_day")
    totals: dict[int, tuple[int, int]] = {}
    weekly: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        rid = resident_of(r["resident_ref"])
        if rid is None:
            continue
        compound, metres = totals.get(rid, (r["compound_id"], 0))
        totals[rid] = (compound, metres + r["metres"])
        day: date = r["local_day"]
        weekly[rid][day - timedelta(days=day.weekday())] += r["metres"]
    return totals, weekly


@dataclass(frozen=True)
class Standings:
    challenge: Challenge
    teams: list[TeamScore]
    names: dict[int, str]


async def standings(*, challenge_id: int) -> Standings:
    c = await _challenge(challenge_id)
    teams = await ChallengeTeam.filter(challenge_id=c.id).values_list("compound_id", flat=True)
    compounds = {x.id: x for x in await Compound.filter(id__in=list(teams))}
    totals, _ = await _metres(c)
    scores = team_scores(
        totals,
        {cid: x.households for cid, x in compounds.items()},
        person_cap_m=c.person_cap_m,
        target_m_per_household=c.target_m_per_household,
    )
    return Standings(c, scores, {cid: x.name for cid, x in compounds.items()})


async def settle(*, challenge_id: int) -> int:
    """Post every participant's challenge points once; returns the points posted now."""
    c = await _challenge(challenge_id)
    tz = (await get_campaign(campaign_id=c.campaign_id)).timezone
    if local_day(clock.now(), tz) <= c.ends_on:
        raise InvalidInput("challenge", "it has not ended yet", "挑战赛尚未结束")
    _, weekly = await _metres(c)
    posted = 0
    for rid, weeks in sorted(weekly.items()):
        pts = challenge_points(
            weeks.values(),
            points_per_km=c.points_per_km,
            weekly_cap_m=c.weekly_cap_m,
            decline_permille=c.decline_permille,
        )
        key = f"challenge:{c.id}:resident:{rid}"
        if pts <= 0 or await PointsEntry.filter(idempotency_key=key).exists():
            continue
        try:
            async with in_transaction() as conn:
                await points_ledger.post(
                    conn,
                    resident_id=rid,
                    delta=pts,
                    reason="challenge",
                    key=key,
                    ref=f"challenge{c.id}",
                )
        except IntegrityError:
            continue  # posted by a concurrent settlement
        posted += pts
    async with in_transaction() as conn:
        first = (
            await Challenge.filter(id=c.id, settled_at=None)
            .using_db(conn)
            .update(settled_at=clock.now())
        )
        if first or posted:
            await audit.record(
                conn,
                "challenge.settle",
                campaign_id=c.campaign_id,
                subject=c.name,
                after={"points_posted": posted},
            )
    return posted
