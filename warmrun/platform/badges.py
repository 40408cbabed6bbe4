"""Badges: awarded when a resident's record earns them, revoked when it no longer does.

``refresh`` recomputes a resident's facts from the ledgers and brings the awards in line: a
badge is awarded once (a unique award row per round, points posted under a key naming that
round, so awarding twice never doubles points) and revoked when the run behind it is reversed
(its points are taken back, as far as they are unspent).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from warmrun.platform import audit, clock, notices, points_ledger, sql
from warmrun.platform.badge_rules import KINDS, Facts, Rule, RunFact, earned
from warmrun.platform.errors import InvalidInput
from warmrun.platform.models import (
    Badge,
    BadgeAward,
    Campaign,
    CampaignCity,
    CampaignState,
    CheckIn,
    Contribution,
    EventStation,
    Resident,
    Run,
)
from warmrun.platform.refs import resident_ref

DEFAULTS: list[tuple[str, str, str, str, int, int]] = [
    # code, zh, en, kind, threshold, points
    ("first-run", "第一步", "First run", "first_run", 1, 10),
    ("10k", "十公里", "10 km", "distance_km", 10, 20),
    ("100k", "百公里", "100 km", "distance_km", 100, 50),
    ("500k", "五百公里", "500 km", "distance_km", 500, 100),
    ("check-in", "到场", "First check-in", "first_check_in", 1, 5),
    ("all-stations", "全站打卡", "Every station", "all_stations", 1, 20),
    ("four-cities", "四城跑者", "Runner of every city", "all_cities", 1, 50),
    ("family", "亲子同跑", "Family run", "family_run", 1, 10),
    ("early-bird", "早起鸟", "Early bird", "early_bird", 7, 5),
    ("streak-4", "四周不停", "Four weeks running", "streak_weeks", 4, 20),
]


async def add_badge(
    *,
    campaign_id: int,
    code: str,
    name_zh: str,
    name_en: str,
    kind: str,
    threshold: int = 1,
    points: int = 0,
) -> Badge:
    if kind not in KINDS:
        raise InvalidInput("kind", f"one of {', '.join(KINDS)}", "未知的徽章规则")
    if threshold < 0 or points < 0:
        raise InvalidInput("threshold", "must not be negative", "不能为负数")
    terms = {"kind": kind, "threshold": threshold, "points": points}
    async with in_transaction() as conn:
        old = await Badge.filter(campaign_id=campaign_id, code=code).using_db(conn).first()
        badge, _ = await Badge.update_or_create(
            campaign_id=campaign_id,
            code=code,
            defaults={"name_zh": name_zh, "name_en": name_en, **terms},
            using_db=conn,
        )
        before = old and {"kind": old.kind, "threshold": old.threshold, "points": old.points}
        if before != terms:
            await audit.record(
                conn,
                "badge.create",
                campaign_id=campaign_id,
                subject=code,
                before=before,
                after=terms,
            )
    return badge


async def install_defaults(*, campaign_id: int) -> list[Badge]:
    return [
        await add_badge(
            campaign_id=campaign_id,
            code=code,
            name_zh=zh,
            name_en=en,
            kind=kind,
            threshold=threshold,
            points=points,
        )
        for code, zh, en, kind, threshold, points in DEFAULTS
    ]


async def _credited_runs(campaign: Campaign, resident_ids: list[int]) -> dict[int, list[RunFact]]:
    """Per resident: runs whose net credit in the campaign is positive, each in the city it
    started in (Run.start_city_id, see geo.city_at), not the city it was credited to (always
    the resident's own): the all-cities badge counts where one ran."""
    rows = await Contribution.filter(
        campaign_id=campaign.id,
        resident_ref__in=[resident_ref(r) for r in resident_ids],
        run_id__not_isnull=True,
    ).values("run_id", "resident_ref", "metres", "local_day")
    net: dict[int, int] = defaultdict(int)
    meta: dict[int, tuple[int, date]] = {}
    for r in rows:
        net[r["run_id"]] += r["metres"]
        meta[r["run_id"]] = (int(r["resident_ref"].split(":")[1]), r["local_day"])
    tz = ZoneInfo(campaign.timezone)
    started = {
        int(r["id"]): (r["started_at"], r["start_city_id"])
        for r in await Run.filter(id__in=[k for k, v in net.items() if v > 0]).values(
            "id", "started_at", "start_city_id"
        )
    }
    out: dict[int, list[RunFact]] = defaultdict(list)
    for run_id, metres in net.items():
        if metres <= 0:
            continue
        rid, day = meta[run_id]
        at, city = started.get(run_id, (None, None))
        hour = at.astimezone(tz).hour if at is not None else 12
        out[rid].append(RunFact(run_id=run_id, day=day, hour=hour, city_id=city, metres=metres))
    return out


async def facts_of(resident: Resident, campaign: Campaign) -> Facts:
    wards = await Resident.filter(guardian_id=resident.id).values_list("id", flat=True)
    family_ids = [int(str(x)) for x in wards]
    if resident.guardian_id is not None:
        family_ids.append(resident.guardian_id)
    runs = await _credited_runs(campaign, [resident.id, *family_ids])
    check_ins = frozenset(
        int(str(s))
        for s in await CheckIn.filter(
            resident_id=resident.id, station__event__campaign_id=campaign.id
        ).values_list("station_id", flat=True)
    )
    events: dict[int, set[int]] = defaultdict(set)
    for s_id, e_id in await EventStation.filter(event__campaign_id=campaign.id).values_list(
        "id", "event_id"
    ):
        events[int(str(e_id))].add(int(str(s_id)))
    cities = await CampaignCity.filter(campaign_id=campaign.id).values_list("city_id", flat=True)
    return Facts(
        runs=tuple(runs.get(resident.id, [])),
        check_ins=check_ins,
        events={k: frozenset(v) for k, v in events.items()},
        campaign_cities=frozenset(int(str(c)) for c in cities),
        family_days=frozenset(r.day for f in family_ids for r in runs.get(f, [])),
    )


async def refresh(*, resident_id: int) -> list[str]:
    """Award and revoke this resident's badges in every running campaign; returns what changed
    (``+code`` awarded, ``-code`` revoked). Family badges of linked residents follow too."""
    # Runs after every upload: most campaigns have no badges, and one prepared statement says so.
    found = await sql.rows(
        sql.default(),
        "SELECT DISTINCT c.id FROM campaign c JOIN badge b ON b.campaign_id = c.id"
        " WHERE c.state IN (?, ?) ORDER BY c.id",
        CampaignState.ACTIVE.value,
        CampaignState.CLOSED.value,
    )
    if not found:
        return []
    campaigns = await Campaign.filter(id__in=[r["id"] for r in found]).order_by("id")
    resident = await Resident.get_or_none(id=resident_id, erased_at=None)
    if resident is None:
        return []
    changes: list[str] = []
    for campaign in campaigns:
        facts = await facts_of(resident, campaign)
        for badge in await Badge.filter(campaign_id=campaign.id).order_by("id"):
            holds = await BadgeAward.filter(
                badge_id=badge.id, resident_id=resident_id, revoked_at=None
            ).first()
            if earned(Rule(badge.kind, badge.threshold), facts):
                if holds is None and await _award(badge, resident_id):
                    changes.append(f"+{badge.code}")
            elif holds is not None and await _revoke(badge, holds):
                changes.append(f"-{badge.code}")
    return changes


async def _award(badge: Badge, resident_id: int) -> bool:
    rounds = await BadgeAward.filter(badge_id=badge.id, resident_id=resident_id).count()
    try:
        async with in_transaction() as conn:
            await BadgeAward.create(
                badge_id=badge.id,
                resident_id=resident_id,
                round=rounds,
                awarded_at=clock.now(),
                using_db=conn,
            )
            if badge.points > 0:
                await points_ledger.post(
                    conn,
                    resident_id=resident_id,
                    delta=badge.points,
                    reason="badge",
                    key=f"badge:{badge.id}:{resident_id}:r{rounds}",
                    ref=f"badge:{badge.code}",
                )
            await notices.notify(
                conn,
                resident_id,
                "badge_earned",
                badge_zh=badge.name_zh,
                badge_en=badge.name_en,
                points=badge.points,
            )
    except IntegrityError:
        return False  # awarded by a concurrent refresh
    return True


async def _revoke(badge: Badge, award: BadgeAward) -> bool:
    async with in_transaction() as conn:
        changed = await (
            BadgeAward.filter(id=award.id, revoked_at=None)
            .using_db(conn)
            .update(revoked_at=clock.now())
        )
        if not changed:
            return False
        if badge.points > 0:
            await points_ledger.post(
                conn,
                resident_id=award.resident_id,
                delta=-badge.points,
                reason="badge_revoked",
                key=f"revoke:badge:{badge.id}:{award.resident_id}:r{award.round}",
                ref=f"badge:{badge.code}",
                owe=True,
            )
    return True


async def of_resident(*, resident_id: int) -> list[dict[str, object]]:
    """Every badge of the resident's campaigns, with whether they hold it."""
    held = {
        int(str(b))
        for b in await BadgeAward.filter(resident_id=resident_id, revoked_at=None).values_list(
            "badge_id", flat=True
        )
    }
    rows = await Badge.filter(
        campaign__state__in=[CampaignState.ACTIVE, CampaignState.CLOSED]
    ).order_by("campaign_id", "id")
    return [
        {
            "id": b.id,
            "code": b.code,
            "name_zh": b.name_zh,
            "name_en": b.name_en,
            "kind": b.kind,
            "threshold": b.threshold,
            "points": b.points,
            "held": b.id in held,
        }
        for b in rows
    ]
