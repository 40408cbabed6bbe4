"""Every statement of the public log (platform/transparency.py decides, this reads and writes).

Writers hold the campaign row's lock (:func:`lock_campaign`), the same lock contributions are
appended under, so the log never sees half an append and two writers never interleave.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from warmrun.platform import sql
from warmrun.platform.errors import NotFound
from warmrun.platform.models import (
    BundleLine,
    Campaign,
    City,
    Compound,
    Contribution,
    ConversionRule,
    Goods,
    LedgerCheckpoint,
    LedgerLeaf,
    LedgerLog,
    PledgeAllocation,
    PointsRule,
    RuleVersion,
)
from warmrun.platform.public_log import Head, Rule, conversion_terms, points_terms


async def lock_campaign(conn: BaseDBAsyncClient, campaign_id: int) -> dict[str, Any]:
    """The campaign row (id, code, state, head_seq), locked until the transaction ends."""
    row = await sql.locked(
        conn, "SELECT id, code, state, head_seq FROM campaign WHERE id = ?", campaign_id
    )
    if row is None:
        raise NotFound("campaign", "活动")
    return row


async def campaign_code(conn: BaseDBAsyncClient, campaign_id: int) -> str:
    code = await Campaign.filter(id=campaign_id).using_db(conn).values_list("code", flat=True)
    if not code:
        raise NotFound("campaign", "活动")
    return str(code[0])


async def head(conn: BaseDBAsyncClient, campaign_id: int) -> tuple[Head, str] | None:
    """The log's head and pseudonym secret, or None before its first entry."""
    log = await LedgerLog.filter(campaign_id=campaign_id).using_db(conn).first()
    if log is None:
        return None
    return (
        Head(
            size=log.size,
            seq=log.seq,
            chain_hash=log.chain_hash,
            source_hash=log.source_hash,
            rule_version=log.rule_version,
            pledge_id=log.pledge_id,
        ),
        log.secret,
    )


async def start(conn: BaseDBAsyncClient, campaign_id: int, secret: str) -> None:
    await LedgerLog.create(campaign_id=campaign_id, secret=secret, using_db=conn)


async def save_head(conn: BaseDBAsyncClient, campaign_id: int, h: Head) -> None:
    await (
        LedgerLog.filter(campaign_id=campaign_id)
        .using_db(conn)
        .update(
            size=h.size,
            seq=h.seq,
            chain_hash=h.chain_hash,
            source_hash=h.source_hash,
            rule_version=h.rule_version,
            pledge_id=h.pledge_id,
        )
    )


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


async def logged_areas(conn: BaseDBAsyncClient, campaign_id: int) -> tuple[set[int], set[int]]:
    """The cities and compounds the log has named (their entries' ids)."""
    rows = await sql.rows(
        conn,
        "SELECT kind, body FROM ledger_leaf WHERE campaign_id = ? AND kind IN ('city', 'compound')",
        campaign_id,
    )
    cities = {int(json.loads(r["body"])["id"]) for r in rows if r["kind"] == "city"}
    compounds = {int(json.loads(r["body"])["id"]) for r in rows if r["kind"] == "compound"}
    return cities, compounds


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


async def append(
    conn: BaseDBAsyncClient, campaign_id: int, leaves: list[tuple[int, str, int | None, str, str]]
) -> None:
    """Add (index, kind, contribution seq, body, leaf hash) rows."""
    await sql.execute_many(
        conn,
        "INSERT INTO ledger_leaf (campaign_id, idx, kind, seq, body, hash)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [[campaign_id, *leaf] for leaf in leaves],
    )


async def has_closed(conn: BaseDBAsyncClient, campaign_id: int) -> bool:
    return bool(
        await LedgerLeaf.filter(campaign_id=campaign_id, kind="state").using_db(conn).exists()
    )


async def leaf_hashes(conn: BaseDBAsyncClient, campaign_id: int, lo: int, hi: int) -> list[bytes]:
    rows = await sql.rows(
        conn,
        "SELECT hash FROM ledger_leaf WHERE campaign_id = ? AND idx >= ? AND idx < ? ORDER BY idx",
        campaign_id,
        lo,
        hi,
    )
    return [bytes.fromhex(r["hash"]) for r in rows]


