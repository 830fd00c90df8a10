"""The input tables of SPEC §4 as data: each column's kind, whether it is required, its dtype.

The readers (`readers.py`) and the validator (`validate.py`) are driven by these tables; a
column added here is read, validated and typed in every format without further code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

Kind = Literal[
    "text",  # free text such as an id; required ones must be non-empty
    "enum",  # one of `values`
    "date",  # YYYY-MM-DD, a real calendar date
    "region",  # 6-digit GB/T 2260 code
    "money",  # yuan with ≤ 2 decimals in files, Int64 fen in frames
    "int",  # an integer in [lo, hi]
    "bool",  # true/false (CSV also 1/0)
    "list",  # `;`-separated in CSV, an array in JSONL/Parquet; items from `values` when given
    "id_number",  # 18-character 身份证号, GB 11643 check digit
    "icd10",  # ICD-10 code whose 3-character category is on the WHO list
]

#: 人员类别 (SPEC §1 glossary).
CATEGORIES = frozenset(
    {
        "tekun",
        "dibao",
        "fanpin",
        "monitor",
        "dibao_edge",
        "illness_poverty",
        "student",
        "newborn",
        "residence_permit",
    }
)
SEXES = frozenset({"M", "F"})
SCHEMES = frozenset({"resident", "employee"})
VISIT_TYPES = frozenset({"inpatient", "outpatient", "chronic", "maternity"})
PROCEDURE_KINDS = frozenset({"conservative", "diagnostic", "therapeutic", "surgery"})

#: Longest accepted text value, in bytes: ids and codes, not essays.
MAX_TEXT_BYTES = 64
#: Calendar range accepted for dates and years.
MIN_YEAR, MAX_YEAR = 1900, 2200


@dataclass(frozen=True)
class Column:
    """One column of an input table."""

    name: str
    kind: Kind
    dtype: pl.DataType
    required: bool = True
    values: frozenset[str] | None = None  # enum / list members
    upper: bool = False  # enum values are compared upper-cased (else lower-cased)
    lo: int | None = None  # int range
    hi: int | None = None
    default: int | str | None = None  # value used when an optional column is absent or empty


@dataclass(frozen=True)
class Table:
    """An input table: its name in messages and its columns in output order."""

    name: str
    columns: tuple[Column, ...]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def schema(self) -> dict[str, pl.DataType]:
        return {c.name: c.dtype for c in self.columns}


_S = pl.String()
_D = pl.Date()
_LIST = pl.List(pl.String())

PERSONS = Table(
    "persons",
    (
        Column("person_id", "text", _S),
        Column("id_number", "id_number", _S, required=False),
        Column("sex", "enum", _S, values=SEXES, upper=True),
        Column("birth_date", "date", _D),
        Column("death_date", "date", _D, required=False),
        Column("region", "region", _S),
        Column("categories", "list", _LIST, required=False, values=CATEGORIES),
        Column("chronic", "list", _LIST, required=False),
    ),
)

ENROLLMENTS = Table(
    "enrollments",
    (
        Column("person_id", "text", _S),
        Column("year", "int", pl.Int32(), lo=MIN_YEAR, hi=MAX_YEAR),
        Column("region", "region", _S),
        Column("scheme", "enum", _S, values=SCHEMES),
        Column("paid_date", "date", _D),
        Column("contribution_paid", "money", pl.Int64()),
        Column("repaid_years", "int", pl.Int32(), required=False, lo=0, hi=100, default=0),
        Column("employee_end_date", "date", _D, required=False),
    ),
)

CLAIMS = Table(
    "claims",
    (
        Column("claim_id", "text", _S),
        Column("person_id", "text", _S),
        Column("facility_id", "text", _S),
        Column("facility_level", "int", pl.Int8(), lo=1, hi=3),
        Column("visit_type", "enum", _S, values=VISIT_TYPES),
        Column("chronic_disease", "text", _S, required=False),
        Column("maternity_kind", "text", _S, required=False),
        Column("admit_date", "date", _D),
        Column("settle_date", "date", _D),
        Column("total", "money", pl.Int64()),
        Column("self_pay", "money", pl.Int64()),
        Column("class_b_self_pay", "money", pl.Int64()),
        Column("out_of_region", "bool", pl.Boolean()),
        Column("diagnosis", "icd10", _S),
        Column("procedure", "text", _S, required=False),
        Column("procedure_kind", "enum", _S, required=False, values=PROCEDURE_KINDS),
    ),
)

#: Why a claim is not covered (SPEC §5.1); empty when it is.
REASONS = frozenset({"NOT_ENROLLED", "AFTER_DEATH", "WAITING_PERIOD", "NOT_CERTIFIED"})
_MONEY = pl.Int64()

#: Settlement results (SPEC §5), read back as history for later runs.
RESULTS = Table(
    "results",
    (
        Column("claim_id", "text", _S),
        Column("person_id", "text", _S),
        Column("year", "int", pl.Int32(), lo=MIN_YEAR, hi=MAX_YEAR),
        Column("covered", "bool", pl.Boolean()),
        Column("reason", "enum", _S, required=False, values=REASONS, upper=True, default=""),
        Column("policy_scope", "money", _MONEY),
        Column("deductible", "money", _MONEY),
        Column("basic", "money", _MONEY),
        Column("major", "money", _MONEY),
        Column("assistance", "money", _MONEY),
        Column("oop", "money", _MONEY),
        Column("major_cap", "money", _MONEY, required=False),
    ),
)

#: Unique keys: a second record with the same key is a DUPLICATE.
KEYS: dict[str, tuple[str, ...]] = {
    "persons": ("person_id",),
    "enrollments": ("person_id", "year", "region", "scheme"),
    "claims": ("claim_id",),
    "results": ("claim_id",),
}
