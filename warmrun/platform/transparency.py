"""A campaign's public log: what anyone may check of its conversion, with signed checkpoints.

The ledger (``contribution``) stays the source of truth. The log copies it, in order and in
public words (platform/public_log.py), together with rule versions, pledges, allocations, the
closing and the settlement, into an append-only Merkle tree (RFC 9162). Copying
(platform/log_sequencer.py) happens under the campaign's lock, before anything reads the log
(:func:`catch_up`) and inside the transactions that close and settle a campaign; it checks the
ledger's own hash chain as it goes, so a ledger row edited in the database stops the log rather
than entering it.

A checkpoint is the site's Ed25519 signature over (campaign, size, root, time): made daily
while a campaign is active (:func:`checkpoint_due`), when it closes and when it settles.
Consistency proofs show that a later log extends an earlier checkpoint; inclusion proofs
show a resident that each of their contributions is in the latest one. ``warmrun/verify.py``
checks all of it offline.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from warmrun import verify
from warmrun.platform import clock, log_sources, sql
from warmrun.platform import log_store as store
from warmrun.platform.errors import CampaignStateError, InvalidInput, LedgerTampered, NotFound
from warmrun.platform.log_sequencer import CHUNK, sequence, sequence_all
from warmrun.platform.log_tree import BLOCK, BlockedTree, MissingLeaves
from warmrun.platform.models import CampaignState, LedgerCheckpoint
from warmrun.platform.public_log import Head, closed_entry, line, pseudonym, settlement_entry
from warmrun.platform.refs import resident_ref
from warmrun.platform.signing import SiteKey

DAILY = timedelta(days=1)
T = TypeVar("T")


@dataclass(frozen=True)
class CheckpointView:
    campaign: str
    number: int
    size: int
    root: str
    made_at: datetime
    reason: str
    key_id: str
    note: str  # the checkpoint file


def _view(code: str, cp: LedgerCheckpoint) -> CheckpointView:
    return CheckpointView(
        campaign=code,
        number=cp.number,
        size=cp.size,
        root=cp.root,
        made_at=cp.made_at,
        reason=cp.reason,
        key_id=cp.key_id,
        note=cp.note,
    )


# --- copying the ledger into the log -----------------------------------------------------------


async def catch_up(*, campaign_id: int, chunk: int = CHUNK) -> Head:
    """Copy what the ledger gained since the log's last entry, a chunk per transaction."""
    while True:
        async with in_transaction() as conn:
            await store.lock_campaign(conn, campaign_id)
            head, _, more = await sequence(conn, campaign_id, chunk)
        if not more:
            return head


# --- the tree ----------------------------------------------------------------------------------


