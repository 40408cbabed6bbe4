"""How the ledgers name a resident: ``resident:<id>``. One home for the format. Pure.

Contributions carry the reference, not a foreign key, so that the ledger stays whole (and its
hash chain verifies) when an account is erased.
"""

from __future__ import annotations

RESIDENT_PREFIX = "resident:"


def resident_ref(resident_id: int) -> str:
    return f"{RESIDENT_PREFIX}{resident_id}"


def resident_of(ref: str) -> int | None:
    """The resident id of a reference, or None for a reference to no resident."""
    if not ref.startswith(RESIDENT_PREFIX):
        return None
    tail = ref[len(RESIDENT_PREFIX) :]
    return int(tail) if tail.isdigit() else None


# The same, for SQL over the contribution table (rebuild reads a million rows at once):
# the id as an integer, -1 for anything else.
RESIDENT_ID_SQL = (
    f"CASE WHEN c.resident_ref LIKE '{RESIDENT_PREFIX}%' "
    f"THEN CAST(substr(c.resident_ref, {len(RESIDENT_PREFIX) + 1}) AS BIGINT) ELSE -1 END"
)
