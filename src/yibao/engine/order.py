"""Putting claims in settlement order fast: person lookup and a packed-key sort.

DESIGN.md's lesson: sort once, on one packed int64 key. Two pieces make that
cheap for a province-year: a hash table from person_id to the person's row
(instead of a string join), and an LSD radix sort of the packed
(person, settle_date) key; ties on that key are then ordered by claim_id as
text, as SPEC §5 requires.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from numba import njit

from yibao.engine import codes
from yibao.errors import InputError, Problem

_SEED_A, _SEED_B = 0x5EED, 0xB0A7
RADIX_BITS = 11  # per pass; measured: 15 (two passes for 30-bit keys) is twice as slow


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


class PersonRows:
    """person_id → row of the persons frame, with the hash table built once (the history, the
    benefit starts, the caps and financing all look persons up through one).

    A 64-bit hash is looked up in a hash table and every match is confirmed with a second,
    independently seeded hash (a false match needs both to collide); when two persons' first
    hashes collide, or an id is null, the exact string join is used instead. A handful of
    persons (online settlement) is looked up in a dict instead."""

    def __init__(self, person_ids: pl.Series) -> None:
        self.person_ids = person_ids
        self._small: dict[str, int] | None = None
        self._table: tuple[np.ndarray, np.ndarray, int, np.ndarray] | None = None
        if person_ids.len() <= codes.SMALL_INPUT and not person_ids.null_count():
            ids = person_ids.to_list()
            table = {pid: row for row, pid in enumerate(ids)}
            if len(table) == len(ids):
                self._small = table  # online settlement: one person; a dict beats hashing

    def _hash_table(self) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
        if self._table is None:
            seed_a, confirm = _hashes(self.person_ids)
            self._table = (*_build_table(seed_a), confirm)
        return self._table

    def __call__(self, wanted: pl.Series, record: str,
                 keep: np.ndarray | None = None) -> np.ndarray:
        """Row for each of ``wanted`` (each kept one, with ``keep``); an unknown id is an
        InputError naming it."""
        if self._small is not None and wanted.len() <= codes.SMALL_INPUT:
            kept = _kept(wanted, keep)
            small = self._small
            rows = np.array([small.get(pid, -1) for pid in kept.to_list()], np.int64)
            if (rows < 0).any():
                _raise_unknown(kept, rows >= 0, record)
            return rows
        keys, vals, duplicates, confirm = self._hash_table()
        if duplicates or wanted.null_count():
            return _person_index_by_join(self.person_ids, _kept(wanted, keep), record)
        hash_a, hash_b = _hashes(wanted)  # hashing all and skipping beats a string filter
        keep = np.ones(hash_a.size, bool) if keep is None else keep
        rows = np.empty(int(keep.sum()), np.int64)
        if _probe_confirmed(keys, vals, confirm, hash_a, hash_b, keep, rows):
            _raise_unknown(_kept(wanted, keep), rows >= 0, record)
        return rows


def _kept(s: pl.Series, keep: np.ndarray | None) -> pl.Series:
    return s if keep is None else s.filter(pl.Series(keep))


def _hashes(ids: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """The two independently seeded hashes of each id, worked out together."""
    both = pl.DataFrame({"id": ids}).select(a=pl.col("id").hash(_SEED_A),
                                            b=pl.col("id").hash(_SEED_B))
    return both["a"].to_numpy(), both["b"].to_numpy()


@njit(cache=True)
def _probe_confirmed(keys: np.ndarray, vals: np.ndarray, confirm: np.ndarray,
                     hash_a: np.ndarray, hash_b: np.ndarray, keep: np.ndarray,
                     rows: np.ndarray) -> int:
    """Look each kept hash up in the table, into ``rows``, -1 where the second hash does not
    confirm the match; returns how many were not found. (Written out in the loop: a helper
    function, even inlined, made it more than twice as slow.)"""
    mask = np.uint64(keys.shape[0] - 1)
    missing, j = 0, 0
    for i in range(hash_a.shape[0]):
        if not keep[i]:
            continue
        h = hash_a[i]
        slot = h & mask
        while vals[slot] >= 0 and keys[slot] != h:
            slot = (slot + np.uint64(1)) & mask
        row = vals[slot]
        if row < 0 or confirm[row] != hash_b[i]:
            row = -1
            missing += 1
        rows[j] = row
        j += 1
    return missing


def person_index(person_ids: pl.Series, wanted: pl.Series, record: str) -> np.ndarray:
    """Row of ``person_ids`` for each of ``wanted``; an unknown id is an InputError."""
    return PersonRows(person_ids)(wanted, record)


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
def _packed_keys(person_row: np.ndarray, day: np.ndarray, day0: int, day_bits: int,
                 key: np.ndarray, counts: np.ndarray) -> None:
    """``key[i]`` = person_row[i] << day_bits | (day[i] - day0), in one pass that also counts
    each radix pass's digits (``counts[p, d]``), so the sort reads the keys once less per pass
    and no int64 intermediate column is made."""
    mask = (1 << RADIX_BITS) - 1
    for i in range(person_row.shape[0]):
        k = (person_row[i] << day_bits) | (day[i] - day0)
        key[i] = k
        for p in range(counts.shape[0]):
            counts[p, (k >> (p * RADIX_BITS)) & mask] += 1


@njit(cache=True)
def _radix_argsort(keys: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stable LSD radix argsort of non-negative integer keys, one pass per row of ``counts``
    (each pass's digit counts, `_packed_keys`); sorts ``keys`` and its scratch column in turn.

    Keys travel with the permutation so every pass reads sequentially; returns the
    permutation and the sorted keys, both of the keys' dtype (int32 keys halve the memory
    traffic of every pass).
    """
    n = keys.shape[0]
    order = np.empty(n, dtype=keys.dtype)
    order_b, keys_b = np.empty_like(order), np.empty_like(keys)
    mask = (1 << RADIX_BITS) - 1
    for p in range(counts.shape[0]):
        start = np.empty(1 << RADIX_BITS, dtype=np.int64)
        total = 0
        for b in range(1 << RADIX_BITS):
            start[b] = total
            total += counts[p, b]
        shift = p * RADIX_BITS
        if p == 0:  # the first pass's permutation is the identity: not read
            for i in range(n):
                d = (keys[i] >> shift) & mask
                j = start[d]
                keys_b[j] = keys[i]
                order_b[j] = i
                start[d] = j + 1
        else:
            for i in range(n):
                d = (keys[i] >> shift) & mask
                j = start[d]
                keys_b[j] = keys[i]
                order_b[j] = order[i]
                start[d] = j + 1
        keys, keys_b = keys_b, keys
        order, order_b = order_b, order
    return order, keys


