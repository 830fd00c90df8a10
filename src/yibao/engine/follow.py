"""Person rows for records (enrolments, earlier results), fast in the persons' order or in none.

Exports list enrolments and settlement results by person (or by year, then person), in the
order of the persons file. Each record's person is then among the few rows after the previous
record's person: a sequential read of the persons' hashes instead of a hash-table probe (a
cache miss) per record. The few records found elsewhere (a new year starting, a record out of
order) are found together in one sequential pass over the persons. Records in no particular
order (a shuffled export) are noticed within the first few thousand and go straight to one
open-addressing table over the persons' same two hashes, each slot holding both hashes and the
row so that a probe costs one cache line. Ids match on two independently seeded 64-bit hashes,
as in `PersonRows`; nulls, unknown ids and their errors are `PersonRows`'s own.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from numba import njit

from yibao.engine.order import PersonRows

_SEED_A, _SEED_B = 0x51DE, 0xF011
_WINDOW = 16  # rows tried after the previous record's person
_EVERY = 32  # one person in this many is an anchor
_FEW = 64  # persons up to this many are looked up in a dict
_TRIAL = 4096  # records followed before deciding they come in no order (half not found)
_NO_HASH = np.zeros(0, np.uint64)


def hash_exprs(column: str) -> list[pl.Expr]:
    """An id column's two hashes (``_hash_a``, ``_hash_b``), to work out in one select with
    other columns and hand to `Follower.__call__`."""
    return [pl.col(column).hash(_SEED_A).alias("_hash_a"),
            pl.col(column).hash(_SEED_B).alias("_hash_b")]


def _hashes(ids: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    both = pl.DataFrame({"id": ids}).select(hash_exprs("id"))
    return both["_hash_a"].to_numpy(), both["_hash_b"].to_numpy()


@njit(cache=True)
def _anchors(pa: np.ndarray, every: int) -> tuple[np.ndarray, np.ndarray]:
    """A small hash table (first hash → row) of every ``every``-th person, to pick the thread
    up again where the records jump (a new year starting over from the first person)."""
    n = (pa.shape[0] + every - 1) // every
    size = 2
    while size < 2 * n:
        size *= 2
    mask = np.uint64(size - 1)
    keys = np.zeros(size, np.uint64)
    rows = np.full(size, -1, np.int64)
    for r in range(0, pa.shape[0], every):
        s = pa[r] & mask
        while rows[s] >= 0 and keys[s] != pa[r]:
            s = (s + np.uint64(1)) & mask
        if rows[s] < 0:
            keys[s], rows[s] = pa[r], r
    return keys, rows


@njit(cache=True)
def _follow(pa: np.ndarray, pb: np.ndarray, anchor_keys: np.ndarray, anchor_rows: np.ndarray,
            ha: np.ndarray, hb: np.ndarray, keep: np.ndarray, rows: np.ndarray,
            window: int, trial: int) -> int:
    """Row of each kept id among the ``window`` rows from the previous one found, else if it is
    an anchor its row, else -1; returns how many were not found, or -1 when more than half of
    the first ``trial`` were not (ids in no particular order: following them is given up).
    While the window keeps failing it is tried ever more rarely, down to once in 64 ids."""
    n_rows = pa.shape[0]
    mask = np.uint64(anchor_keys.shape[0] - 1)
    prev, skip, fails, missed, j = 0, 0, 0, 0, 0
    for i in range(ha.shape[0]):
        if not keep[i]:
            continue
        h, g = ha[i], hb[i]
        row = -1
        if skip == 0:
            for r in range(prev, min(prev + window, n_rows)):
                if pa[r] == h and pb[r] == g:
                    row = r
                    break
            if row < 0:
                fails = min(2 * fails + 1, 64)
                skip = fails
            else:
                fails = 0
        else:
            skip -= 1
        if row < 0:
            s = h & mask
            while anchor_rows[s] >= 0:
                if anchor_keys[s] == h:
                    if pb[anchor_rows[s]] == g:
                        row = anchor_rows[s]
                        skip = 0
                    break
                s = (s + np.uint64(1)) & mask
        if row < 0:
            missed += 1
        else:
            prev = row
        rows[j] = row
        j += 1
        if j == trial and 2 * missed > j:
            return -1
    return missed


@njit(cache=True)
def _table(pa: np.ndarray, pb: np.ndarray) -> np.ndarray:
    """Open addressing over the persons: slot s holds (first hash, second hash, row + 1), 0 in
    the last when empty; the first of two persons with both hashes equal keeps the slot."""
    size = 2
    while 2 * size < 3 * pa.shape[0]:  # at most two thirds full
        size *= 2
    mask = np.uint64(size - 1)
    slots = np.zeros((size, 3), np.uint64)
    for r in range(pa.shape[0]):
        s = pa[r] & mask
        while slots[s, 2] != 0 and not (slots[s, 0] == pa[r] and slots[s, 1] == pb[r]):
            s = (s + np.uint64(1)) & mask
        if slots[s, 2] == 0:
            slots[s, 0], slots[s, 1], slots[s, 2] = pa[r], pb[r], np.uint64(r + 1)
    return slots


@njit(cache=True)
def _probe(slots: np.ndarray, ha: np.ndarray, hb: np.ndarray, keep: np.ndarray,
           rows: np.ndarray) -> int:
    """Row of each kept (ha, hb) from `_table`'s slots, -1 where none; returns how many."""
    mask = np.uint64(slots.shape[0] - 1)
    missed, j = 0, 0
    for i in range(ha.shape[0]):
        if not keep[i]:
            continue
        h, g = ha[i], hb[i]
        s = h & mask
        row = -1
        while slots[s, 2] != 0:
            if slots[s, 0] == h and slots[s, 1] == g:
                row = int(slots[s, 2]) - 1
                break
            s = (s + np.uint64(1)) & mask
        if row < 0:
            missed += 1
        rows[j] = row
        j += 1
    return missed


