"""Benefit start and waiting periods (待遇等待期), SPEC §6.2.

Enrolment history is held as dense person × year matrices (a province has a
few million persons and a handful of years), so every rule is a handful of
vectorised column operations per year instead of a per-person loop. Dates are
worked as day numbers (days since 1970-01-01) in NumPy, calendar months
included; only the inputs and the output touch Polars.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl
from numba import njit

from yibao.engine.follow import Follower, hash_exprs
from yibao.engine.order import person_index
from yibao.engine.terms import list_mask
from yibao.policy import Policy
from yibao.policy.model import CATEGORIES, ConcentratedPeriod

WAITING_REASONS = ("EXEMPT", "NEWBORN", "EMPLOYEE_TRANSFER", "CONCENTRATED", "WAITING_FIXED",
                   "WAITING_VARIABLE", "WAITING_LONG_BREAK")
EXEMPT, NEWBORN, EMPLOYEE_TRANSFER, CONCENTRATED, FIXED, VARIABLE, LONG_BREAK = range(7)
_NO_DAY = np.iinfo(np.int32).min


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
    basic: np.ndarray      # [Y, P] int64 fen
    major: np.ndarray      # [Y, P] int64 fen
    settled: np.ndarray    # [Y] bool
    lookup: Follower | None = None
    _held: np.ndarray | None = None  # the persons' categories, bit i = CATEGORIES[i]
    _birth: np.ndarray | None = None  # the persons' birth dates as day numbers

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
    h = History(lo, np.zeros(shape, bool), np.zeros(shape, np.int64), np.zeros(shape, np.int64),
                np.zeros(shape[0], bool), Follower(persons["person_id"]))
    rows = h.rows(persons, enrollments["person_id"], "enrollments", resident,
                  _hashes_of(enrol) if hashed else None)
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


def _jan1(year: np.ndarray) -> np.ndarray:
    """Day number of 1 January of each year (a table over the few years there are)."""
    lo = int(year.min())
    table = (np.arange(lo, int(year.max()) + 1) - 1970).astype("datetime64[Y]")
    jan1: np.ndarray = table.astype("datetime64[D]").astype(np.int64)[year - lo]
    return jan1


def add_months(day: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Calendar months on day numbers: the same day, or the month's last day when it has none
    (31 August + 3 months = 30 November)."""
    out = np.array(day, np.int64)
    some = months != 0  # the calendar work only where there is some
    out[some] = _add_months(out[some], months[some])
    return out


def _add_months(day: np.ndarray, months: np.ndarray) -> np.ndarray:
    d = np.asarray(day, np.int64).astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    day_of_month = (d - month.astype("datetime64[D]")).astype(np.int64)
    target = month + np.asarray(months, np.int64).astype("timedelta64[M]")
    start = target.astype("datetime64[D]").astype(np.int64)
    length = (target + 1).astype("datetime64[D]").astype(np.int64) - start
    out: np.ndarray = start + np.minimum(day_of_month, length - 1)
    return out


@njit(cache=True)
def _last_enrolled_before(enrolled: np.ndarray, first_year: int, rows: np.ndarray,
                          year: np.ndarray) -> np.ndarray:
    """For each (row, year): the last year before it in which the person was enrolled, or -1."""
    last = np.full(rows.shape[0], -1, np.int64)
    for i in range(rows.shape[0]):
        for t in range(min(year[i] - first_year, enrolled.shape[0]) - 1, -1, -1):
            if enrolled[t, rows[i]]:
                last[i] = first_year + t
                break
    return last


def concentrated_window(window: ConcentratedPeriod, year: int) -> tuple[int, int]:
    """The concentrated period (集中参保期) for enrolment ``year`` as day numbers (first, last):
    it opens in ``year − 1`` and closes then or, when it runs past 31 December, in ``year``."""
    start, end = window.start, window.end
    w_start = dt.date(year - 1, *map(int, start.split("-")))
    w_end = dt.date(year - 1 if end > start else year, *map(int, end.split("-")))
    return _day(w_start), _day(w_end)


def _records_of(enrollments: pl.DataFrame, years: list[int]) -> pl.DataFrame:
    """The resident enrolments of ``years``: person_id, year, region and, as day numbers and
    counts, _paid, _employee_end, _repaid."""
    if enrollments.height > _FEW:  # one pass over the records
        return enrollments.select(
            "person_id", "year", "region",
            _pick=((pl.col("scheme") == "resident") & pl.col("year").is_in(years)).fill_null(False),
            _paid=_day_expr("paid_date"), _employee_end=_day_expr("employee_end_date"),
            _repaid=pl.col("repaid_years").fill_null(0).cast(pl.Int64)).filter(pl.col("_pick"))
    # a few records (one person online): Python lists cost less than Polars' fixed costs
    cols = {c: enrollments[c].to_list() for c in ("scheme", "year", "paid_date",
                                                    "employee_end_date", "repaid_years")}
    pick = [i for i, (scheme, year) in enumerate(zip(cols["scheme"], cols["year"], strict=True))
            if scheme == "resident" and year in years]
    out = enrollments.select("person_id", "year", "region")
    out = out if len(pick) == out.height else out[pick]
    return out.with_columns(
        pl.Series("_paid", [_day_or_none(cols["paid_date"][i]) for i in pick], pl.Int64),
        pl.Series("_employee_end", [_day_or_none(cols["employee_end_date"][i]) for i in pick],
                  pl.Int64),
        pl.Series("_repaid", [cols["repaid_years"][i] or 0 for i in pick], pl.Int64))


