"""Every statement of the public log itself: its head, leaves, blocks and checkpoints
(platform/transparency.py decides, this reads and writes; log_sources.py reads what it copies).

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
    Campaign,
    LedgerCheckpoint,
    LedgerLeaf,
    LedgerLog,
)
from warmrun.platform.public_log import Head


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
