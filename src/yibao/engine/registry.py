"""Registry checks on enrolments (重复参保 and records that contradict a person), SPEC §6.3.

A report, not a crash: every finding names the check, the person, the year and
both records (as ``enrollments #row: region scheme``), with 身份证号 masked.
"""

from __future__ import annotations

import polars as pl

from yibao.io import mask_id_number

FINDING_COLUMNS = ["check", "person_id", "year", "record_a", "record_b", "detail"]
CHECKS = {
    "DUPLICATE_REGION": "同一人同一年度在两个统筹地区参保 same person enrolled in two regions",
    "DUPLICATE_ID_NUMBER": "同一身份证号对应两个参保人 one 身份证号, two persons enrolled",
    "RESIDENT_AND_EMPLOYEE": "同一年度既参加居民医保又参加职工医保 resident and employee",
    "ENROLLED_AFTER_DEATH": "死亡后参保 enrolled for a year that starts after death",
    "BORN_AFTER_YEAR": "参保年度早于出生 enrolled for a year before birth",
}


def _records(enrollments: pl.DataFrame) -> pl.DataFrame:
    return enrollments.with_row_index("row", offset=1).with_columns(
        pl.format("enrollments #{}: {} {}", "row", "region", "scheme").alias("record"))


def _pairs(df: pl.DataFrame, on: list[str], differ: str, check: str,
           label: str | None = None) -> pl.DataFrame:
    """Both records of every pair agreeing on ``on`` and differing in ``differ``."""
    # a column may be both a key and reported (person_id, year): select each once
    left = df.select(list(dict.fromkeys([*on, differ, "person_id", "year", "record", "row"])))
    pairs = left.join(left, on=on, suffix="_b").filter(
        (pl.col(differ) != pl.col(f"{differ}_b")) & (pl.col("row") < pl.col("row_b")))
    return pairs.select(
        pl.lit(check).alias("check"), "person_id", "year",
        pl.col("record").alias("record_a"), pl.col("record_b"),
        pl.format(f"{label or differ} {{}} / {{}}", pl.col(differ), pl.col(f"{differ}_b"))
        .alias("detail"))


def check_registry(persons: pl.DataFrame, enrollments: pl.DataFrame) -> pl.DataFrame:
    """Every finding of SPEC §6.3, one row each, ordered by check, person and year."""
    rec = _records(enrollments)
    resident = rec.filter(pl.col("scheme") == "resident")
    findings = [
        _pairs(resident, ["person_id", "year"], "region", "DUPLICATE_REGION"),
        _pairs(rec, ["person_id", "year"], "scheme", "RESIDENT_AND_EMPLOYEE"),
    ]
    with_ids = resident.join(persons.select("person_id", "id_number"), on="person_id")
    with_ids = with_ids.filter(pl.col("id_number").is_not_null())
    dup = _pairs(with_ids.rename({"person_id": "pid"}).with_columns(
        pl.col("pid").alias("person_id")), ["id_number", "year"], "pid", "DUPLICATE_ID_NUMBER",
        "person_id")
    masked = with_ids.select("person_id", "year", "id_number").unique()
    dup = dup.join(masked, on=["person_id", "year"], how="left").with_columns(
        pl.format("{} ({})", "detail", pl.col("id_number").map_elements(
            mask_id_number, return_dtype=pl.String))).drop("id_number")
    findings.append(dup)
    lives = rec.join(persons.select("person_id", "birth_date", "death_date"), on="person_id")
    for check, condition, detail in (
        ("ENROLLED_AFTER_DEATH", pl.col("death_date").dt.year() < pl.col("year"),
         pl.format("died {}", "death_date")),
        ("BORN_AFTER_YEAR", pl.col("birth_date").dt.year() > pl.col("year"),
         pl.format("born {}", "birth_date")),
    ):
        findings.append(lives.filter(condition).select(
            pl.lit(check).alias("check"), "person_id", "year", pl.col("record").alias("record_a"),
            pl.lit(None, pl.String).alias("record_b"), detail.alias("detail")))
    return pl.concat([f.select(FINDING_COLUMNS) for f in findings]).sort(
        "check", "person_id", "year")