async def _with_tree(
    conn: BaseDBAsyncClient, campaign_id: int, size: int, compute: Callable[[verify.RangeHash], T]
) -> T:
    """``compute`` over the tree of the log's first ``size`` entries, loading the leaves of
    the few blocks it turns out to need."""
    tree = BlockedTree(size, await store.block_hashes(conn, campaign_id, size // BLOCK))
    while True:
        try:
            return compute(tree.mth)
        except MissingLeaves as missing:
            lo = missing.block * BLOCK
            tree.add_leaves(
                missing.block,
                await store.leaf_hashes(conn, campaign_id, lo, min(size, lo + BLOCK)),
            )


async def _checkpoint(
    conn: BaseDBAsyncClient, code: str, campaign_id: int, size: int, key: SiteKey, reason: str
) -> CheckpointView:
    root = (await _with_tree(conn, campaign_id, size, lambda mth: mth(0, size))).hex()
    now = clock.now()
    body = verify.checkpoint_body(code, size, root, verify.utc(now), reason)
    note = verify.checkpoint_note(body, key.key_id, key.sign(body.encode()))
    cp = await store.add_checkpoint(
        conn,
        campaign_id,
        size=size,
        root=root,
        made_at=now,
        reason=reason,
        key_id=key.key_id,
        note=note,
    )
    return _view(code, cp)


# --- checkpoints -------------------------------------------------------------------------------


async def checkpoint_now(
    *, campaign_id: int, key: SiteKey, reason: str = "manual"
) -> CheckpointView:
    """A checkpoint of the whole log as it is now. An operator's (``manual``) is the latest
    one again if the log has not grown since; a daily one is new every day, grown or not: it
    also says the log was still the same that day."""
    await catch_up(campaign_id=campaign_id)
    async with in_transaction() as conn:
        campaign = await store.lock_campaign(conn, campaign_id)
        head, _ = await sequence_all(conn, campaign_id)
        latest = await store.latest_checkpoint(conn, campaign_id)
        if (
            reason == "manual"
            and latest is not None
            and (latest.size, latest.key_id) == (head.size, key.key_id)
        ):
            return _view(campaign["code"], latest)
        return await _checkpoint(conn, campaign["code"], campaign_id, head.size, key, reason)


async def seal(
    conn: BaseDBAsyncClient,
    *,
    campaign_id: int,
    key: SiteKey | None,
    settlement: dict[str, Any] | None = None,
) -> CheckpointView | None:
    """Inside the transaction that closes (``settlement`` None) or settles a campaign: copy
    what is pending, append the closing or the settlement, and sign a checkpoint over it
    (unless no key was given; the next round of :func:`checkpoint_due` signs it then)."""
    campaign = await store.lock_campaign(conn, campaign_id)
    now = clock.now()
    entries = [closed_entry(now)]
    if settlement is not None:
        # A campaign closed before its log began has no closing entry yet.
        entries = [] if await store.has_closed(conn, campaign_id) else entries
        entries.append(settlement_entry(settlement, now))
    head, _ = await sequence_all(conn, campaign_id, tuple(entries))
    if key is None:
        return None
    reason = "close" if settlement is None else "settle"
    return await _checkpoint(conn, campaign["code"], campaign_id, head.size, key, reason)


@dataclass(frozen=True)
class Round:
    """What one round of daily checkpoints did: campaigns signed, and those refused because
    their ledger no longer verifies (with the error)."""

    signed: list[int]
    refused: dict[int, LedgerTampered]


async def checkpoint_due(*, key: SiteKey) -> Round:
    """One round of the daily checkpoints: every active campaign whose latest checkpoint is
    a day old (or missing), and every campaign whose ledger or log grew past its latest
    checkpoint (a reversal after closing, a closing made without a key)."""
    now = clock.now()
    out = Round(signed=[], refused={})
    for c in await store.campaigns_to_watch(sql.default()):
        campaign_id = int(c["id"])
        latest = await store.latest_checkpoint(sql.default(), campaign_id)
        due = (
            latest is None
            or (c["state"] == "active" and now - latest.made_at >= DAILY)
            or int(c["head_seq"]) > int(c["logged_seq"])
            or int(c["size"]) > latest.size
            or latest.key_id != key.key_id
        )
        if not due:
            continue
        try:
            await checkpoint_now(campaign_id=campaign_id, key=key, reason="daily")
        except LedgerTampered as exc:  # that campaign stops here; the others go on
            out.refused[campaign_id] = exc
            continue
        out.signed.append(campaign_id)
    return out


async def checkpoints(*, campaign_id: int) -> list[CheckpointView]:
    """Every checkpoint of the campaign, oldest first."""
    conn = sql.default()
    code = await store.campaign_code(conn, campaign_id)
    return [_view(code, cp) for cp in await store.checkpoints(conn, campaign_id)]


async def checkpoint(*, campaign_id: int, number: int | None = None) -> CheckpointView:
    """A checkpoint by its number, or the latest."""
    conn = sql.default()
    code = await store.campaign_code(conn, campaign_id)
    cp = (
        await store.latest_checkpoint(conn, campaign_id)
        if number is None
        else await store.checkpoint(conn, campaign_id, number)
    )
    if cp is None:
        raise NotFound("checkpoint", "检查点")
    return _view(code, cp)


async def checkpointed(codes: list[str]) -> set[str]:
    """Which of these campaigns have a checkpoint (a resident can download proofs)."""
    found = await LedgerCheckpoint.filter(campaign__code__in=codes).values_list(
        "campaign__code", flat=True
    )
    return {str(c) for c in found}


# --- what others download ----------------------------------------------------------------------


async def export(*, campaign_id: int, key: SiteKey) -> AsyncIterator[bytes]:
    """The campaign's log as JSON Lines: a header, every entry, then every checkpoint."""
    head = await catch_up(campaign_id=campaign_id)
    conn = sql.default()
    code = await store.campaign_code(conn, campaign_id)
    header = {
        "format": verify.FORMAT,
        "campaign": code,
        "entries": head.size,
        "exported_at": verify.utc(clock.now()),
        "key_id": key.key_id,
        "public_key": key.public_base64(),
        "verify": "python3 -m warmrun.verify FILE --public-key KEY.pem",
    }
    yield line(header) + b"\n"
    for lo in range(0, head.size, CHUNK):
        bodies = await store.bodies(conn, campaign_id, lo, min(head.size, lo + CHUNK))
        yield "".join(b + "\n" for b in bodies).encode()
    for cp in await store.checkpoints(conn, campaign_id):
        if cp.size <= head.size:
            yield line({"kind": "checkpoint", "note": cp.note}) + b"\n"


async def consistency(
    *, campaign_id: int, old_size: int, number: int | None = None
) -> dict[str, Any]:
    """The proof that checkpoint ``number`` (the latest if None) extends the log's first
    ``old_size`` entries, as the file the verifier reads."""
    new = await checkpoint(campaign_id=campaign_id, number=number)
    if not 1 <= old_size <= new.size:
        raise InvalidInput(
            "from", f"a size from 1 to {new.size}", f"应为 1 到 {new.size} 之间的条目数"
        )
    proof = await _with_tree(
        sql.default(),
        campaign_id,
        new.size,
        lambda mth: verify.consistency_proof(old_size, new.size, mth),
    )
    return {
        "format": verify.CONSISTENCY_FORMAT,
        "campaign": new.campaign,
        "old_size": old_size,
        "new_size": new.size,
        "proof": [h.hex() for h in proof],
        "checkpoint": new.note,
    }


async def inclusion(*, campaign_id: int, resident_id: int) -> dict[str, Any]:
    """A resident's proofs that each of their contributions is in the latest checkpoint, as
    the file the verifier reads; contributions made since are counted as pending."""
    conn = sql.default()
    cp = await checkpoint(campaign_id=campaign_id)
    found = await store.head(conn, campaign_id)
    if found is None:  # pragma: no cover - a checkpoint implies a log
        raise NotFound("checkpoint", "检查点")
    _, secret = found
    ref = resident_ref(resident_id)
    seqs = await log_sources.resident_seqs(conn, campaign_id, ref)
    leaves = await store.leaves_of(conn, campaign_id, seqs, cp.size)
    proofs = await _with_tree(
        conn,
        campaign_id,
        cp.size,
        lambda mth: [verify.inclusion_proof(i, cp.size, mth) for i, _ in leaves],
    )
    entries = [
        {"index": index, "line": body, "proof": [h.hex() for h in proof]}
        for (index, body), proof in zip(leaves, proofs, strict=True)
    ]
    return {
        "format": verify.INCLUSION_FORMAT,
        "campaign": cp.campaign,
        "resident": pseudonym(secret, ref),
        "checkpoint": cp.note,
        "entries": entries,
        "pending": len(seqs) - len(entries),
    }


async def record_rule(
    conn: BaseDBAsyncClient,
    *,
    campaign_id: int,
    rule: str,
    sport: str,
    terms: dict[str, Any],
    effective_from: datetime | None = None,
) -> None:
    """A new rule version, first in the transaction that changes the rule: it takes the
    campaign's lock (so the version's place after the ledger's last entry is exact) and
    refuses a closed campaign (its rules are final)."""
    campaign = await store.lock_campaign(conn, campaign_id)
    if campaign["state"] in (CampaignState.CLOSED.value, CampaignState.SETTLED.value):
        raise CampaignStateError(state=campaign["state"], needed="draft or active")
    await log_sources.record_rule(
        conn,
        campaign_id,
        rule=rule,
        sport=sport,
        terms=json.loads(json.dumps(terms)),
        at=effective_from or clock.now(),
        after_seq=int(campaign["head_seq"]),
    )
