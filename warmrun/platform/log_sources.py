"""Every statement that reads what the public log copies, or records a rule version: the
campaign and its goods, pledges, rule versions, ledger rows and their allocations, and the
areas they name (platform/log_sequencer.py copies them; log_store.py holds the log itself).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from warmrun.platform import sql
from warmrun.platform.models import (
    BundleLine,
    Campaign,
    City,
    Compound,
    Contribution,
    ConversionRule,
    Goods,
    PledgeAllocation,
    PointsRule,
    RuleVersion,
)
from warmrun.platform.public_log import Rule, conversion_terms, points_terms


async def campaign_fields(conn: BaseDBAsyncClient, campaign_id: int) -> dict[str, Any]:
    """The first entry: what the campaign is and what its money buys."""
    c = await Campaign.filter(id=campaign_id).using_db(conn).prefetch_related("partner").get()
    goods = await Goods.filter(id=c.goods_id).using_db(conn).get()
    lines = (
        await BundleLine.filter(bundle_id=goods.id)
        .using_db(conn)
        .order_by("id")
        .prefetch_related("item")
    )
    return {
        "code": c.code,
        "name": c.name,
        "partner": c.partner.name,
        "starts_on": c.starts_on.isoformat(),
        "ends_on": c.ends_on.isoformat(),
        "timezone": c.timezone,
        "settlement_mode": str(c.settlement_mode),
        "goods": {
            "code": goods.code,
            "name_zh": goods.name_zh,
            "name_en": goods.name_en,
            "unit_price_fen": goods.unit_price_fen,
            "bundle": goods.is_bundle,
            "items": [
                {
                    "code": ln.item.code,
                    "name_zh": ln.item.name_zh,
                    "name_en": ln.item.name_en,
                    "quantity": ln.quantity,
                }
                for ln in lines
            ],
        },
    }


async def pledges_after(
    conn: BaseDBAsyncClient, campaign_id: int, pledge_id: int
) -> list[dict[str, Any]]:
    return await sql.rows(
        conn,
        "SELECT id, sponsor, cap_fen, priority FROM sponsor_pledge"
        " WHERE campaign_id = ? AND id > ? ORDER BY id",
        campaign_id,
        pledge_id,
    )


async def record_rule(
    conn: BaseDBAsyncClient,
    campaign_id: int,
    *,
    rule: str,
    sport: str,
    terms: dict[str, Any],
    at: datetime,
    after_seq: int,
    backfilled: bool = False,
) -> None:
    last = await RuleVersion.filter(campaign_id=campaign_id).using_db(conn).order_by("-version")
    await RuleVersion.create(
        campaign_id=campaign_id,
        version=(last[0].version if last else 0) + 1,
        rule=rule,
        sport=sport,
        terms=terms,
        effective_from=at,
        after_seq=after_seq,
        backfilled=backfilled,
        using_db=conn,
    )


async def backfill_rules(conn: BaseDBAsyncClient, campaign_id: int, at: datetime) -> None:
    """Rules set before rules were versioned become versions, marked as recorded late."""
    if await RuleVersion.filter(campaign_id=campaign_id).using_db(conn).exists():
        return
    for r in await ConversionRule.filter(campaign_id=campaign_id).using_db(conn).order_by("id"):
        await record_rule(
            conn,
            campaign_id,
            rule="conversion",
            sport=r.sport,
            terms=conversion_terms(str(r.basis), r.fen, r.per, r.daily_cap_fen),
            at=at,
            after_seq=0,
            backfilled=True,
        )
    points = await PointsRule.filter(campaign_id=campaign_id).using_db(conn).first()
    if points is not None:
        await record_rule(
            conn,
            campaign_id,
            rule="points",
            sport="",
            terms=points_terms(points.points_per_km, points.points_per_run, points.daily_cap),
            at=at,
            after_seq=0,
            backfilled=True,
        )


async def rules_after(conn: BaseDBAsyncClient, campaign_id: int, version: int) -> list[Rule]:
    found = (
        await RuleVersion.filter(campaign_id=campaign_id, version__gt=version)
        .using_db(conn)
        .order_by("version")
    )
    return [
        Rule(
            version=r.version,
            rule=r.rule,
            sport=r.sport,
            terms=dict(r.terms),
            effective_from=r.effective_from,
            after_seq=r.after_seq,
            backfilled=r.backfilled,
        )
        for r in found
    ]


_CONTRIBUTIONS = (
    "SELECT id, campaign_id, seq, kind, run_id, resident_ref, city_id, compound_id, local_day,"
    " sport, metres, kcal, value_fen, funded_fen, idempotency_key, prev_hash, hash"
    " FROM contribution WHERE campaign_id = ? AND seq > ? ORDER BY seq LIMIT ?"
)


async def contributions_after(
    conn: BaseDBAsyncClient, campaign_id: int, seq: int, limit: int
) -> list[dict[str, Any]]:
    """Ledger rows after ``seq``, every field as the ORM reads it."""
    rows = await sql.rows(conn, _CONTRIBUTIONS, campaign_id, seq, limit)
    for r in rows:
        r["local_day"] = sql.field_value(Contribution, "local_day", r["local_day"])
    return rows


async def allocations_of(
    conn: BaseDBAsyncClient, contribution_ids: list[int]
) -> dict[int, list[tuple[int, int]]]:
    out: dict[int, list[tuple[int, int]]] = {}
    for lo in range(0, len(contribution_ids), 500):
        found = (
            await PledgeAllocation.filter(contribution_id__in=contribution_ids[lo : lo + 500])
            .using_db(conn)
            .order_by("id")
            .values_list("contribution_id", "pledge_id", "fen")
        )
        for contribution_id, pledge_id, fen in found:
            out.setdefault(int(contribution_id), []).append((int(pledge_id), int(fen)))
    return out


async def seqs_of(conn: BaseDBAsyncClient, contribution_ids: list[int]) -> dict[int, int]:
    if not contribution_ids:
        return {}
    found = (
        await Contribution.filter(id__in=contribution_ids).using_db(conn).values_list("id", "seq")
    )
    return {int(i): int(s) for i, s in found}


async def areas(
    conn: BaseDBAsyncClient, city_ids: set[int], compound_ids: set[int]
) -> tuple[dict[int, dict[str, Any]], dict[int, dict[str, Any]]]:
    cities = {
        c.id: {"code": c.code, "name_zh": c.name_zh, "name_en": c.name_en}
        for c in await City.filter(id__in=sorted(city_ids)).using_db(conn)
    }
    compounds = {
        c.id: {"city": c.city_id, "name": c.name}
        for c in await Compound.filter(id__in=sorted(compound_ids)).using_db(conn)
    }
    return cities, compounds


async def resident_seqs(conn: BaseDBAsyncClient, campaign_id: int, resident_ref: str) -> list[int]:
    found = (
        await Contribution.filter(campaign_id=campaign_id, resident_ref=resident_ref)
        .using_db(conn)
        .order_by("seq")
        .values_list("seq", flat=True)
    )
    return [int(str(s)) for s in found]
