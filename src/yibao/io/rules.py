"""Rules across fields and records of one table (SPEC §2, §4): amounts, date order, 身份证号,
conditional fields and unique keys.

Each rule sees the typed frame in which bad values are already null, so a value reported once
(say an unreadable date) does not trigger a second, derived complaint.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
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
    # every test on every 18-byte number; a later test counts only where the earlier passed
    formed = well_formed(matrix)
    checked = formed & check_digits_ok(matrix)
    days = birth.to_physical().fill_null(0).cast(pl.Int64).to_numpy()[at]
    agrees = (embedded_birth(matrix) == dates_yyyymmdd(days)) | birth.is_null().to_numpy()[at]

    def spread(local: npt.NDArray[np.bool_]) -> pl.Series:
        full = np.zeros(n, dtype=np.bool_)
        full[at[local]] = True
        return pl.Series(full)

    bad_form = ids.is_not_null() & ~spread(formed)
    for code, mask, en in (
        ("BAD_ID_NUMBER", bad_form, "must be 17 digits and a check digit or X"),
        ("BAD_ID_NUMBER", spread(formed & ~checked), "check digit (GB 11643) is wrong"),
        (
            "ID_BIRTH_MISMATCH",
            spread(checked & ~agrees),
            "birth date in the number (characters 7–14) differs from birth_date",
        ),
    ):
        out.rows(code, "id_number", mask, en, ids, _masked)


def enrollments(df: pl.DataFrame, out: Problems) -> None:
    """Nothing across fields: each column's rules and the unique key cover an enrolment."""


def claims(df: pl.DataFrame, out: Problems) -> None:
    """SPEC §2 amounts, date order, and the fields chronic and maternity visits need. Each rule
    is first asked "any?" in one lazy pass over all of them (in parallel, without building
    20 M-row masks); only a rule that fires builds its mask."""
    visit = pl.col("visit_type")
    rules: dict[str, tuple[str, str, pl.Expr, str]] = {
        "money": (
            "SELF_PAY_EXCEEDS_TOTAL",
            "self_pay",
            pl.col("self_pay") + pl.col("class_b_self_pay") > pl.col("total"),
            "self_pay + class_b_self_pay exceeds total",
        ),
        "dates": (
            "DATE_ORDER",
            "admit_date",
            pl.col("admit_date") > pl.col("settle_date"),
            "admit_date is after settle_date",
        ),
        "chronic": (
            "REQUIRED",
            "chronic_disease",
            (visit == "chronic") & pl.col("chronic_disease").is_null(),
            "required when visit_type is chronic",
        ),
        "maternity": (
            "REQUIRED",
            "maternity_kind",
            (visit == "maternity") & pl.col("maternity_kind").is_null(),
            "required when visit_type is maternity",
        ),
    }
    fired = df.lazy().select(rule[2].any().alias(k) for k, rule in rules.items()).collect()
    for key, (code, field, expr, en) in rules.items():
        if not fired[key].item():
            continue
        mask = df.select(expr).to_series()
        if key == "money":
            shown = df.select("self_pay", "class_b_self_pay", "total")
            out.rows(code, field, mask, en, shown, _yuan_triple)
        elif key == "dates":
            out.rows(code, field, mask, en, df["admit_date"])
        else:
            out.rows(code, field, mask, en)


def _yuan_triple(value: object) -> str:
    assert isinstance(value, tuple)
    self_pay, class_b, total = (fen_to_yuan(int(v)) for v in value)
    return f"{self_pay} + {class_b} > {total} yuan"


#: The columns each table's rules read (besides its unique key).
RULE_COLUMNS: dict[str, frozenset[str]] = {
    "persons": frozenset({"birth_date", "death_date", "id_number"}),
    "enrollments": frozenset(),
    "claims": frozenset({"visit_type", "chronic_disease", "maternity_kind", "total", "self_pay",
                         "class_b_self_pay", "admit_date", "settle_date"}),
    "results": frozenset(),
}
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
