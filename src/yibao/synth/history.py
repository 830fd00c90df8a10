"""Multi-year enrolment histories (参保历史) for SPEC §5.4 and §6.2: breaks, late payers,
newborns, moves from 职工医保, repaid years, stopping, deaths, and enrolments after death.

Who is enrolled in which year is a (year, person) matrix drawn from each person's kind of
history; the enrolment rows are then drawn with the one-year helpers of
``yibao.synth.enrolment``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from yibao.synth.columns import BOOL, I64, dates, uniform_days, year_days
from yibao.synth.enrolment import (
    LATE_SHARE,
    after_birth,
    category_masks,
    contributions,
    pay_days,
    terms,
)
from yibao.synth.population import People, mortality

#: kinds of enrolment history and their shares: every year alive; a break of 1–5 years and a
#: return; never enrolled; 职工医保 throughout; 职工医保 then resident (a transfer); a first
#: enrolment in a later year (not a newborn); stopped enrolling
KINDS = ("regular", "break", "never", "employee", "transfer", "joiner", "lapsed")
_KIND_SHARE = (0.80, 0.09, 0.02, 0.01, 0.04, 0.02, 0.02)
REGULAR, BREAK, NEVER, EMPLOYEE, TRANSFER, JOINER, LAPSED = range(len(KINDS))
NO_DEATH = np.iinfo(np.int64).max // 4
RETURN_LATE_SHARE = 0.4  # of those coming back after a break, pay late
GRACE_SHARE = 0.85  # of the moves from 职工医保, pay within the 3 grace months


@dataclass(frozen=True)
class Span:
    """Per (year, person) matrices of a multi-year history, years first."""

    years: I64
    jan1: I64  # [Y] epoch day of 1 January
    days: I64  # [Y]
    alive: BOOL  # alive at some point of the year
    resident: BOOL  # resident enrolment
    employee: BOOL  # 职工医保 enrolment


def span_deaths(rng: np.random.Generator, people: People, birth: I64, first_year: int,
                last_year: int) -> I64:
    """Death as an epoch day (NO_DEATH: alive at the end), at the same age-specific rates
    in every year of the span; those who die earlier do not die again in the last year."""
    death = np.full(len(birth), NO_DEATH, dtype=np.int64)
    for y in range(first_year, last_year):
        jan1, days = year_days(y)
        alive = (birth < jan1 + days) & (death == NO_DEATH)
        dies = alive & (rng.random(len(birth)) < mortality(people.age - (last_year - y)))
        lo = np.maximum(birth[dies], jan1)
        death[dies] = uniform_days(rng, lo, np.full(len(lo), jan1 + days - 1))
    jan1_last = year_days(last_year)[0]
    last = people.dies & (death == NO_DEATH)
    death[last] = jan1_last + people.last_day[last]
    return death


def year_view(people: People, birth: I64, death: I64, last_year: int, year: int) -> People:
    """The person arrays (drawn as of last_year) for one year of the span."""
    jan1, days = year_days(year)
    age = np.where(birth < jan1, np.maximum(people.age - (last_year - year), 0), -1)
    return people.in_year(jan1, days, birth, death, age)


def span(rng: np.random.Generator, people: People, birth: I64, death: I64,
         first_year: int, last_year: int) -> tuple[Span, I64, I64]:
    """Who is enrolled in which year; also each person's kind of history and turning year."""
    years = np.arange(first_year, last_year + 1, dtype=np.int64)
    n, n_years = len(birth), len(years)
    jan1 = np.array([year_days(int(y))[0] for y in years], dtype=np.int64)
    days = np.array([year_days(int(y))[1] for y in years], dtype=np.int64)
    alive = (birth[None, :] < (jan1 + days)[:, None]) & (death[None, :] >= jan1[:, None])
    kind = rng.choice(len(KINDS), size=n, p=_KIND_SHARE).astype(np.int64)
    # a change of scheme needs a working age across the span, and a year before and after
    working = (people.age >= 18 + n_years) & (people.age <= 60)
    kind[np.isin(kind, (EMPLOYEE, TRANSFER)) & ~working] = REGULAR
    if n_years < 3:
        kind[kind == BREAK] = REGULAR
    if n_years < 2:
        kind[np.isin(kind, (TRANSFER, JOINER, LAPSED))] = REGULAR
    k = np.arange(n_years, dtype=np.int64)[:, None]
    # break: `length` missed years from index `start`, with a year enrolled on either side
    length = np.minimum(1 + np.floor(rng.random(n) * 5).astype(np.int64), max(n_years - 2, 1))
    start = 1 + np.floor(rng.random(n) * np.maximum(n_years - 1 - length, 1)).astype(np.int64)
    # transfer / joiner / lapsed: the year index where the history changes
    turn = 1 + np.floor(rng.random(n) * max(n_years - 1, 1)).astype(np.int64)
    resident = alive.copy()
    resident &= ~((kind == BREAK) & (k >= start) & (k < start + length))
    resident &= ~np.isin(kind, (NEVER, EMPLOYEE))
    resident &= ~(np.isin(kind, (TRANSFER, JOINER)) & (k < turn))
    resident &= ~((kind == LAPSED) & (k >= turn))
    employee = alive & ((kind == EMPLOYEE) | ((kind == TRANSFER) & (k < turn)))
    # a few families go on paying after a death (registry check ENROLLED_AFTER_DEATH)
    death_k = np.searchsorted(jan1, death, side="right") - 1  # year index of the death
    ghost = (death_k < n_years - 1) & (death < NO_DEATH) & (rng.random(n) < 0.02)
    ghost &= resident[np.clip(death_k, 0, n_years - 1), np.arange(n)]
    resident[np.clip(death_k + 1, 0, n_years - 1)[ghost], np.flatnonzero(ghost)] = True
    return Span(years, jan1, days, alive, resident, employee), kind, turn


