"""Posting to the points ledger: one entry and the matching balance change, together.

Every points movement (run awards, reversals, grants, redemptions, refunds) goes through
:func:`post`, inside the caller's transaction. A debit is a conditional UPDATE
(``WHERE points_balance >= amount``) backed by the CHECK constraint, so no balance goes negative
under concurrency.
"""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

from warmrun.platform import clock, sql
from warmrun.platform.errors import InsufficientPoints
from warmrun.platform.models import PointsEntry, Resident


async def post(
    conn: BaseDBAsyncClient, *, resident_id: int, delta: int, reason: str, key: str, ref: str = ""
) -> None:
    """Append an entry of ``delta`` points under the unique ``key`` and move the balance.

    Raises InsufficientPoints for a debit larger than the balance (nothing is written), and
    the database's IntegrityError for a key already posted.
    """
    if delta:
        moved = await sql.execute(
            conn,
            "UPDATE resident SET points_balance = points_balance + ?"
            " WHERE id = ? AND points_balance + ? >= 0",
            delta,
            resident_id,
            delta,
        )
        if not moved and delta < 0:
            current = await Resident.filter(id=resident_id).using_db(conn).get()
            raise InsufficientPoints(needed=-delta, balance=current.points_balance)
    await sql.execute(
        conn,
        "INSERT INTO points_entry (resident_id, delta, reason, idempotency_key, ref, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        resident_id,
        delta,
        reason,
        key,
        ref,
        clock.now(),
    )


async def posted(conn: BaseDBAsyncClient, key: str) -> bool:
    return await PointsEntry.filter(idempotency_key=key).using_db(conn).exists()