async def add_blocks(
    conn: BaseDBAsyncClient, campaign_id: int, blocks: list[tuple[int, str]]
) -> None:
    await sql.execute_many(
        conn,
        "INSERT INTO ledger_block (campaign_id, block, hash) VALUES (?, ?, ?)",
        [[campaign_id, b, h] for b, h in blocks],
    )


async def block_hashes(conn: BaseDBAsyncClient, campaign_id: int, count: int) -> dict[int, bytes]:
    rows = await sql.rows(
        conn,
        "SELECT block, hash FROM ledger_block WHERE campaign_id = ? AND block < ?",
        campaign_id,
        count,
    )
    return {int(r["block"]): bytes.fromhex(r["hash"]) for r in rows}


async def bodies(conn: BaseDBAsyncClient, campaign_id: int, lo: int, hi: int) -> list[str]:
    rows = await sql.rows(
        conn,
        "SELECT body FROM ledger_leaf WHERE campaign_id = ? AND idx >= ? AND idx < ? ORDER BY idx",
        campaign_id,
        lo,
        hi,
    )
    return [str(r["body"]) for r in rows]


async def leaves_of(
    conn: BaseDBAsyncClient, campaign_id: int, seqs: list[int], below: int
) -> list[tuple[int, str]]:
    """(index, body) of the contribution entries with these sequence numbers, before index
    ``below``."""
    out: list[tuple[int, str]] = []
    for lo in range(0, len(seqs), 500):
        found = (
            await LedgerLeaf.filter(
                campaign_id=campaign_id, kind="contribution", seq__in=seqs[lo : lo + 500]
            )
            .filter(idx__lt=below)
            .using_db(conn)
            .values_list("idx", "body")
        )
        out += [(int(i), str(b)) for i, b in found]
    return sorted(out)


async def resident_seqs(conn: BaseDBAsyncClient, campaign_id: int, resident_ref: str) -> list[int]:
    found = (
        await Contribution.filter(campaign_id=campaign_id, resident_ref=resident_ref)
        .using_db(conn)
        .order_by("seq")
        .values_list("seq", flat=True)
    )
    return [int(str(s)) for s in found]


async def add_checkpoint(
    conn: BaseDBAsyncClient,
    campaign_id: int,
    *,
    size: int,
    root: str,
    made_at: datetime,
    reason: str,
    key_id: str,
    note: str,
) -> LedgerCheckpoint:
    last = await latest_checkpoint(conn, campaign_id)
    return await LedgerCheckpoint.create(
        campaign_id=campaign_id,
        number=(last.number if last else 0) + 1,
        size=size,
        root=root,
        made_at=made_at,
        reason=reason,
        key_id=key_id,
        note=note,
        using_db=conn,
    )


async def latest_checkpoint(conn: BaseDBAsyncClient, campaign_id: int) -> LedgerCheckpoint | None:
    return (
        await LedgerCheckpoint.filter(campaign_id=campaign_id)
        .using_db(conn)
        .order_by("-number")
        .first()
    )


async def checkpoints(conn: BaseDBAsyncClient, campaign_id: int) -> list[LedgerCheckpoint]:
    return list(
        await LedgerCheckpoint.filter(campaign_id=campaign_id).using_db(conn).order_by("number")
    )


async def checkpoint(
    conn: BaseDBAsyncClient, campaign_id: int, number: int
) -> LedgerCheckpoint | None:
    return (
        await LedgerCheckpoint.filter(campaign_id=campaign_id, number=number).using_db(conn).first()
    )


async def campaigns_to_watch(conn: BaseDBAsyncClient) -> list[dict[str, Any]]:
    """Campaigns past their draft: state, ledger head, how far their log got."""
    return await sql.rows(
        conn,
        "SELECT ca.id, ca.state, ca.head_seq, COALESCE(lg.seq, 0) AS logged_seq,"
        " COALESCE(lg.size, 0) AS size FROM campaign ca"
        " LEFT JOIN ledger_log lg ON lg.campaign_id = ca.id"
        " WHERE ca.state <> 'draft' ORDER BY ca.id",
    )
