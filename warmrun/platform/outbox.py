"""Outbox rows: written in the same transaction as the ledger change they describe, so the
leaderboard relay can apply them after commit and nothing is lost if a process dies between."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from tortoise.backends.base.client import BaseDBAsyncClient

from warmrun.platform import clock, sql
from warmrun.platform.models import Outbox


async def emit(conn: BaseDBAsyncClient, topic: str, payload: dict[str, Any]) -> None:
    campaign = payload.get("campaign_id")
    await sql.execute(
        conn,
        "INSERT INTO outbox (topic, payload, created_at, campaign_id) VALUES (?, ?, ?, ?)",
        topic,
        sql.db_value(Outbox, "payload", payload),
        clock.now(),
        int(campaign) if isinstance(campaign, int) else None,
    )


async def processed_upto(campaign_id: int) -> int | None:
    """The newest outbox row of the campaign that the relay has applied, or None."""
    row = await sql.one(
        sql.default(),
        "SELECT MAX(id) AS upto FROM outbox WHERE campaign_id = ? AND processed_at IS NOT NULL",
        campaign_id,
    )
    return int(row["upto"]) if row and row["upto"] is not None else None


async def pending(limit: int = 500) -> list[Outbox]:
    return await Outbox.filter(processed_at=None).order_by("id").limit(limit)


async def depth() -> tuple[int, float]:
    """Rows the relay has not applied yet, and the age in seconds of the oldest (0 when none
    waits)."""
    waiting = Outbox.filter(processed_at=None)
    count = await waiting.count()
    oldest = cast(
        list[datetime], await waiting.order_by("id").limit(1).values_list("created_at", flat=True)
    )
    return count, max(0.0, (clock.now() - oldest[0]).total_seconds()) if oldest else 0.0


async def mark_processed(ids: list[int]) -> int:
    return await Outbox.filter(id__in=ids, processed_at=None).update(processed_at=clock.now())
