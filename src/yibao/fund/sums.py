"""Exact int64 sums over a city-year of claims by a small integer key (a person's row, a cube
cell), and the person lookup that gives the key.

DESIGN.md's lesson applied to monitoring: look each claim's person up once (``PersonRows``,
the engine's hash table) and carry the row index, an int, instead of joining or grouping on
``person_id`` strings; pack the cube's dimensions into one int key and sum each money column
with one sequential pass (Numba, integers, so every sum stays exact in fen).
"""

from __future__ import annotations

import numpy as np
import polars as pl
from numba import njit

from yibao.engine.order import PersonRows


def person_rows(persons: pl.DataFrame, wanted: pl.Series, record: str) -> np.ndarray:
    """Row of ``persons`` for each id of ``wanted`` (int64); an id not among the persons is
    an InputError UNKNOWN_PERSON naming the record, as in settlement."""
    return PersonRows(persons["person_id"])(wanted, record)


@njit(cache=True)
def _sum_by(key: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros(size, np.int64)
    for i in range(key.shape[0]):
        out[key[i]] += values[i]
    return out


@njit(cache=True)
def _count_by(key: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros(size, np.int64)
    for i in range(key.shape[0]):
        out[key[i]] += 1
    return out


def sum_by(key: np.ndarray, values: pl.Series | np.ndarray, size: int) -> np.ndarray:
    """Σ values per key in ``0 … size−1`` (int64, exact; a null value counts 0)."""
    if isinstance(values, pl.Series):
        values = values.fill_null(0).cast(pl.Int64).to_numpy()
    return _sum_by(key, np.ascontiguousarray(values, np.int64), size)


def count_by(key: np.ndarray, size: int) -> np.ndarray:
    """How many of ``key`` fall on each of ``0 … size−1``."""
    return _count_by(key, size)


@njit(cache=True)
def _resample(values: np.ndarray, draw: np.ndarray, out: np.ndarray) -> None:
    for i in range(draw.shape[0]):
        j = draw[i]
        for k in range(values.shape[0]):
            out[k] += values[k, j]


def resample_sums(values: np.ndarray, replicates: int, seed: int) -> np.ndarray:
    """Σ over ``replicates`` resamples with replacement of the n columns of ``values`` (one row
    per series, or a 1-D array): each replicate draws n column indices once and sums every
    row over the same draw, so series resampled together see the same persons. Exact int64;
    one draw of n int64 indices is held at a time."""
    rows = np.atleast_2d(np.asarray(values, np.int64))
    k, n = rows.shape
    out = np.zeros((k, max(replicates, 0)), np.int64)
    rng = np.random.default_rng(seed)
    for r in range(max(replicates, 0)):
        sums = np.zeros(k, np.int64)
        _resample(rows, rng.integers(0, n, size=(n,), dtype=np.int64), sums)
        out[:, r] = sums
    return out if values.ndim == 2 else out[0]
