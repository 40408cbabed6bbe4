"""Amounts as people type and read them: yuan with up to two decimals, stored as integer fen.
Pure.

Parsing is exact (decimal digits, never a float): "365" is 36,500 fen, "0.5" is 50 fen,
"1,000.05" is 100,005 fen. A third decimal would be a fraction of a fen and is refused rather
than rounded, as are signs, exponents and anything that is not a plain amount.
"""

from __future__ import annotations

import re
import unicodedata

from warmrun.platform.errors import InvalidInput

_AMOUNT = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?")
_SUB_FEN = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)\.\d{3,}")
MAX_FEN = 10**15  # ten trillion yuan: beyond any campaign, within a BIGINT


def parse_yuan(text: str, *, field: str = "amount") -> int:
    """Fen from a typed amount in yuan ("12", "12.3", "¥1,234.56", full-width digits too)."""
    plain = unicodedata.normalize("NFKC", text).strip().lstrip("¥￥").replace(" ", "")
    if _SUB_FEN.fullmatch(plain):
        raise InvalidInput(field, "at most two decimals (a fen)", "最多两位小数（精确到分）")
    found = _AMOUNT.fullmatch(plain)
    if found is None:
        raise InvalidInput(
            field, "an amount in yuan, such as 365 or 12.50", "请输入金额（元），如 365 或 12.50"
        )
    whole, cents = found.group(1).replace(",", ""), (found.group(2) or "").ljust(2, "0")
    fen = int(whole) * 100 + int(cents)
    if fen > MAX_FEN:
        raise InvalidInput(field, "too large", "金额过大")
    return fen


def yuan(fen: int) -> str:
    """Fen as yuan with two decimals and thousands separators: 3650005 → "36,500.05"."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"
