"""Claims' text fields as the small integer codes the settlement kernel reads.

``visit_type``, ``chronic_disease`` and ``maternity_kind`` arrive as text (``yibao.io``
readers), as Enums (a batch read, ``read_claims(..., codes=True)``) or as Polars
categoricals; the kernel wants an index into its term tables. For text, a cast to ``pl.Enum``
of the known values and its physical codes does that in one hashed pass (measured 3–4×
faster than ``replace_strict`` over 10 M strings); an Enum's few categories are looked up
instead and its codes mapped through that table; and the reason codes go back to text
through a Polars gather of the five names rather than 20 M Python objects.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
import pyarrow as pa

from yibao.errors import InputError, Problem

#: Inputs up to this many rows (online settlement: one claim, one person) take plain-Python
#: paths: Polars' and Arrow's per-call set-up costs more than the work at that size. Read at
#: call time, so that a test can send every input down the vectorised paths.
SMALL_INPUT = 64


def text_codes(values: pl.Series, known: Sequence[str]) -> np.ndarray:
    """Index of each value in ``known`` as int16; -1 where it is null or not in ``known``."""
    if not known:
        return np.full(values.len(), -1, np.int16)
    if values.len() <= SMALL_INPUT:  # a dict beats a Polars cast
        index = {v: i for i, v in enumerate(known)}
        return np.array([index.get(v, -1) for v in values.cast(pl.String).to_list()], np.int16)
    if isinstance(values.dtype, pl.Enum):
        return _enum_codes(values, values.dtype, known)
    text = values if values.dtype == pl.String else values.cast(pl.String)
    codes = text.cast(pl.Enum(list(known)), strict=False).to_physical()
    return codes.cast(pl.Int16).fill_null(-1).to_numpy()


def _enum_codes(values: pl.Series, dtype: pl.Enum, known: Sequence[str]) -> np.ndarray:
    """`text_codes` of an Enum column (a batch read's, ``read_claims(..., codes=True)``): its
    few categories are looked up in ``known`` and each value's physical code indexes that
    table, so no text is made."""
    index = {v: i for i, v in enumerate(known)}
    table = np.array([index.get(c, -1) for c in dtype.categories.to_list()] or [-1], np.int16)
    physical = values.to_physical()
    codes: np.ndarray = table[physical.fill_null(0).to_numpy()]
    if physical.null_count():
        codes[physical.is_null().to_numpy()] = -1
    return codes


def strict_codes(values: pl.Series, known: Sequence[str], claim_ids: pl.Series,
                 field: str) -> np.ndarray:
    """``text_codes`` where every value must be one of ``known``: a BAD_ENUM InputError naming
    the first 50 claims otherwise (frames from the readers never have one)."""
    codes = text_codes(values, known)
    bad = np.flatnonzero(codes < 0)
    if bad.size:
        raise InputError([
            Problem("BAD_ENUM", f"{field} {values[int(i)]!r} is not one of {', '.join(known)}",
                    f"claim {claim_ids[int(i)]}", field)
            for i in bad[:50]])
    return codes


def small_ints(values: pl.Series, lo: int, hi: int, claim_ids: pl.Series,
               field: str) -> np.ndarray:
    """An integer column as int8 in [lo, hi] (the kernel indexes tables with it unchecked); an
    OUT_OF_RANGE InputError naming the first 50 claims otherwise."""
    low, high = values.min(), values.max()
    if values.null_count() or not (isinstance(low, int) and isinstance(high, int)
                                   and lo <= low and high <= hi):
        ok = values.is_between(lo, hi).fill_null(False)
        bad = np.flatnonzero(~ok.to_numpy())
        raise InputError([
            Problem("OUT_OF_RANGE", f"{field} {values[int(i)]!r} must lie in {lo}..{hi}",
                    f"claim {claim_ids[int(i)]}", field)
            for i in bad[:50]])
    return values.cast(pl.Int8).to_numpy()


def code_text(codes: np.ndarray, names: Sequence[str]) -> pa.Array:
    """An Arrow string-view array holding ``names[code]`` for each of ``codes`` (all in range,
    ≥ 0). A batch's is gathered by Polars from the few names: its 16-byte views (320 MB at 20 M
    claims) then land in memory Polars' allocator has just freed (the person lookups' hashes,
    the batch read's text), where a NumPy gather faulted in fresh pages (0.05–1.9 s at 20 M,
    by how the VM felt)."""
    if codes.size <= SMALL_INPUT:
        return pa.array([names[int(c)] for c in codes], pa.string_view())
    index = pl.Series(codes.view(np.uint8) if codes.dtype == np.int8 else codes)
    text = pl.Series(list(names), dtype=pl.String).gather(index.cast(pl.UInt32))
    return text.to_arrow(compat_level=pl.CompatLevel.newest())