def _day_or_none(d: dt.date | None) -> int:
    return _NO_DAY if d is None else _day(d)


def benefit_starts(policy: Policy, persons: pl.DataFrame, enrollments: pl.DataFrame,
                   history: History, years: list[int]) -> pl.DataFrame:
    """Per resident enrolment of ``years``: benefit_start, waiting_months, waiting_reason.

    SPEC §6.2. Rows come back in the order of those enrolments in ``enrollments``;
    enrolments of other years only serve as history.
    """
    res = _records_of(enrollments, years)
    if res.height == 0:
        return res.select("person_id", "year", "region").with_columns(
            pl.lit(None, pl.Date).alias("benefit_start"),
            pl.lit(0, pl.Int32).alias("waiting_months"),
            pl.lit(None, pl.String).alias("waiting_reason"))
    rows = history.rows(persons, res["person_id"], "enrollments")
    year = res["year"].to_numpy().astype(np.int64)
    last = _last_enrolled_before(history.enrolled, history.first_year, rows, year)
    first_enrolment = last < 0
    enrolled_prev = last == year - 1
    break_years = np.where(first_enrolment, 0, year - last - 1)
    birth = history.birth_days(persons)[rows]
    paid = res["_paid"].to_numpy().astype(np.int64, copy=False)
    employee_end = res["_employee_end"].to_numpy().astype(np.int64, copy=False)
    repaid = res["_repaid"].to_numpy().astype(np.int64, copy=False)
    present = np.array(sorted(set(years)), np.int64)
    present = present[np.isin(present, res["year"].unique().to_numpy())]
    jan1 = _jan1(year) if present.size > 1 else np.int64(_day(dt.date(int(present[0]), 1, 1)))

    months = np.zeros(res.height, np.int64)
    reason = np.full(res.height, FIXED, np.int64)
    waits = np.ones(res.height, bool)  # still to be decided by the waiting rule
    resolved = {int(y): policy.resolve(dt.date(int(y), 1, 1)) for y in present}
    exempt_lists = {tuple(on.get("enrollment.waiting.exempt_categories"))
                    for on in resolved.values()}
    exempt_codes = sorted({c for codes in exempt_lists for c in codes}, key=CATEGORIES.index)
    held = history.held(persons, rows, exempt_codes)
    given = (employee_end != _NO_DAY) & (paid != _NO_DAY)
    for y, on in resolved.items():
        sel = year == y if len(resolved) > 1 else np.ones(res.height, bool)
        exempt = on.get("enrollment.waiting.exempt_categories")
        exempt_mask = sum(1 << exempt_codes.index(c) for c in exempt)
        grace = on.get("enrollment.waiting.employee_grace_months")
        w_start, w_end = concentrated_window(on.get("enrollment.concentrated_period"), y)
        transfer = sel & given & (paid <= add_months(employee_end, np.where(given, grace, 0)))
        by_category = sel & ((held & exempt_mask) != 0)
        born = birth >= _day(dt.date(y - 1, 1, 1))  # in y − 1 or later (null: _NO_DAY)
        newborn = sel & ("newborn" in exempt) & first_enrolment & born
        concentrated = (sel & (paid >= w_start) & (paid <= w_end)
                        & (enrolled_prev | first_enrolment))
        for hit, code in ((by_category, EXEMPT), (newborn, NEWBORN), (transfer, EMPLOYEE_TRANSFER),
                          (concentrated, CONCENTRATED)):
            hit &= waits
            reason[hit] = code
            waits &= ~hit
        # the waiting rule, on the rows left to it only
        rest = np.flatnonzero(sel & waits)
        breaks = break_years[rest]
        per_break = on.get("enrollment.waiting.per_break_year_months")
        free = on.get("enrollment.waiting.free_break_years")
        variable = np.maximum(0, per_break * np.maximum(0, breaks - free) - repaid[rest])
        total = on.get("enrollment.waiting.fixed_months") + variable
        long_years = on.get("enrollment.waiting.long_break_years")
        long_min = on.get("enrollment.waiting.long_break_min_months")
        long_break = (long_years > 0) & (breaks >= long_years) & (total < long_min)
        months[rest] = np.where(long_break, long_min, total)
        reason[rest] = np.select([long_break, variable > 0], [LONG_BREAK, VARIABLE], FIXED)
    # a late payer waits from the day the payment arrived (a missing paid_date: from 1 January);
    # the exempt from birth; the concentrated-period payer from 1 January
    start = np.where(waits, np.maximum(paid, jan1),
                     np.where(reason == CONCENTRATED, jan1, np.maximum(jan1, birth)))
    start = add_months(start, months)
    return pl.DataFrame({
        "person_id": res["person_id"], "year": res["year"], "region": res["region"],
        "benefit_start": pl.Series(start.astype("datetime64[D]"), dtype=pl.Date),
        "waiting_months": pl.Series(months, dtype=pl.Int32),
        "waiting_reason": (pl.Series([WAITING_REASONS[r] for r in reason.tolist()], dtype=pl.String)
                           if reason.size <= _FEW else
                           pl.Series(WAITING_REASONS, dtype=pl.String).gather(reason)),
    })


def _day(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days
