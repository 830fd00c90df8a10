"""Benefit start and waiting periods (待遇等待期), SPEC §6.2.

Enrolment history is held as dense person × year matrices (a province has a
few million persons and a handful of years), so every rule is a handful of
vectorised column operations per year instead of a per-person loop.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from yibao.engine.order import person_index
from yibao.engine.terms import list_mask
from yibao.policy import Policy
from yibao.policy.model import CATEGORIES

WAITING_REASONS = ("EXEMPT", "NEWBORN", "EMPLOYEE_TRANSFER", "CONCENTRATED", "WAITING_FIXED",
                   "WAITING_VARIABLE", "WAITING_LONG_BREAK")
EXEMPT, NEWBORN, EMPLOYEE_TRANSFER, CONCENTRATED, FIXED, VARIABLE, LONG_BREAK = range(7)


@dataclass
class History:
    """Which person was resident-enrolled in which year (any region), and what was paid.

    ``basic``/``major`` hold the year's payments from earlier settlement results;
    ``settled`` marks the years those results cover (a year without results
    cannot count as a zero-claim year).
    """

    first_year: int
    enrolled: np.ndarray   # [P, Y] bool
    basic: np.ndarray      # [P, Y] int64 fen
    major: np.ndarray      # [P, Y] int64 fen
    settled: np.ndarray    # [Y] bool

    def column(self, year: int) -> int:
        return year - self.first_year

    @property
    def years(self) -> range:
        return range(self.first_year, self.first_year + self.enrolled.shape[1])


def build_history(persons: pl.DataFrame, enrollments: pl.DataFrame,
                  results: pl.DataFrame | None = None, *, through: int | None = None) -> History:
    """Dense enrolment and payment history from enrolment records and settlement results."""
    resident = enrollments.filter(pl.col("scheme") == "resident")
    spans = [int(y) for y in resident["year"].unique()]
    if results is not None:
        spans += [int(y) for y in results["year"].unique()]
    if through is not None:
        spans.append(through)
    lo, hi = (min(spans), max(spans)) if spans else (2000, 2000)
    n_years = hi - lo + 1
    h = History(lo, np.zeros((persons.height, n_years), bool),
                np.zeros((persons.height, n_years), np.int64),
                np.zeros((persons.height, n_years), np.int64), np.zeros(n_years, bool))
    rows = person_index(persons["person_id"], resident["person_id"], "enrollments")
    h.enrolled[rows, resident["year"].to_numpy().astype(np.int64) - lo] = True
    if results is not None and results.height:
        per = results.group_by("person_id", "year").agg(pl.col("basic").sum(),
                                                         pl.col("major").sum())
        rows = person_index(persons["person_id"], per["person_id"], "history")
        cols = per["year"].to_numpy().astype(np.int64) - lo
        h.basic[rows, cols] = per["basic"].to_numpy()
        h.major[rows, cols] = per["major"].to_numpy()
        h.settled[np.unique(results["year"].to_numpy().astype(np.int64) - lo)] = True
    return h


def _last_enrolled_before(h: History) -> np.ndarray:
    """[P, Y]: the last year before each year in which the person was enrolled, or -1."""
    last = np.full(h.enrolled.shape, -1, np.int64)
    for t in range(1, h.enrolled.shape[1]):
        last[:, t] = np.where(h.enrolled[:, t - 1], h.first_year + t - 1, last[:, t - 1])
    return last


def _add_months(start: pl.Series, months: np.ndarray) -> pl.Series:
    """Calendar months: the same day, or the month's last day when it has none."""
    frame = pl.DataFrame({"d": start, "m": months})
    return frame.select(pl.col("d").dt.offset_by(pl.format("{}mo", pl.col("m"))))["d"]


