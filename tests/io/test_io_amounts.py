"""Money columns: the vectorised parser agrees with `yibao.money.to_fen`, in every input type."""

from __future__ import annotations

import decimal

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from yibao.io.amounts import parse_money
from yibao.io.report import Problems
from yibao.io.schemas import CLAIMS
from yibao.io.writers import yuan_decimal
from yibao.money import MAX_FEN, fen_to_yuan, to_fen

TOTAL = CLAIMS.column("total")


def parse(values: pl.Series) -> tuple[list[int | None], list[str]]:
    """(fen per row, codes reported in row order)."""
    out = Problems("t", lambda rows: [f"t:{int(r) + 1}" for r in rows])
    fen = parse_money(values, TOTAL, out)
    return fen.to_list(), [p.code for p in out.problems()]


@pytest.mark.parametrize(
    ("text", "fen", "code"),
    [
        ("1234.50", 123450, None),
        ("1234.5", 123450, None),
        ("0", 0, None),
        (".5", 50, None),  # 0.50 yuan
        ("5.", 500, None),
        ("+7.01", 701, None),
        ("-0.00", 0, None),  # zero is not negative
        ("12.300", 1230, None),  # trailing zeros are not decimals (to_fen agrees)
        ("0001.10", 110, None),
        ("1000000000.00", MAX_FEN, None),
        ("1000000000.01", None, "MONEY_TOO_LARGE"),
        ("12.345", None, "MONEY_DECIMALS"),
        ("-3", None, "NEGATIVE"),
        ("-0.005", None, "MONEY_DECIMALS"),
        ("1e3", None, "BAD_MONEY"),
        ("¥12", None, "BAD_MONEY"),
        ("12,00", None, "BAD_MONEY"),
        ("NaN", None, "BAD_MONEY"),
        (".", None, "BAD_MONEY"),
        ("9" * 50, None, "MONEY_TOO_LARGE"),
        ("", None, "REQUIRED"),
    ],
)
def test_text(text: str, fen: int | None, code: str | None) -> None:
    assert parse(pl.Series([text])) == ([fen], [code] if code else [])


decimal_text = st.builds(
    lambda sign, whole, frac: f"{sign}{whole}{frac}",
    st.sampled_from(["", "+", "-"]),
    st.integers(min_value=0, max_value=10**12).map(str),
    st.one_of(st.just(""), st.text(alphabet="0123456789", max_size=5).map(lambda f: "." + f)),
)


@given(decimal_text)
def test_text_agrees_with_to_fen(text: str) -> None:
    try:
        expected: int | None = to_fen(text)
    except ValueError:
        expected = None
    fen, found = parse(pl.Series([text]))
    assert fen == [expected]
    assert (found == []) == (expected is not None)


@given(st.integers(min_value=0, max_value=MAX_FEN))
def test_yuan_text_round_trip(fen: int) -> None:
    assert parse(pl.Series([fen_to_yuan(fen)])) == ([fen], [])


@given(st.integers(min_value=0, max_value=MAX_FEN))
def test_float_with_two_decimals(fen: int) -> None:
    """A float that stands for a 2-decimal amount reads exactly, even where x·100 is not an
    integer in binary (0.29 · 100 = 28.999999999999996)."""
    x = float(fen_to_yuan(fen))
    assert parse(pl.Series([x], dtype=pl.Float64)) == ([fen], [])


@pytest.mark.parametrize(
    ("value", "fen", "code"),
    [
        (0.29, 29, None),
        (1234.5, 123450, None),
        (0.001, None, "MONEY_DECIMALS"),
        (1234.567, None, "MONEY_DECIMALS"),
        (-1.0, None, "NEGATIVE"),
        (1e300, None, "MONEY_TOO_LARGE"),
        (float("nan"), None, "BAD_MONEY"),
        (float("inf"), None, "BAD_MONEY"),
    ],
)
def test_float(value: float, fen: int | None, code: str | None) -> None:
    assert parse(pl.Series([value], dtype=pl.Float64)) == ([fen], [code] if code else [])


def test_integers_are_yuan() -> None:
    values = pl.Series([0, 12, -1, 10**9, 10**9 + 1], dtype=pl.Int64)
    assert parse(values) == (
        [0, 1200, None, MAX_FEN, None],
        ["NEGATIVE", "MONEY_TOO_LARGE"],
    )
    huge = pl.Series([2**64 - 1], dtype=pl.UInt64)
    assert parse(huge) == ([None], ["MONEY_TOO_LARGE"])


def test_decimals() -> None:
    two = pl.Series(
        [decimal.Decimal("12.34"), decimal.Decimal("-0.01"), None], dtype=pl.Decimal(18, 2)
    )
    assert parse(two) == ([1234, None, None], ["NEGATIVE", "REQUIRED"])
    four = pl.Series(
        [decimal.Decimal("1.2300"), decimal.Decimal("1.2345")], dtype=pl.Decimal(18, 4)
    )
    assert parse(four) == ([123, None], ["MONEY_DECIMALS"])
    zero = pl.Series(
        [decimal.Decimal("7"), decimal.Decimal("10000000000")], dtype=pl.Decimal(38, 0)
    )
    assert parse(zero) == ([700, None], ["MONEY_TOO_LARGE"])


def test_booleans_are_not_money() -> None:
    assert parse(pl.Series([True])) == ([None], ["BAD_TYPE"])


def test_large_clean_decimal_column() -> None:
    fen = pl.Series("total", np.arange(1_000_000, dtype=np.int64))
    result, found = parse(yuan_decimal(fen))  # what write_frame puts in Parquet
    assert found == [] and result == fen.to_list()


def test_usual_and_other_forms_in_one_column() -> None:
    values = pl.Series(["1.00", "+2", "x", ".5", "12", "7.1", "-0", None])
    # "+2" and ".5" take the general path; "x" is the only bad one; None is REQUIRED
    assert parse(values) == ([100, 200, None, 50, 1200, 710, 0, None], ["BAD_MONEY", "REQUIRED"])