def history_enrollments(rng: np.random.Generator, policy_region: str, people: People,
                        persons: pl.DataFrame, birth: I64, death: I64, first_year: int,
                        last_year: int) -> tuple[pl.DataFrame, Span]:
    """Resident and 职工医保 enrolments for every year of the span, in (year, person) order."""
    sp, kind, turn = span(rng, people, birth, death, first_year, last_year)
    n_years, n = sp.resident.shape
    k = np.arange(n_years, dtype=np.int64)[:, None]
    # years missed before each resident enrolment, back to the last one (-1: none before)
    last_k = np.maximum.accumulate(np.where(sp.resident, k, -1), axis=0)
    before = np.vstack([np.full((1, n), -1, dtype=np.int64), last_k[:-1]])
    yk, who = np.nonzero(sp.resident | sp.employee)  # row-major: year, then person
    m = len(yk)
    employee = sp.employee[yk, who]
    missed = np.where(before[yk, who] >= 0, yk - 1 - before[yk, who], 0)
    returning = ~employee & (missed > 0)
    jan1, days = sp.jan1[yk], sp.days[yk]
    year_terms = [terms(policy_region, int(y)) for y in sp.years]

    window_first = np.array([t.window_first for t in year_terms], dtype=np.int64)[yk]
    window_last = np.array([t.window_last for t in year_terms], dtype=np.int64)[yk]
    late = rng.random(m) < np.where(returning, RETURN_LATE_SHARE, LATE_SHARE)
    paid = pay_days(rng, window_first, window_last, days, late)
    paid = after_birth(rng, paid, birth[who] - jan1, days)
    # a transfer from 职工医保 pays when the job ends, any day of the year: most within the
    # 3 grace months of employee_end_date, the rest 100–300 days after it
    moves = ~employee & (kind[who] == TRANSFER) & (yk == turn[who])
    paid[moves] = np.floor(rng.random(moves.sum()) * days[moves]).astype(np.int64)
    gap = np.where(rng.random(m) < GRACE_SHARE, rng.integers(1, 90, m), rng.integers(100, 300, m))
    # nobody pays after death (the ghost enrolments of ENROLLED_AFTER_DEATH excepted)
    alive_then = death[who] >= jan1
    paid = np.where(alive_then, np.minimum(paid, death[who] - jan1), paid)
    paid[employee] = 0

    due = np.stack([t.due for t in year_terms])[yk, category_masks(people)[who]]
    contribution = contributions(rng, due, employee)
    # back contributions after a break of 2 or more years, to shorten the variable wait
    repay = returning & (missed >= 2) & (rng.random(m) < 0.4)
    repaid = np.where(repay, 1 + np.floor(rng.random(m) * (missed - 1)), 0).astype(np.int32)

    pick = pl.Series(who.astype(np.int64))
    frame = pl.DataFrame([
        persons["person_id"].gather(pick),
        pl.Series("year", sp.years[yk].astype(np.int32), dtype=pl.Int32),
        persons["region"].gather(pick),
        pl.Series("scheme", np.where(employee, "employee", "resident"), dtype=pl.String),
        dates("paid_date", jan1 + paid, 0),
        pl.Series("contribution_paid", contribution, dtype=pl.Int64),
        pl.Series("repaid_years", repaid, dtype=pl.Int32),
        dates("employee_end_date", jan1 + paid - gap, 0, moves),
    ])
    return frame, sp
