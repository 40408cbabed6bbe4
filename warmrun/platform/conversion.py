"""Pure conversion rules: credited metres/kcal → fen → goods. Integers only.

Rounding is deterministic and never in the resident's or the sponsor's disfavour twice: a
run's value is floored to whole fen; pro-rata splits use the largest-remainder method so the
parts always add up to the whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def value_fen(amount: int, *, fen: int, per: int) -> int:
    """``fen`` per ``per`` units (metres or kcal), floored: 1 fen per 1000 m on 1999 m is 1."""
    if amount <= 0 or fen <= 0:
        return 0
    return amount * fen // per


def cap_daily(value: int, *, used_today: int, cap: int | None) -> int:
    """What is left of a per-resident daily cap (None = no cap)."""
    if cap is None:
        return value
    return max(0, min(value, cap - used_today))


def allocate_first_come(value: int, remaining: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Take ``value`` fen from pledges in order until it is covered or every pool is empty.

    ``remaining`` is ``(pledge_id, fen_left)`` in priority order; returns ``(pledge_id, fen)``.
    """
    out: list[tuple[int, int]] = []
    left = value
    for pledge_id, room in remaining:
        if left <= 0:
            break
        take = min(left, room)
        if take > 0:
            out.append((pledge_id, take))
            left -= take
    return out


def split_largest_remainder(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` in proportion to ``weights``; the parts sum to exactly ``total``.
    Ties in remainders go to the earlier weight, so the result is deterministic."""
    wsum = sum(weights)
    if total <= 0 or wsum <= 0:
        return [0] * len(weights)
    base = [total * w // wsum for w in weights]
    rems = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % wsum), i))
    for i in rems[: total - sum(base)]:
        base[i] += 1
    return base


@dataclass(frozen=True)
class GoodsProgress:
    """Whole bundles funded and the progress towards the next, in per-mille."""

    fen: int
    bundle_price_fen: int
    bundles: int
    next_permille: int
    remainder_fen: int

    @property
    def next_percent(self) -> int:
        return self.next_permille // 10


def goods_progress(fen: int, bundle_price_fen: int) -> GoodsProgress:
    if bundle_price_fen <= 0:
        raise ValueError("bundle price must be positive")
    fen = max(fen, 0)
    whole, rem = divmod(fen, bundle_price_fen)
    return GoodsProgress(
        fen=fen,
        bundle_price_fen=bundle_price_fen,
        bundles=whole,
        next_permille=rem * 1000 // bundle_price_fen,
        remainder_fen=rem,
    )


def pledges_owed(
    *, total_value_fen: int, caps: Sequence[int], allocated: Sequence[int], pro_rata: bool
) -> list[int]:
    """What each pledge owes at settlement.

    First-come: what was allocated to contributions as they arrived. Pro-rata: the value of all
    contributions, up to the sum of caps, split across pledges in proportion to their caps.
    """
    if not pro_rata:
        return list(allocated)
    pool = sum(caps)
    return split_largest_remainder(min(total_value_fen, pool), caps)


@dataclass(frozen=True)
class ItemLine:
    """One item of a bundle (the warm pack's coat, shoes, school bag, stationery)."""

    code: str
    name_zh: str
    name_en: str
    quantity: int

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "quantity": self.quantity,
        }


def items_funded(bundles: int, lines: Sequence[ItemLine]) -> list[tuple[ItemLine, int]]:
    """How many of each item ``bundles`` whole bundles hold (a part bundle holds none)."""
    return [(ln, max(bundles, 0) * ln.quantity) for ln in lines]
