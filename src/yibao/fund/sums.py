"""Exact int64 sums over a city-year of claims by a small integer key (a person's row, a cube
cell), and the person lookup that gives the key.

DESIGN.md's lesson applied to monitoring: look each claim's person up once (``PersonRows``,
the engine's hash table) and carry the row index, an int, instead of joining or grouping on
``person_id`` strings; pack the cube's dimensions into one int key and sum each money column
with one sequential pass (Numba, integers, so every sum stays exact in fen).
"""

from __future__ import annotations

import math

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


#: Poisson(1) thresholds: a uniform 64-bit word below ``_POISSON[k]`` draws at most k.
_POISSON = np.array([min(int(sum(math.exp(-1) / math.factorial(i) for i in range(k + 1))
                             * 2.0**64), 2**64 - 1) for k in range(20)], np.uint64)
_GOLDEN, _STEP = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xD1B54A32D192ED03)


@njit(cache=True)
def _mix(x: np.uint64) -> np.uint64:
    """SplitMix64's finaliser: a well-mixed 64-bit word of a counter."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@njit(cache=True)
def _poisson_sums(rows: np.ndarray, values: np.ndarray, replicates: int, seed: np.uint64,
                  thresholds: np.ndarray, sums: np.ndarray, counts: np.ndarray) -> None:
    t0, t1, t2, t3, t4 = thresholds[0], thresholds[1], thresholds[2], thresholds[3], thresholds[4]
    for j in range(rows.shape[0]):
        h = _mix(seed * _GOLDEN + np.uint64(rows[j]))
        v = values[j]
        for r in range(replicates):
            x = _mix(h + np.uint64(r) * _STEP)
            # the number of thresholds at or below x (they ascend): the first five without
            # branches, the rest (P ≈ 0.4 %) one by one
            c = ((x >= t0) + (x >= t1) + (x >= t2) + (x >= t3) + (x >= t4))
            if c == 5:
                while c < thresholds.shape[0] and x >= thresholds[c]:
                    c += 1
            sums[r] += c * v
            counts[r] += c


def poisson_sums(rows: np.ndarray, values: np.ndarray, replicates: int,
                 seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Poisson bootstrap (each person drawn c ~ Poisson(1) times): per replicate, Σ c·value and
    Σ c over the persons ``rows`` (int64, exact). A person's count in replicate r depends on
    (seed, row, r) alone, so the persons whose value did not change can be left out of a
    difference (``changed = base + poisson_sums(rows, changed − base)``)."""
    sums = np.zeros(max(replicates, 0), np.int64)
    counts = np.zeros(max(replicates, 0), np.int64)
    _poisson_sums(np.ascontiguousarray(rows, np.int64), np.ascontiguousarray(values, np.int64),
                  max(replicates, 0), np.uint64(seed % 2**64), _POISSON, sums, counts)
    return sums, counts
