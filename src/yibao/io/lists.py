"""List columns (人员类别 categories, certified chronic diseases): `;`-separated text in CSV, an
array in JSONL and Parquet; items trimmed, empty items dropped, repeats removed, null -> [].

Items are judged on the distinct values of the flattened column; the per-list rewrite runs only
when some item needs it, so a clean Parquet column of 2 M lists costs one `explode`.
"""

from __future__ import annotations

import polars as pl

from yibao.io.parse import as_text, blank, empty_lists
from yibao.io.report import Problems
from yibao.io.schemas import Column


def parse_list(s: pl.Series, col: Column, out: Problems) -> pl.Series:
    dtype = s.dtype
    if isinstance(dtype, pl.List):
        items = s.cast(pl.List(pl.String), strict=False)
        if (items.is_null() & s.is_not_null()).any():
            out.file(
                "BAD_TYPE",
                f"column {col.name!r} has type {dtype}, expected a list of text",
                col.name,
            )
            return empty_lists(col.name, s.len())
    else:
        t = as_text(s, col, out, ints=False)
        if t is None:
            return empty_lists(col.name, s.len())
        items = _split(t)
    items = _tidy(items, lower=col.values is not None)
    if col.values is not None:
        allowed = sorted(col.values)
        distinct = items.explode().drop_nulls().unique()
        if not distinct.is_in(allowed).all():
            bad = items.list.eval(~pl.element().is_in(allowed)).list.any()
            strays = items.list.eval(pl.element().filter(~pl.element().is_in(allowed)))
            out.rows(
                "BAD_ENUM",
                col.name,
                bad,
                f"items must be among {', '.join(allowed)}",
                strays.list.join(";"),
            )
    return items.cast(col.dtype).alias(col.name)


def _tidy(items: pl.Series, lower: bool) -> pl.Series:
    """Trim (and lower-case) items, drop empty ones and repeats, null lists -> []."""
    flat = items.explode()
    lengths = items.list.len()
    distinct = flat.unique()
    clean = distinct.str.strip_chars()
    if lower:
        clean = clean.str.to_lowercase()
    # `explode` gives one null for each empty or null list; any other null is a null item
    null_items = flat.null_count() - int((lengths == 0).sum()) - items.null_count()
    needs_rewrite = (
        bool((clean != distinct).any()) or bool((distinct == "").any()) or null_items > 0
    )
    several = (lengths > 1).fill_null(False)
    repeats = bool(several.any()) and bool(
        (items.filter(several).list.n_unique() < lengths.filter(several)).any()
    )
    if needs_rewrite or repeats:
        item = pl.element().str.strip_chars()
        if lower:
            item = item.str.to_lowercase()
        items = (
            pl.DataFrame({"x": items})
            .select(
                pl.col("x")
                .list.eval(item)
                .list.eval(pl.element().filter(pl.element().is_not_null() & (pl.element() != "")))
                .list.unique(maintain_order=True)
            )
            .to_series()
            .alias(items.name)
        )
    if items.null_count():
        items = items.fill_null(pl.lit([], dtype=pl.List(pl.String)))
    return items


def _split(t: pl.Series) -> pl.Series:
    """Text to a list: a JSON array (JSONL values are read as text) or `;`-separated items."""
    arrays = (t.str.starts_with("[") & t.str.ends_with("]")).fill_null(False)
    plain = t.str.split(";")
    if not arrays.any():
        return plain
    try:
        decoded = blank(t, ~arrays).str.json_decode(pl.List(pl.String))
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException):
        return plain
    return pl.select(pl.when(arrays).then(decoded).otherwise(plain)).to_series()
