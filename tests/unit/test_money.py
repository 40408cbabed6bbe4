"""Yuan typed on forms become exact fen; a fraction of a fen is refused, never rounded."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warmrun.platform.errors import InvalidInput
from warmrun.platform.money import MAX_FEN, parse_yuan, yuan


@pytest.mark.parametrize(
    ("typed", "fen"),
    [
        ("365", 36_500),
        ("0.5", 50),
        ("12.34", 1_234),
        ("¥1,000.05", 100_005),
        ("￥ 10000", 1_000_000),
        ("１２.５", 1_250),
        ("0", 0),
    ],
)
def test_typed_yuan_become_exact_fen(typed: str, fen: int) -> None:
    assert parse_yuan(typed) == fen


@pytest.mark.parametrize("typed", ["0.001", "12.345", "1,000.999"])
def test_a_fraction_of_a_fen_is_refused_not_rounded(typed: str) -> None:
    with pytest.raises(InvalidInput) as e:
        parse_yuan(typed, field="goal")
    assert e.value.message("en").startswith("Goal: ") and "two decimals" in e.value.message("en")
    assert e.value.message("zh-CN").startswith("目标金额：")


@pytest.mark.parametrize("typed", ["", "-5", "1e3", "12.", ".5", "1,00", "ten", "NaN", "1_000"])
def test_anything_but_a_plain_amount_is_refused(typed: str) -> None:
    with pytest.raises(InvalidInput):
        parse_yuan(typed)


def test_amounts_beyond_any_campaign_are_refused() -> None:
    with pytest.raises(InvalidInput):
        parse_yuan(str(MAX_FEN))


@given(st.integers(0, MAX_FEN))
def test_shown_yuan_read_back_as_the_same_fen(fen: int) -> None:
    assert parse_yuan(yuan(fen)) == fen
