"""Appends to a campaign's ledger: the head of its hash chain (platform/ledger.py) locked,
contributions appended after it with their pledge allocations and the campaign's totals, and
the outbox row that tells the leaderboards.

Every append holds the campaign row's lock (:func:`lock_campaign`) until the transaction
ends; the contribution, its allocations, the totals and the outbox row commit together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import DoesNotExist

from warmrun.platform import clock, outbox, rollups, sql, tally
from warmrun.platform.conversion import allocate_first_come
from warmrun.platform.ledger import entry_hash
from warmrun.platform.models import Campaign, SettlementMode
from warmrun.platform.refs import resident_of


@dataclass
class ChainHead:
    """A campaign's row as locked for an append: its state and the head of its chain."""

    id: int
    state: str
    settlement_mode: str
    head_seq: int
    head_hash: str
    walking_factor_permille: int
    default_body_mass_kg: int


@dataclass(frozen=True)
class Entry:
    """A contribution as appended: its row id and the fields its hash covers."""

    id: int
    fields: dict[str, Any]
    created_at: datetime


async def lock_campaign(conn: BaseDBAsyncClient, campaign_id: int) -> ChainHead:
    """The campaign row, locked until the transaction ends: it holds the chain head, so
    appenders queue here."""
    row = await sql.locked(
        conn,
        "SELECT id, state, settlement_mode, head_seq, head_hash, walking_factor_permille,"
        " default_body_mass_kg FROM campaign WHERE id = ?",
        campaign_id,
    )
    if row is None:
        raise DoesNotExist(Campaign)
    return ChainHead(**row)


async def append(
    conn: BaseDBAsyncClient,
    campaign: ChainHead,
    *,
    kind: str,
    run_id: int | None,
    resident_ref: str,
    city_id: int,
    compound_id: int,
    day: date,
    sport: str,
    metres: int,
    kcal: int,
    value: int,
    key: str,
    funded: int | None = None,
    allocations: list[tuple[int, int]] | None = None,
) -> Entry:
    """Append one chained contribution; the caller holds the campaign row lock."""
    allocations = await _allocate(conn, campaign, value, funded, allocations)
    if funded is None:
        funded = sum(f for _, f in allocations)
    fields = {
        "campaign_id": campaign.id,
        "seq": campaign.head_seq + 1,
        "kind": kind,
        "run_id": run_id,
        "resident_ref": resident_ref,
        "city_id": city_id,
        "compound_id": compound_id,
        "local_day": day,
        "sport": sport,
        "metres": metres,
        "kcal": kcal,
        "value_fen": value,
        "funded_fen": funded,
        "idempotency_key": key,
    }
    entry = await _chain(conn, campaign, fields)
    await rollups.add_entry(
        conn,
        campaign.id,
        tally.Entry(resident_ref, city_id, compound_id, day, metres, kcal, value, funded),
    )
    for pledge_id, fen in allocations:
        await sql.execute(
            conn,
            "INSERT INTO pledge_allocation (pledge_id, contribution_id, fen) VALUES (?, ?, ?)",
            pledge_id,
            entry.id,
            fen,
        )
    return entry


async def _allocate(
    conn: BaseDBAsyncClient,
    campaign: ChainHead,
    value: int,
    funded: int | None,
    allocations: list[tuple[int, int]] | None,
) -> list[tuple[int, int]]:
    """What the entry takes from (or, for a reversal's given ``allocations``, gives back to)
    each pledge, written to the pledges: first come, first served while a pledge has room."""
    if allocations is not None:
        for pledge_id, fen in allocations:
            await sql.execute(
                conn,
                "UPDATE sponsor_pledge SET allocated_fen = allocated_fen + ? WHERE id = ?",
                fen,
                pledge_id,
            )
        return allocations
    taken: list[tuple[int, int]] = []
    if funded is not None or campaign.settlement_mode != SettlementMode.FIRST_COME.value:
        return taken
    if value <= 0:
        return taken
    pledges = await sql.rows(
        conn,
        "SELECT id, cap_fen - allocated_fen AS left_fen FROM sponsor_pledge"
        " WHERE campaign_id = ? ORDER BY priority, id",
        campaign.id,
    )
    for pledge_id, fen in allocate_first_come(
        value, [(p["id"], int(p["left_fen"])) for p in pledges]
    ):
        # Conditional update: the CHECK constraint and this WHERE both refuse over-cap.
        ok = await sql.execute(
            conn,
            "UPDATE sponsor_pledge SET allocated_fen = allocated_fen + ?"
            " WHERE id = ? AND allocated_fen <= cap_fen - ?",
            fen,
            pledge_id,
            fen,
        )
        if ok:
            taken.append((pledge_id, fen))
    return taken


async def _chain(conn: BaseDBAsyncClient, campaign: ChainHead, fields: dict[str, Any]) -> Entry:
    """Insert the entry after the chain head, hashed over it, and move the head."""
    now = clock.now()
    digest = entry_hash(campaign.head_hash, fields)
    entry_id = await sql.insert(
        conn,
        "INSERT INTO contribution (campaign_id, seq, kind, run_id, resident_ref, city_id,"
        " compound_id, local_day, sport, metres, kcal, value_fen, funded_fen, idempotency_key,"
        " prev_hash, hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " RETURNING id",
        *fields.values(),
        campaign.head_hash,
        digest,
        now,
    )
    await sql.execute(
        conn,
        "UPDATE campaign SET head_seq = ?, head_hash = ? WHERE id = ?",
        fields["seq"],
        digest,
        campaign.id,
    )
    campaign.head_seq, campaign.head_hash = fields["seq"], digest
    return Entry(id=entry_id, fields=fields, created_at=now)


async def emit(conn: BaseDBAsyncClient, entry: Entry, *, source: str, **extra: Any) -> None:
    """The outbox row for the leaderboards, derived from the contribution it describes."""
    f = entry.fields
    ref = f["resident_ref"]
    await outbox.emit(
        conn,
        "contribution",
        {
            "campaign_id": f["campaign_id"],
            "run_id": f["run_id"],
            "resident_id": resident_of(ref),
            "compound_id": f["compound_id"],
            "city_id": f["city_id"],
            "metres": f["metres"],
            "local_day": f["local_day"].isoformat(),
            "contribution_id": entry.id,
            "source": source,
            "at": entry.created_at.timestamp(),
            **extra,
        },
    )
