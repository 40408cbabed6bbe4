"""Posting to the points ledger: one entry and the matching balance change, together.

Every points movement (run awards, reversals, grants, redemptions, refunds) goes through
:func:`post`, inside the caller's transaction. A debit is a conditional UPDATE
(``WHERE points_balance >= amount``) backed by the CHECK constraint, so no balance goes negative
under concurrency.

One recording earns once: taking back what a run or badge earned (``owe=True``) takes the whole
amount, from the balance first and as a debt for what was already spent; every later credit
repays the debt before it adds to the balance. So for every resident
``points_balance - points_debt`` equals the sum of their ledger entries.
"""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

from warmrun.platform import clock, sql
from warmrun.platform.errors import InsufficientPoints
from warmrun.platform.models import PointsEntry, Resident

# A credit repays the debt first. Both SET expressions read the row as it was (SQL semantics).
_CREDIT = (
    "UPDATE resident SET"
    " points_balance = points_balance + ?"
    " - (CASE WHEN points_debt < ? THEN points_debt ELSE ? END),"
    " points_debt = points_debt - (CASE WHEN points_debt < ? THEN points_debt ELSE ? END)"
    " WHERE id = ?"
)
# Taking back what was earned: from the balance, and what is not there becomes owed.
_OWE = (
    "UPDATE resident SET"
    " points_debt = points_debt"
    " + (CASE WHEN points_balance < ? THEN ? - points_balance ELSE 0 END),"
    " points_balance = points_balance"
    " - (CASE WHEN points_balance < ? THEN points_balance ELSE ? END)"
    " WHERE id = ?"
)
_DEBIT = (
    "UPDATE resident SET points_balance = points_balance + ?"
    " WHERE id = ? AND points_balance + ? >= 0"
)


async def post(
    conn: BaseDBAsyncClient,
    *,
    resident_id: int,
    delta: int,
    reason: str,
    key: str,
    ref: str = "",
    owe: bool = False,
) -> None:
    """Append an entry of ``delta`` points under the unique ``key`` and move the balance.

    A debit spends the balance: InsufficientPoints when it is short (nothing is written). A
    debit with ``owe`` takes back an earlier credit whole, owing what was spent. Raises the
    database's IntegrityError for a key already posted.
    """
    if delta > 0:
        await sql.execute(conn, _CREDIT, delta, delta, delta, delta, delta, resident_id)
    elif delta < 0 and owe:
        await sql.execute(conn, _OWE, -delta, -delta, -delta, -delta, resident_id)
    elif delta < 0:
        if not await sql.execute(conn, _DEBIT, delta, resident_id, delta):
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