@dataclass
class SortedClaims:
    """Claims in settlement order: ``order[k]`` is the input row of the k-th claim settled and
    ``key[k]`` its packed (person row, settle day) key — person row ``key >> day_bits``, settle
    day ``(key & (2**day_bits - 1)) + day0`` — so a pass in settlement order reads both
    sequentially."""

    order: np.ndarray
    key: np.ndarray
    day_bits: int
    day0: int


def sorted_claims(person_row: np.ndarray, day: np.ndarray, claim_ids: pl.Series) -> SortedClaims:
    """Sort claims into (person, settle_date, claim_id) order (person_row ≥ 0 for every claim)."""
    if person_row.size == 0:
        return SortedClaims(np.zeros(0, np.int64), np.zeros(0, np.int64), 1, 0)
    day0 = int(day.min())
    day_bits = max(1, (int(day.max()) - day0 + 1).bit_length())
    bits = max(1, ((int(person_row.max()) << day_bits) | ((1 << day_bits) - 1)).bit_length())
    small = bits < 31 and person_row.size < 2**31
    key = np.empty(person_row.size, np.int32 if small else np.int64)
    counts = np.zeros((-(-bits // RADIX_BITS), 1 << RADIX_BITS), np.int64)
    _packed_keys(person_row.astype(np.int64, copy=False), day, day0, day_bits, key, counts)
    order, sorted_key = _radix_argsort(key, counts)
    return SortedClaims(_order_ties(order, sorted_key, claim_ids), sorted_key, day_bits, day0)


def settlement_order(person_row: np.ndarray, day: np.ndarray, claim_ids: pl.Series) -> np.ndarray:
    """Permutation putting claims in (person, settle_date, claim_id) order."""
    return sorted_claims(person_row, day, claim_ids).order


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