@njit(cache=True)
def _scan(pa: np.ndarray, pb: np.ndarray, ha: np.ndarray, hb: np.ndarray) -> np.ndarray:
    """Row of each (ha, hb) found by one pass over the persons' hashes, -1 where none; the ids
    sought go in a small hash table that stays in cache."""
    size = 2
    while size < 2 * ha.shape[0]:
        size *= 2
    mask = np.uint64(size - 1)
    keys = np.zeros(size, np.uint64)
    used = np.zeros(size, np.bool_)
    found = np.full(size, -1, np.int64)
    slot_of = np.empty(ha.shape[0], np.int64)
    for k in range(ha.shape[0]):
        s = ha[k] & mask
        while used[s] and keys[s] != ha[k]:
            s = (s + np.uint64(1)) & mask
        used[s] = True
        keys[s] = ha[k]
        slot_of[k] = s
    second = np.zeros(size, np.uint64)
    for k in range(ha.shape[0]):
        second[slot_of[k]] = hb[k]
    for r in range(pa.shape[0]):
        s = pa[r] & mask
        while used[s]:
            if keys[s] == pa[r]:
                if second[s] == pb[r] and found[s] < 0:
                    found[s] = r
                break
            s = (s + np.uint64(1)) & mask
    rows = np.empty(ha.shape[0], np.int64)
    for k in range(ha.shape[0]):
        rows[k] = found[slot_of[k]] if second[slot_of[k]] == hb[k] else -1
    return rows


@njit(cache=True)
def _positions(keep: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Position in ``keep`` of each of the kept ones numbered ``at`` (ascending)."""
    out = np.empty(at.shape[0], np.int64)
    j, k = 0, 0
    for i in range(keep.shape[0]):
        if k == at.shape[0]:
            break
        if keep[i]:
            if j == at[k]:
                out[k] = i
                k += 1
            j += 1
    return out


class Follower:
    """person_id → row of the persons frame, fast for records in the persons' order."""

    def __init__(self, person_ids: pl.Series) -> None:
        self.person_ids = person_ids
        self._table: PersonRows | None = None
        self._slots: np.ndarray | None = None
        self._few: dict[str, int] | None = None
        if person_ids.len() <= _FEW and not person_ids.null_count():  # a dict, no hashing
            self._few = {pid: row for row, pid in enumerate(person_ids.to_list())}
            if len(self._few) < person_ids.len():  # duplicates: PersonRows decides
                self._few = None
        both = _hashes(person_ids) if self._few is None else (_NO_HASH, _NO_HASH)
        self._pa: np.ndarray = both[0]
        self._pb: np.ndarray = both[1]
        self._anchors = _anchors(self._pa, _EVERY)

    def table(self) -> PersonRows:
        if self._table is None:
            self._table = PersonRows(self.person_ids)
        return self._table

    def slots(self) -> np.ndarray:
        """The hash table over the persons for records in no order, built on first need."""
        if self._slots is None:
            self._slots = _table(self._pa, self._pb)
        return self._slots

    def __call__(self, wanted: pl.Series, record: str, keep: np.ndarray | None = None,
                 hashes: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """Row for each of ``wanted`` (each kept one, with ``keep``); ``hashes``: its
        `hash_exprs`, if worked out already. An unknown id is `PersonRows`'s InputError."""
        if wanted.null_count() or self.person_ids.null_count():
            return self.table()(wanted, record, keep)
        if self._few is not None:
            ids = wanted.to_list()
            found = [self._few.get(pid, -1) for i, pid in enumerate(ids)
                     if keep is None or keep[i]]
            if -1 in found:  # PersonRows names the unknown ids
                return self.table()(wanted, record, keep)
            return np.array(found, np.int64)
        ha, hb = hashes if hashes is not None else _hashes(wanted)
        kept = np.ones(ha.size, bool) if keep is None else keep
        rows = np.empty(int(kept.sum()), np.int64)
        missed = _follow(self._pa, self._pb, *self._anchors, ha, hb, kept, rows, _WINDOW, _TRIAL)
        if missed < 0:  # in no particular order: all through the table at once
            missed = _probe(self.slots(), ha, hb, kept, rows)
        elif missed:
            at = np.flatnonzero(rows < 0)
            where = at if keep is None else _positions(kept, at)  # positions in wanted
            if at.size <= self._pa.size // 16:
                rows[at] = _scan(self._pa, self._pb, ha[where], hb[where])
            else:
                hit = np.empty(at.size, np.int64)
                _probe(self.slots(), ha[where], hb[where], np.ones(at.size, bool), hit)
                rows[at] = hit
            missed = int((rows[at] < 0).sum())
        if missed:  # PersonRows names the unknown ids, numbered as it numbers them
            return self.table()(wanted, record, keep)
        return rows
