"""Putting claims in settlement order fast: person lookup and a packed-key sort.

DESIGN.md's lesson: sort once, on one packed int64 key. Two pieces make that
cheap for a province-year: a hash table from person_id to the person's row
(instead of a string join), and a counting sort of the claims by person with
settle_date ordered within each person; ties are then ordered by claim_id as
text, as SPEC §5 requires.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from numba import njit

from yibao.errors import InputError, Problem

_SEED_A, _SEED_B = 0x5EED, 0xB0A7


@njit(cache=True)
def _build_table(hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    size = 1
    while size < 2 * hashes.shape[0] + 2:
        size *= 2
    keys = np.zeros(size, dtype=np.uint64)
    vals = np.full(size, -1, dtype=np.int64)
    mask = np.uint64(size - 1)
    duplicates = 0
    for i in range(hashes.shape[0]):
        h = hashes[i]
        slot = h & mask
        while vals[slot] >= 0 and keys[slot] != h:
            slot = (slot + np.uint64(1)) & mask
        if vals[slot] >= 0:
            duplicates += 1
        keys[slot] = h
        vals[slot] = i
    return keys, vals, duplicates


@njit(cache=True)
def _probe(keys: np.ndarray, vals: np.ndarray, hashes: np.ndarray) -> np.ndarray:
    mask = np.uint64(keys.shape[0] - 1)
    out = np.empty(hashes.shape[0], dtype=np.int64)
    for i in range(hashes.shape[0]):
        h = hashes[i]
        slot = h & mask
        while vals[slot] >= 0 and keys[slot] != h:
            slot = (slot + np.uint64(1)) & mask
        out[i] = vals[slot]
    return out


def person_index(person_ids: pl.Series, wanted: pl.Series, record: str) -> np.ndarray:
    """Row of ``person_ids`` for each of ``wanted``; an unknown id is an InputError.

    Looks up a 64-bit hash in a hash table and confirms every match with a
    second, independently seeded hash (a false match needs both to collide).
    """
    own = person_ids.hash(_SEED_A).to_numpy()
    keys, vals, duplicates = _build_table(own)
    if duplicates:
        return _person_index_by_join(person_ids, wanted, record)
    rows = _probe(keys, vals, wanted.hash(_SEED_A).to_numpy())
    found = rows >= 0
    confirm = person_ids.hash(_SEED_B).to_numpy()[np.where(found, rows, 0)]
    found &= confirm == wanted.hash(_SEED_B).to_numpy()
    if not found.all():
        _raise_unknown(wanted, found, record)
    return rows


def _person_index_by_join(person_ids: pl.Series, wanted: pl.Series, record: str) -> np.ndarray:
    table = pl.DataFrame({"person_id": person_ids}).with_row_index("row")
    joined = pl.DataFrame({"person_id": wanted}).join(
        table, on="person_id", how="left", maintain_order="left")
    rows = joined["row"].fill_null(-1).cast(pl.Int64).to_numpy()
    if (rows < 0).any():
        _raise_unknown(wanted, rows >= 0, record)
    return rows


def _raise_unknown(wanted: pl.Series, found: np.ndarray, record: str) -> None:
    bad = np.flatnonzero(~found)
    problems = [Problem("UNKNOWN_PERSON", f"person_id {wanted[int(i)]!r} is not in the persons",
                        f"{record} #{int(i) + 1}", "person_id") for i in bad[:50]]
    if bad.size > 50:
        problems.append(Problem("UNKNOWN_PERSON", f"… and {bad.size - 50} more"))
    raise InputError(problems)


@njit(cache=True)
def _bucket_sort(person_row: np.ndarray, day: np.ndarray, n_persons: int) -> np.ndarray:
    """Stable argsort by (person_row, day): counting sort by person, then by day within."""
    n = person_row.shape[0]
    start = np.zeros(n_persons + 1, dtype=np.int64)
    for i in range(n):
        start[person_row[i] + 1] += 1
    for p in range(n_persons):
        start[p + 1] += start[p]
    fill = start[:-1].copy()
    order = np.empty(n, dtype=np.int64)
    for i in range(n):
        p = person_row[i]
        order[fill[p]] = i
        fill[p] += 1
    for p in range(n_persons):
        lo, hi = start[p], start[p + 1]
        if hi - lo > 32:
            seg = order[lo:hi].copy()
            order[lo:hi] = seg[np.argsort(day[seg], kind="mergesort")]
            continue
        for i in range(lo + 1, hi):
            j = order[i]
            k = i - 1
            while k >= lo and day[order[k]] > day[j]:
                order[k + 1] = order[k]
                k -= 1
            order[k + 1] = j
    return order


def settlement_order(person_row: np.ndarray, day: np.ndarray, claim_ids: pl.Series,
                     n_persons: int) -> np.ndarray:
    """Permutation putting claims in (person, settle_date, claim_id) order."""
    if person_row.size == 0:
        return np.zeros(0, dtype=np.int64)
    order = _bucket_sort(person_row, day, n_persons)
    day0 = int(day.min())
    day_bits = max(1, (int(day.max()) - day0 + 1).bit_length())
    sorted_key = (person_row[order].astype(np.int64) << day_bits) | (day[order] - day0)
    return _order_ties(order, sorted_key, claim_ids)


def _order_ties(order: np.ndarray, sorted_key: np.ndarray, claim_ids: pl.Series) -> np.ndarray:
    """Within runs of equal key, order by claim_id compared as text."""
    same = sorted_key[1:] == sorted_key[:-1]
    if not same.any():
        return order
    in_run = np.zeros(order.size, dtype=bool)
    in_run[1:] |= same
    in_run[:-1] |= same
    positions = np.flatnonzero(in_run)
    members = order[positions]
    tied = pl.DataFrame({
        "key": sorted_key[positions],
        "claim_id": claim_ids.gather(members),
        "member": members,
    }).sort(["key", "claim_id"])
    order = order.copy()
    order[positions] = tied["member"].to_numpy()
    return order
