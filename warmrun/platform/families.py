"""Families: a guardian registers the children in their care, with consent recorded.

A child is a resident without an account of their own, in the guardian's compound. Runs
uploaded and check-ins made for a child count for the child (and for the family badge of
both); a child is never shown by name on a public board; the child's data is exported with
the guardian's and erased with it (or on its own, when the guardian removes the child).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from warmrun.platform import clock
from warmrun.platform.errors import ConsentNeeded, InvalidInput, NotFound
from warmrun.platform.models import Resident

ADULT_AGE = 18
MIN_AGE = 3  # younger children do not run a route of their own
MAX_CHILDREN = 6


@dataclass(frozen=True)
class Child:
    id: int
    display_name: str
    birth_year: int
    consent_at: datetime | None


def _child(r: Resident) -> Child:
    return Child(r.id, r.display_name, int(r.birth_year or 0), r.guardian_consent_at)


async def children(*, guardian_id: int) -> list[Child]:
    """The children a resident is the guardian of, in the order they were added."""
    rows = await Resident.filter(guardian_id=guardian_id, erased_at=None).order_by("id")
    return [_child(r) for r in rows]


async def add_child(
    *, guardian_id: int, display_name: str, birth_year: int, consent: bool
) -> Child:
    """Register a child in the guardian's care; refused without the guardian's consent."""
    if not consent:
        raise ConsentNeeded()
    name = display_name.strip()
    if not 1 <= len(name) <= 64:
        raise InvalidInput("display_name", "1 to 64 characters", "1 到 64 个字符")
    age = clock.now().year - birth_year
    if not MIN_AGE <= age < ADULT_AGE:
        raise InvalidInput(
            "birth_year", f"a child of {MIN_AGE} to 17", f"须为 {MIN_AGE} 到 17 岁的孩子"
        )
    guardian = await Resident.get_or_none(id=guardian_id, erased_at=None, guardian_id=None)
    if guardian is None:
        raise NotFound("resident", "居民")
    async with in_transaction() as conn:
        count = (
            await Resident.filter(guardian_id=guardian_id, erased_at=None).using_db(conn).count()
        )
        if count >= MAX_CHILDREN:
            raise InvalidInput("children", f"at most {MAX_CHILDREN}", f"最多 {MAX_CHILDREN} 个")
        row = await Resident.create(
            compound_id=guardian.compound_id,
            display_name=name,
            birth_year=birth_year,
            guardian_id=guardian_id,
            public_board=False,
            guardian_consent_at=clock.now(),
            using_db=conn,
        )
    return _child(row)


async def child_of(*, guardian_id: int, child_id: int) -> Child:
    """One of the guardian's children (not found for anyone else's)."""
    row = await Resident.get_or_none(id=child_id, guardian_id=guardian_id, erased_at=None)
    if row is None:
        raise NotFound("child", "孩子")
    return _child(row)


async def acting_for(*, resident_id: int, for_resident: int | None) -> int:
    """Whose run or check-in this is: the resident's own, or a child in their care."""
    if for_resident is None or for_resident == resident_id:
        return resident_id
    return (await child_of(guardian_id=resident_id, child_id=for_resident)).id
