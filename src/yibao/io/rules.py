"""Rules across fields and records of one table (SPEC §2, §4): amounts, date order, 身份证号,
conditional fields and unique keys.

Each rule sees the typed frame in which bad values are already null, so a value reported once
(say an unreadable date) does not trigger a second, derived complaint.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

import numpy as np
import polars as pl

from yibao.io.idcard import (
    check_digits_ok,
    dates_yyyymmdd,
    digit_matrix,
    embedded_birth,
    mask_id_number,
    well_formed,
)
from yibao.io.report import MAX_PROBLEMS, Problems
from yibao.io.schemas import KEYS
from yibao.money import fen_to_yuan


def _masked(value: object) -> str:
    return repr(mask_id_number(value)) if isinstance(value, str) else repr(value)


def persons(df: pl.DataFrame, out: Problems) -> None:
    out.rows(
        "DATE_ORDER",
        "death_date",
        df["death_date"] < df["birth_date"],
        "death_date is before birth_date",
        df["death_date"],
    )
    _id_numbers(df["id_number"], df["birth_date"], out)


def _id_numbers(ids: pl.Series, birth: pl.Series, out: Problems) -> None:
    """BAD_ID_NUMBER (form, check digit) and ID_BIRTH_MISMATCH, on one byte matrix."""
    if ids.null_count() == ids.len():
        return
    n = ids.len()
    sized = (ids.str.len_bytes() == 18).fill_null(False)
    at = np.flatnonzero(sized.to_numpy())  # rows whose number is 18 bytes long
    matrix = digit_matrix(ids.filter(sized))
    formed = well_formed(matrix)
    bad_form = ids.is_not_null().to_numpy()
    bad_form[at[formed]] = False
    out.rows(
        "BAD_ID_NUMBER",
        "id_number",
        pl.Series(bad_form),
        "must be 17 digits and a check digit or X",
        ids,
        _masked,
    )
    at, matrix = at[formed], matrix[formed]
    checked = check_digits_ok(matrix)
    bad_check = np.zeros(n, dtype=np.bool_)
    bad_check[at[~checked]] = True
    out.rows(
        "BAD_ID_NUMBER",
        "id_number",
        pl.Series(bad_check),
        "check digit (GB 11643) is wrong",
        ids,
        _masked,
    )
    at, matrix = at[checked], matrix[checked]
    known = birth.is_not_null().to_numpy()[at]
    stated = dates_yyyymmdd(birth.to_physical().fill_null(0).cast(pl.Int64).to_numpy()[at])
    mismatch = np.zeros(n, dtype=np.bool_)
    mismatch[at] = (embedded_birth(matrix) != stated) & known
    out.rows(
        "ID_BIRTH_MISMATCH",
        "id_number",
        pl.Series(mismatch),
        "birth date in the number (characters 7–14) differs from birth_date",
        ids,
        _masked,
    )


def enrollments(df: pl.DataFrame, out: Problems) -> None:
    """Nothing across fields: each column's rules and the unique key cover an enrolment."""


def claims(df: pl.DataFrame, out: Problems) -> None:
    reserved = df["self_pay"] + df["class_b_self_pay"]
    over = reserved > df["total"]
    out.rows(
        "SELF_PAY_EXCEEDS_TOTAL",
        "self_pay",
        over,
        "self_pay + class_b_self_pay exceeds total",
        df.select("self_pay", "class_b_self_pay", "total"),
        _yuan_triple,
    )
    out.rows(
        "DATE_ORDER",
        "admit_date",
        df["admit_date"] > df["settle_date"],
        "admit_date is after settle_date",
        df["admit_date"],
    )
    visit = df["visit_type"]
    out.rows(
        "REQUIRED",
        "chronic_disease",
        (visit == "chronic") & df["chronic_disease"].is_null(),
        "required when visit_type is chronic",
    )
    out.rows(
        "REQUIRED",
        "maternity_kind",
        (visit == "maternity") & df["maternity_kind"].is_null(),
        "required when visit_type is maternity",
    )


def _yuan_triple(value: object) -> str:
    assert isinstance(value, tuple)
    self_pay, class_b, total = (fen_to_yuan(int(v)) for v in value)
    return f"{self_pay} + {class_b} > {total} yuan"


TABLE_RULES: dict[str, Callable[[pl.DataFrame, Problems], None]] = {
    "persons": persons,
    "enrollments": enrollments,
    "claims": claims,
    "results": enrollments,  # nothing beyond the columns' own rules and the unique claim_id
}


def maybe_duplicated(keys: pl.DataFrame) -> bool:
    """False when every row of ``keys`` is surely distinct: sort 64-bit hashes and compare
    neighbours (measured: NumPy's sort beats hashing 20 M strings into a set, splitting it
    over two threads, and a 32-bit first pass); the random seed keeps anyone from crafting
    collisions."""
    seed = secrets.randbits(32)
    # one column: Series.hash costs half of hash_rows
    one = keys.width == 1
    hashes = keys.to_series().hash(seed=seed) if one else keys.hash_rows(seed=seed)
    ordered = np.sort(hashes.to_numpy())
    return bool((ordered[1:] == ordered[:-1]).any())


def _duplicated(df: pl.DataFrame, key: tuple[str, ...], maybe: bool | None) -> pl.Series:
    """Rows whose (complete) key occurs more than once."""
    if maybe is None:
        maybe = maybe_duplicated(df.select(key))
    if not maybe:
        return pl.repeat(False, df.height, eager=True)
    complete = pl.all_horizontal(pl.col(k).is_not_null() for k in key)
    return df.select(pl.struct(key).is_duplicated() & complete).to_series()


def unique_key(df: pl.DataFrame, table: str, out: Problems, maybe: bool | None = None) -> None:
    """DUPLICATE for each record after the first with the same key, naming the first.

    ``maybe`` is `maybe_duplicated` of the key if the caller has it already.
    """
    key = KEYS[table]
    dup = _duplicated(df, key, maybe)
    if not dup.any():
        return
    indexed = df.select(key).with_row_index("_row").filter(dup)
    first = indexed.group_by(key, maintain_order=True).agg(pl.col("_row").min().alias("_first"))
    later = indexed.join(first, on=key, nulls_equal=False).filter(
        pl.col("_row") != pl.col("_first")
    )
    later = later.sort("_row")
    head = later.head(MAX_PROBLEMS)
    firsts = out.locate(head["_first"].to_numpy().astype(np.int64))
    shown_key = ", ".join(key)
    texts = [
        f"duplicate {shown_key} {'/'.join(str(v) for v in row)!r}, first at {where}"
        for row, where in zip(head.select(key).rows(), firsts, strict=True)
    ]
    out.at(
        "DUPLICATE",
        key[0] if len(key) == 1 else shown_key,
        head["_row"].to_list(),
        texts,
        later.height,
    )
