"""The public log's sequencer: what the ledger gained, copied into the log in order, under the
campaign's lock (platform/transparency.py calls it; platform/public_log.py plans the entries).

It checks the ledger's own hash chain as it goes, so a ledger row edited in the database stops
the log rather than entering it.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from warmrun import verify
from warmrun.platform import clock, log_sources
from warmrun.platform import log_store as store
from warmrun.platform.errors import LedgerTampered
from warmrun.platform.ledger import entry_hash
from warmrun.platform.log_tree import BLOCK
from warmrun.platform.public_log import (
    LEDGER_FIELDS,
    Batch,
    Contribution,
    Head,
    Pending,
    line,
    plan,
)

# Ledger entries copied per transaction when the log catches up (the campaign's lock, which
# every credit of the campaign waits for, is held for one chunk at a time).
CHUNK = 2000


async def sequence_all(
    conn: BaseDBAsyncClient, campaign_id: int, then: tuple[dict[str, Any], ...] = ()
) -> tuple[Head, str]:
    """Copy everything pending, then append ``then``; the caller holds the campaign lock."""
    while True:
        head, secret, more = await sequence(conn, campaign_id, CHUNK)
        if not more:
            break
    if then:
        batch = plan(head, Pending(), secret, then)
        head = await _write(conn, campaign_id, head, batch)
    return head, secret


async def sequence(conn: BaseDBAsyncClient, campaign_id: int, chunk: int) -> tuple[Head, str, bool]:
    """Copy up to ``chunk`` ledger entries (and what precedes them); the caller holds the
    campaign lock. Returns the head, the pseudonym secret and whether more are pending."""
    found = await store.head(conn, campaign_id)
    pending = Pending()
    if found is None:
        secret = secrets.token_hex(32)
        await store.start(conn, campaign_id, secret)
        await log_sources.backfill_rules(conn, campaign_id, clock.now())
        head = Head()
        pending.campaign = await log_sources.campaign_fields(conn, campaign_id)
    else:
        head, secret = found
    pending.pledges = await log_sources.pledges_after(conn, campaign_id, head.pledge_id)
    pending.rules = await log_sources.rules_after(conn, campaign_id, head.rule_version)
    rows = await log_sources.contributions_after(conn, campaign_id, head.seq, chunk + 1)
    more = len(rows) > chunk
    rows = rows[:chunk]
    source = head.source_hash
    for r in rows:
        fields = {k: r[k] for k in LEDGER_FIELDS}
        if r["prev_hash"] != source or entry_hash(source, fields) != r["hash"]:
            raise LedgerTampered(campaign_id=campaign_id, seq=r["seq"])
        source = r["hash"]
    pending.contributions = await _contributions(conn, rows)
    known_cities, known_compounds = await store.logged_areas(conn, campaign_id)
    pending.cities, pending.compounds = await log_sources.areas(
        conn,
        {c.city_id for c in pending.contributions} - known_cities,
        {c.compound_id for c in pending.contributions} - known_compounds,
    )
    batch = plan(head, pending, secret)
    head = await _write(conn, campaign_id, replace(batch.head, source_hash=source), batch)
    return head, secret, more


async def _contributions(conn: BaseDBAsyncClient, rows: list[dict[str, Any]]) -> list[Contribution]:
    """Ledger rows as the log's contributions, with their allocations and, for a reversal,
    the sequence number of the contribution it reverses."""
    allocations = await log_sources.allocations_of(conn, [int(r["id"]) for r in rows])
    undone = {
        int(r["id"]): int(str(r["idempotency_key"]).split(":", 1)[1])
        for r in rows
        if r["kind"] == "reversal"
    }
    seq_of = await log_sources.seqs_of(conn, sorted(set(undone.values())))
    return [
        Contribution(
            seq=int(r["seq"]),
            kind=str(r["kind"]),
            resident_ref=str(r["resident_ref"]),
            city_id=int(r["city_id"]),
            compound_id=int(r["compound_id"]),
            local_day=r["local_day"],
            sport=str(r["sport"]),
            metres=int(r["metres"]),
            kcal=int(r["kcal"]),
            value_fen=int(r["value_fen"]),
            funded_fen=int(r["funded_fen"]),
            reverses=seq_of.get(undone[int(r["id"])]) if int(r["id"]) in undone else None,
            allocations=tuple(allocations.get(int(r["id"]), ())),
        )
        for r in rows
    ]


async def _write(conn: BaseDBAsyncClient, campaign_id: int, head: Head, batch: Batch) -> Head:
    """Store the batch's entries, the blocks they complete, and the new head."""
    if not batch.entries:
        return head  # nothing happened since: nothing to write
    first = batch.entries[0]["i"]
    rows = []
    hashes: list[bytes] = []
    for entry in batch.entries:
        raw = line(entry)
        h = verify.leaf_hash(raw)
        hashes.append(h)
        seq = entry["seq"] if entry["kind"] == "contribution" else None
        rows.append((entry["i"], entry["kind"], seq, raw.decode(), h.hex()))
    await store.append(conn, campaign_id, rows)
    end = first + len(hashes)
    blocks = []
    for b in range(first // BLOCK, end // BLOCK):
        lo = b * BLOCK
        earlier = await store.leaf_hashes(conn, campaign_id, lo, first) if lo < first else []
        inside = hashes[max(lo - first, 0) : lo + BLOCK - first]
        blocks.append((b, verify.root([*earlier, *inside]).hex()))
    await store.add_blocks(conn, campaign_id, blocks)
    head = replace(head, size=end)
    await store.save_head(conn, campaign_id, head)
    return head