def benefit_starts(policy: Policy, persons: pl.DataFrame, enrollments: pl.DataFrame,
                   history: History, years: list[int]) -> pl.DataFrame:
    """Per resident enrolment of ``years``: benefit_start, waiting_months, waiting_reason.

    SPEC §6.2. Rows come back in the order of those enrolments in ``enrollments``;
    enrolments of other years only serve as history.
    """
    res = enrollments.filter((pl.col("scheme") == "resident") & pl.col("year").is_in(years))
    if res.height == 0:
        return res.select("person_id", "year", "region").with_columns(
            pl.lit(None, pl.Date).alias("benefit_start"),
            pl.lit(0, pl.Int32).alias("waiting_months"),
            pl.lit(None, pl.String).alias("waiting_reason"))
    rows = person_index(persons["person_id"], res["person_id"], "enrollments")
    year = res["year"].to_numpy().astype(np.int64)
    col = year - history.first_year
    last = _last_enrolled_before(history)[rows, col]
    first_enrolment = last < 0
    enrolled_prev = last == year - 1
    break_years = np.where(first_enrolment, 0, year - last - 1)
    birth = persons["birth_date"].gather(rows)
    birth_year = birth.dt.year().to_numpy().astype(np.int64)
    categories = list_mask(persons["categories"], list(CATEGORIES))[rows]
    paid = res["paid_date"]
    paid_day = paid.cast(pl.Int32).to_numpy()

    months = np.zeros(res.height, np.int64)
    reason = np.full(res.height, FIXED, np.int64)
    waits = np.ones(res.height, bool)  # still to be decided by the waiting rule
    from_paid = np.ones(res.height, bool)
    for y in np.unique(year):
        on = policy.resolve(dt.date(int(y), 1, 1))
        sel = year == y
        exempt = [CATEGORIES.index(c) for c in on.get("enrollment.waiting.exempt_categories")]
        exempt_mask = sum(1 << i for i in exempt)
        newborn_exempt = "newborn" in on.get("enrollment.waiting.exempt_categories")
        grace = on.get("enrollment.waiting.employee_grace_months")
        window = on.get("enrollment.concentrated_period")
        w_start = dt.date(int(y) - 1, *map(int, window.start.split("-")))
        end_year = int(y) - 1 if window.end > window.start else int(y)
        w_end = dt.date(end_year, *map(int, window.end.split("-")))
        emp_limit = (res["employee_end_date"].dt.offset_by(f"{grace}mo").cast(pl.Int32)
                     .fill_null(np.iinfo(np.int32).min).to_numpy())
        transfer = sel & (paid_day <= emp_limit)
        by_category = sel & ((categories & exempt_mask) != 0)
        newborn = sel & newborn_exempt & first_enrolment & (birth_year >= y - 1)
        concentrated = (sel & (paid_day >= _day(w_start)) & (paid_day <= _day(w_end))
                        & (enrolled_prev | first_enrolment))
        for hit, code in ((by_category, EXEMPT), (newborn, NEWBORN), (transfer, EMPLOYEE_TRANSFER),
                          (concentrated, CONCENTRATED)):
            hit = hit & waits
            reason[hit] = code
            waits &= ~hit
            from_paid[hit] = False
        fixed = on.get("enrollment.waiting.fixed_months")
        per_break = on.get("enrollment.waiting.per_break_year_months")
        free = on.get("enrollment.waiting.free_break_years")
        long_years = on.get("enrollment.waiting.long_break_years")
        long_min = on.get("enrollment.waiting.long_break_min_months")
        rest = sel & waits
        variable = np.maximum(0, per_break * np.maximum(0, break_years - free)
                              - res["repaid_years"].to_numpy().astype(np.int64))
        total = fixed + variable
        long_break = (long_years > 0) & (break_years >= long_years) & (total < long_min)
        months[rest] = np.where(long_break, long_min, total)[rest]
        reason[rest] = np.select([long_break, variable > 0], [LONG_BREAK, VARIABLE], FIXED)[rest]
    jan1 = pl.Series([dt.date(int(y), 1, 1) for y in year], dtype=pl.Date)
    start_point = pl.DataFrame({"a": paid, "b": jan1, "birth": birth}).select(
        pl.when(pl.Series(from_paid)).then(pl.max_horizontal("a", "b"))
        .otherwise(pl.when(pl.Series(np.isin(reason, [EXEMPT, NEWBORN, EMPLOYEE_TRANSFER])))
                   .then(pl.max_horizontal("b", "birth")).otherwise("b")))[:, 0]
    return pl.DataFrame({
        "person_id": res["person_id"], "year": res["year"], "region": res["region"],
        "benefit_start": _add_months(start_point, months),
        "waiting_months": pl.Series(months, dtype=pl.Int32),
        "waiting_reason": pl.Series(np.array(WAITING_REASONS, dtype=object)[reason],
                                    dtype=pl.String),
    })


def _day(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days
