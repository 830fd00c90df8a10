"""Benefit start and waiting periods (待遇等待期), SPEC §6.2.

Enrolment history is held as dense year × person matrices (a province has a
few million persons and a handful of years). The history keeps the person row of
each enrolment it was built from, so that the benefit starts and the financing of
the same records do not look the persons up again. Dates are worked as day
numbers (days since 1970-01-01); the rule itself is `engine.waiting`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl
from numba import njit

from yibao.days import day_number
from yibao.engine.follow import Follower, hash_exprs
from yibao.engine.order import person_index
from yibao.engine.terms import list_mask
from yibao.engine.waiting import (
    NO_DAY,
    WAITING_REASONS,
    exempt_codes_of,
    waiting,
    year_terms,
)
from yibao.policy import Policy
from yibao.policy.model import CATEGORIES, ConcentratedPeriod

__all__ = ["WAITING_REASONS", "History", "benefit_starts", "build_history",
           "concentrated_window", "in_no_order", "resident_of"]
_NO_DAY = NO_DAY
_day = day_number


@njit(cache=True)
def _add_into(enrolled: np.ndarray, basic: np.ndarray, major: np.ndarray, year: np.ndarray,
              keep: np.ndarray, lo: int, rows: np.ndarray, basic_paid: np.ndarray,
              major_paid: np.ndarray, seen: np.ndarray) -> None:
    """For each kept record (person ``rows[j]`` for the j-th kept): mark ``enrolled``, or (with
    payments) add them into basic and major; ``seen`` marks the years met."""
    paying = basic_paid.shape[0] > 0
    j = 0
    for i in range(year.shape[0]):
        if not keep[i]:
            continue
        c, r = year[i] - lo, rows[j]
        j += 1
        seen[c] = True
        if paying:
            basic[c, r] += basic_paid[i]
            major[c, r] += major_paid[i]
        else:
            enrolled[c, r] = True


@njit(cache=True)
def _span(year: np.ndarray, keep: np.ndarray) -> tuple[int, int, int]:
    """(first, last, how many) of the kept years."""
    lo, hi, n = 0, 0, 0
    for i in range(year.shape[0]):
        if keep[i]:
            if n == 0 or year[i] < lo:
                lo = year[i]
            if n == 0 or year[i] > hi:
                hi = year[i]
            n += 1
    return lo, hi, n


@dataclass
class History:
    """Which person was resident-enrolled in which year (any region), and what was paid.

    Matrices are year by person (``[Y, P]``: one year's column of every person is contiguous).
    ``basic``/``major`` hold the year's payments from earlier settlement results;
    ``settled`` marks the years those results cover (a year without results
    cannot count as a zero-claim year). Rows are the rows of the persons frame the
    history was built from; pass that frame along with the history.
    """

    first_year: int
    enrolled: np.ndarray   # [Y, P] bool
    basic: np.ndarray      # [Y, P] int64 fen (build_history: a view, side by side with major)
    major: np.ndarray      # [Y, P] int64 fen
    settled: np.ndarray    # [Y] bool
    lookup: Follower | None = None
    _held: np.ndarray | None = None  # the persons' categories, bit i = CATEGORIES[i]
    _birth: np.ndarray | None = None  # the persons' birth dates as day numbers
    _source: pl.DataFrame | None = None  # the enrolments built from
    _source_resident: np.ndarray | None = None  # which of them are resident enrolments
    _source_rows: np.ndarray | None = None  # the person row of each resident one

    def column(self, year: int) -> int:
        return year - self.first_year

    @property
    def years(self) -> range:
        return range(self.first_year, self.first_year + self.enrolled.shape[0])

    def rows(self, persons: pl.DataFrame, wanted: pl.Series, record: str,
             keep: np.ndarray | None = None,
             hashes: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """Row of ``persons`` (the frame the history was built from) for each of ``wanted``
        (each kept one, with ``keep``; ``hashes``: its `follow.hash_exprs`, if at hand)."""
        if self.lookup is not None and persons.height == self.enrolled.shape[1]:
            return self.lookup(wanted, record, keep, hashes)
        if keep is not None:
            wanted = wanted.filter(pl.Series(keep))
        return person_index(persons["person_id"], wanted, record)

    def enrolment_rows(self, persons: pl.DataFrame, enrollments: pl.DataFrame, years: list[int],
                       pick: np.ndarray | None = None) -> np.ndarray:
        """Row of ``persons`` for each resident enrolment of ``years`` (``pick``: the mask of
        those records, if at hand), in the records' order; kept from `build_history` when
        ``enrollments`` is the frame the history was built from, else looked up."""
        if pick is None:
            pick = enrollments.select(resident_of(years))["_pick"].to_numpy()
        if (enrollments is self._source and self._source_rows is not None
                and self._source_resident is not None
                and persons.height == self.enrolled.shape[1]):
            of_resident = pick[self._source_resident]
            if np.count_nonzero(of_resident) == np.count_nonzero(pick):  # all picked resident
                rows: np.ndarray = self._source_rows[of_resident]
                return rows
        return self.rows(persons, enrollments["person_id"], "enrollments", pick)

    def birth_days(self, persons: pl.DataFrame) -> np.ndarray:
        """Each person's birth date as a day number (``_NO_DAY`` when unknown)."""
        if self.lookup is None or persons.height != self.enrolled.shape[1]:
            return _days(persons["birth_date"])
        if self._birth is None and persons.height <= _FEW:
            self._birth = np.array([_day_or_none(d) for d in persons["birth_date"].to_list()],
                                   np.int64)
        if self._birth is None:
            self._birth = _days(persons["birth_date"])
        return self._birth

    def held(self, persons: pl.DataFrame, rows: np.ndarray, codes: list[str]) -> np.ndarray:
        """Which of ``codes`` (categories) each person of ``rows`` holds, bit i = codes[i]; the
        persons' categories are read once per history."""
        if self.lookup is None or persons.height != self.enrolled.shape[1]:
            mask: np.ndarray = list_mask(persons["categories"], codes)[rows]
            return mask
        if self._held is None and persons.height <= _FEW:  # a few persons: no Arrow round trip
            bit = {c: 1 << i for i, c in enumerate(CATEGORIES)}
            self._held = np.array([sum(bit.get(c, 0) for c in set(held or ()))
                                   for held in persons["categories"].to_list()], np.int64)
        if self._held is None:
            self._held = list_mask(persons["categories"], CATEGORIES)
        # one gather through a table from every set of categories to the bits of ``codes``
        sets = np.arange(1 << len(CATEGORIES), dtype=np.int64)
        remap = np.zeros(sets.size, np.int64)
        for i, code in enumerate(codes):
            remap |= ((sets >> CATEGORIES.index(code)) & 1) << i
        out: np.ndarray = remap[self._held[rows]]
        return out


_NONE = np.zeros(0, np.int64)
_FEW = 64  # up to this many rows, Python lists beat a vectorised round trip


def _hashes_of(frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return frame["_hash_a"].to_numpy(), frame["_hash_b"].to_numpy()


def build_history(persons: pl.DataFrame, enrollments: pl.DataFrame,
                  results: pl.DataFrame | None = None, *, through: int | None = None) -> History:
    """Dense enrolment and payment history from enrolment records and settlement results."""
    hashed = persons.height > _FEW  # a few persons are looked up in a dict (Follower)
    hashes = hash_exprs("person_id") if hashed else []
    enrol = enrollments.select(
        *hashes, "year", resident=(pl.col("scheme") == "resident").fill_null(False))
    resident = enrol["resident"].to_numpy()
    year = enrol["year"].to_numpy()
    first, last, count = _span(year, resident)
    spans = [int(first), int(last)] if count else []
    paid = None
    if results is not None and results.height:
        paid = results.select(
            *hashes, "year", pl.col("basic").fill_null(0).cast(pl.Int64),
            pl.col("major").fill_null(0).cast(pl.Int64))
        spans += [int(paid["year"].min()), int(paid["year"].max())]  # type: ignore[arg-type]
    if through is not None:
        spans.append(through)
    lo, hi = (min(spans), max(spans)) if spans else (2000, 2000)
    shape = (hi - lo + 1, persons.height)
    # a person-year's basic and major payments side by side: one cache line for both, for
    # results in no order as much as for the caps' walk
    payments = np.zeros((*shape, 2), np.int64)
    h = History(lo, np.zeros(shape, bool), payments[:, :, 0], payments[:, :, 1],
                np.zeros(shape[0], bool), Follower(persons["person_id"]))
    rows = h.rows(persons, enrollments["person_id"], "enrollments", resident,
                  _hashes_of(enrol) if hashed else None)
    h._source, h._source_resident, h._source_rows = enrollments, resident, rows
    _add_into(h.enrolled, h.basic, h.major, year, resident, lo, rows, _NONE, _NONE,
              np.zeros(shape[0], bool))
    if results is not None and paid is not None:
        rows = h.rows(persons, results["person_id"], "history", None,
                      _hashes_of(paid) if hashed else None)
        _add_into(h.enrolled, h.basic, h.major, paid["year"].to_numpy(),
                  np.ones(paid.height, bool), lo, rows, paid["basic"].to_numpy(),
                  paid["major"].to_numpy(), h.settled)
    return h


def _days(s: pl.Series) -> np.ndarray:
    """A Date series as int64 day numbers; null → ``_NO_DAY``."""
    return s.to_physical().fill_null(_NO_DAY).to_numpy().astype(np.int64, copy=False)


def _day_expr(column: str) -> pl.Expr:
    """A Date column as day numbers; null → ``_NO_DAY``."""
    return pl.col(column).to_physical().fill_null(_NO_DAY).cast(pl.Int64)


@njit(cache=True)
def _last_enrolled_before(enrolled: np.ndarray, first_year: int, rows: np.ndarray,
                          year: np.ndarray) -> np.ndarray:
    """For each (row, year) — ``year`` one per row, or one for all — the last year before it
    in which the person was enrolled, or -1."""
    last = np.full(rows.shape[0], -1, np.int64)
    for i in range(rows.shape[0]):
        y = year[0] if year.shape[0] == 1 else year[i]
        for t in range(min(y - first_year, enrolled.shape[0]) - 1, -1, -1):
            if enrolled[t, rows[i]]:
                last[i] = first_year + t
                break
    return last


@njit(cache=True)
def _descents(rows: np.ndarray) -> int:
    """How many rows are below the one before."""
    n = 0
    for i in range(1, rows.shape[0]):
        n += rows[i] < rows[i - 1]
    return n


def in_no_order(rows: np.ndarray, n_persons: int, passes: int = 1) -> bool:
    """Many rows (a quarter of ``n_persons`` per pass or more) and not mostly ascending: a
    pass over every person in their order, then picking the rows, reads the history
    sequentially where following the rows would not."""
    return (rows.size > _FEW and 4 * rows.size >= n_persons * passes
            and 8 * _descents(rows) > rows.size)


@njit(cache=True)
def _pick_packed(last_each: np.ndarray, first_year: int, birth: np.ndarray, held: np.ndarray,
                 rows: np.ndarray, at: np.ndarray, last: np.ndarray, birth_out: np.ndarray,
                 held_out: np.ndarray) -> None:
    """For the enrolments ``at`` (all, when empty): their persons' last enrolled year, birth
    day and held categories, packed per person into one word first so that each enrolment in
    no order costs one cache miss, not three (birth: 32 bits; last: 16; held: 16)."""
    packed = np.empty(birth.shape[0], np.int64)
    for r in range(birth.shape[0]):
        code = last_each[r] - first_year + 1 if last_each[r] >= 0 else 0
        packed[r] = (birth[r] << 32) | (code << 16) | held[r]
    n = at.shape[0] if at.shape[0] else rows.shape[0]
    for k in range(n):
        i = at[k] if at.shape[0] else k
        p = packed[rows[i]]
        code = (p >> 16) & 0xFFFF
        last[i] = code - 1 + first_year if code else -1
        birth_out[i] = p >> 32
        held_out[i] = p & 0xFFFF


def _person_terms(history: History, persons: pl.DataFrame, rows: np.ndarray, year: np.ndarray,
                  present: list[int], codes: list[str]
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each enrolment's person's last enrolled year before the enrolment's (`_last_enrolled_
    before`), birth day and held ``codes``; for many persons in no particular order, worked
    out for every person in the persons' order and then picked for the rows."""
    n_persons = history.enrolled.shape[1]
    birth = history.birth_days(persons)
    if not in_no_order(rows, n_persons, len(present)) or len(codes) > 16:
        return (_last_enrolled_before(history.enrolled, history.first_year, rows, year),
                birth[rows], history.held(persons, rows, codes))
    every = np.arange(n_persons)
    held = history.held(persons, every, codes)
    out = np.empty(rows.size, np.int64), np.empty(rows.size, np.int64), np.empty(rows.size,
                                                                                 np.int64)
    for y in present:
        each = _last_enrolled_before(history.enrolled, history.first_year, every,
                                     np.array([y], np.int64))
        at = np.flatnonzero(year == y) if len(present) > 1 else _NONE
        _pick_packed(each, history.first_year, birth, held, rows, at, *out)
    return out


def concentrated_window(window: ConcentratedPeriod, year: int) -> tuple[int, int]:
    """The concentrated period (集中参保期) for enrolment ``year`` as day numbers (first, last):
    it opens in ``year − 1`` and closes then or, when it runs past 31 December, in ``year``."""
    start, end = window.start, window.end
    w_start = dt.date(year - 1, *map(int, start.split("-")))
    w_end = dt.date(year - 1 if end > start else year, *map(int, end.split("-")))
    return _day(w_start), _day(w_end)


def resident_of(years: list[int]) -> pl.Expr:
    """``_pick``: the record is a resident enrolment of one of ``years``."""
    return ((pl.col("scheme") == "resident") & pl.col("year").is_in(years)).fill_null(
        False).alias("_pick")


def _records_of(enrollments: pl.DataFrame, years: list[int]) -> tuple[pl.DataFrame, np.ndarray]:
    """The resident enrolments of ``years`` — person_id, year, region and, as day numbers and
    counts, _paid, _employee_end, _repaid — and the mask picking them from ``enrollments``."""
    if enrollments.height > _FEW:  # one pass over the records
        every = enrollments.select(
            "person_id", "year", "region", resident_of(years),
            _paid=_day_expr("paid_date"), _employee_end=_day_expr("employee_end_date"),
            _repaid=pl.col("repaid_years").fill_null(0).cast(pl.Int64))
        return every.filter(pl.col("_pick")), every["_pick"].to_numpy()
    # a few records (one person online): Python lists cost less than Polars' fixed costs
    cols = {c: enrollments[c].to_list() for c in ("scheme", "year", "paid_date",
                                                    "employee_end_date", "repaid_years")}
    pick = [i for i, (scheme, year) in enumerate(zip(cols["scheme"], cols["year"], strict=True))
            if scheme == "resident" and year in years]
    out = enrollments.select("person_id", "year", "region")
    out = out if len(pick) == out.height else out[pick]
    mask = np.zeros(enrollments.height, bool)
    mask[pick] = True
    return out.with_columns(
        pl.Series("_paid", [_day_or_none(cols["paid_date"][i]) for i in pick], pl.Int64),
        pl.Series("_employee_end", [_day_or_none(cols["employee_end_date"][i]) for i in pick],
                  pl.Int64),
        pl.Series("_repaid", [cols["repaid_years"][i] or 0 for i in pick], pl.Int64)), mask


def _day_or_none(d: dt.date | None) -> int:
    return _NO_DAY if d is None else _day(d)


def benefit_starts(policy: Policy, persons: pl.DataFrame, enrollments: pl.DataFrame,
                   history: History, years: list[int]) -> pl.DataFrame:
    """Per resident enrolment of ``years``: benefit_start, waiting_months, waiting_reason.

    SPEC §6.2. Rows come back in the order of those enrolments in ``enrollments``;
    enrolments of other years only serve as history.
    """
    res, pick = _records_of(enrollments, years)
    if res.height == 0:
        return res.select("person_id", "year", "region").with_columns(
            pl.lit(None, pl.Date).alias("benefit_start"),
            pl.lit(0, pl.Int32).alias("waiting_months"),
            pl.lit(None, pl.String).alias("waiting_reason"))
    rows = history.enrolment_rows(persons, enrollments, years, pick)
    year = res["year"].to_numpy().astype(np.int64)
    present = sorted(set(years) & set(res["year"].unique().to_list()))
    resolved = {y: policy.resolve(dt.date(y, 1, 1)) for y in present}
    exempt_codes = exempt_codes_of(resolved)
    windows = {y: concentrated_window(on.get("enrollment.concentrated_period"), y)
               for y, on in resolved.items()}
    first_year, terms = year_terms(resolved, exempt_codes, windows)
    start, months, reason = waiting(
        year, first_year, terms, *_person_terms(history, persons, rows, year, present,
                                                exempt_codes),
        res["_paid"].to_numpy().astype(np.int64, copy=False),
        res["_employee_end"].to_numpy().astype(np.int64, copy=False),
        res["_repaid"].to_numpy().astype(np.int64, copy=False))
    return pl.DataFrame({
        "person_id": res["person_id"], "year": res["year"], "region": res["region"],
        "benefit_start": pl.Series(start.astype("datetime64[D]"), dtype=pl.Date),
        "waiting_months": pl.Series(months, dtype=pl.Int32),
        "waiting_reason": (pl.Series([WAITING_REASONS[r] for r in reason.tolist()], dtype=pl.String)
                           if reason.size <= _FEW else
                           pl.Series(WAITING_REASONS, dtype=pl.String).gather(reason)),
    })

