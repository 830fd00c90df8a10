"""Validating in-memory records (an API request body) exactly as a file's rows are validated.

A record is named by its JSON pointer (``/claim``, ``/claims/3``) instead of ``file:line``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
import polars as pl

from yibao.errors import InputError, Problem
from yibao.io.schemas import Table
from yibao.io.sources import Source
from yibao.io.validate import validate


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    return str(value)


def records_frame(records: Sequence[Mapping[str, object]], table: Table,
                  pointer: str = "") -> pl.DataFrame:
    """Validate ``records`` against ``table``; the i-th is ``{pointer}/{i}`` in errors
    (or ``pointer`` itself when there is one record and ``pointer`` names it)."""
    names = set(table.names)
    unknown = sorted({k for r in records for k in r if k not in names})
    if unknown:
        raise InputError([Problem("UNKNOWN_COLUMN", f"unknown field {k!r}", pointer or "/", k)
                          for k in unknown])
    columns = {name: pl.Series(name, [_text(r.get(name)) for r in records], pl.String)
               for name in table.names}
    frame = pl.DataFrame(columns).with_columns(pl.all().str.strip_chars().replace("", None))

    def locate(rows: npt.NDArray[np.int64]) -> list[str]:
        if len(records) == 1 and pointer:
            return [pointer for _ in rows]
        return [f"{pointer}/{int(i)}" for i in rows]

    return validate(Source(pointer or "/", "jsonl", frame, locate), table)
