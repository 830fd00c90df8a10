"""Putting claims in settlement order fast: person lookup and a packed-key sort.

DESIGN.md's lesson: sort once, on one packed int64 key. Two pieces make that
cheap for a province-year: a hash table from person_id to the person's row
(instead of a string join), and an LSD radix sort of the packed
(person, settle_date) key; ties on that key are then ordered by claim_id as
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
def _radix_argsort(key: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Stable LSD radix argsort of non-negative int64 keys below 2**bits.

    Keys travel with the permutation so every pass reads sequentially; returns
    the permutation and the sorted keys.
    """
    n = key.shape[0]
    order, keys = np.arange(n), key.copy()
    order_b, keys_b = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    radix = 11
    mask = (1 << radix) - 1
    shift = 0
    while shift < bits:
        count = np.zeros(1 << radix, dtype=np.int64)
        for i in range(n):
            count[(keys[i] >> shift) & mask] += 1
        total = 0
        for b in range(1 << radix):
            c = count[b]
            count[b] = total
            total += c
        for i in range(n):
            d = (keys[i] >> shift) & mask
            j = count[d]
            keys_b[j] = keys[i]
            order_b[j] = order[i]
            count[d] = j + 1
        keys, keys_b = keys_b, keys
        order, order_b = order_b, order
        shift += radix
    return order, keys


def settlement_order(person_row: np.ndarray, day: np.ndarray, claim_ids: pl.Series) -> np.ndarray:
    """Permutation putting claims in (person, settle_date, claim_id) order."""
    if person_row.size == 0:
        return np.zeros(0, dtype=np.int64)
    day0 = int(day.min())
    day_bits = max(1, (int(day.max()) - day0 + 1).bit_length())
    key = (person_row.astype(np.int64) << day_bits) | (day.astype(np.int64) - day0)
    order, sorted_key = _radix_argsort(key, max(1, int(key.max()).bit_length()))
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
