"""The waiting-period rule of SPEC §6.2 per enrolment, in one Numba pass.

`enrollment.benefit_starts` gathers each enrolment's inputs (the person's last enrolled
year, birth day and categories; the record's payment day, 职工医保 end and repaid years) and
the rule's values for each year (`year_terms`); `waiting` then decides every enrolment in
one pass. Dates are day numbers (days since 1970-01-01, `yibao.days`).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from numba import njit

from yibao.days import civil, day_number, from_civil
from yibao.policy import Resolved
from yibao.policy.model import CATEGORIES

WAITING_REASONS = ("EXEMPT", "NEWBORN", "EMPLOYEE_TRANSFER", "CONCENTRATED", "WAITING_FIXED",
                   "WAITING_VARIABLE", "WAITING_LONG_BREAK")
EXEMPT, NEWBORN, EMPLOYEE_TRANSFER, CONCENTRATED, FIXED, VARIABLE, LONG_BREAK = range(7)
NO_DAY = int(np.iinfo(np.int32).min)  # an unknown date

# the columns of `year_terms`, one row per year
(_EXEMPT_MASK, _GRACE, _WINDOW_START, _WINDOW_END, _NEWBORN_EXEMPT, _BORN_FROM, _PER_BREAK,
 _FREE_BREAKS, _FIXED, _LONG_YEARS, _LONG_MIN, _JAN1) = range(12)


@njit(cache=True)
def add_month_days(day: int, months: int) -> int:
    """Calendar months on a day number: the same day of the month, or the month's last day
    when it has none (31 August + 3 months = 30 November)."""
    if months == 0:
        return day
    year, month, dom = civil(day)
    total = year * 12 + month - 1 + months
    ty, tm = total // 12, total % 12 + 1
    first = from_civil(ty, tm, 1)
    length = (from_civil(ty + 1, 1, 1) if tm == 12 else from_civil(ty, tm + 1, 1)) - first
    return first + min(dom, length) - 1


@njit(cache=True)
def add_months(day: np.ndarray, months: np.ndarray) -> np.ndarray:
    """`add_month_days` of each pair."""
    out = np.empty(day.shape[0], np.int64)
    for i in range(day.shape[0]):
        out[i] = add_month_days(day[i], months[i])
    return out


def year_terms(resolved: dict[int, Resolved], exempt_codes: list[str],
               window: dict[int, tuple[int, int]]) -> tuple[int, np.ndarray]:
    """(first year, one row per year from it): the rule's values in force in each year of
    ``resolved`` (year → resolved policy values); ``exempt_codes``: the categories whose bits
    the persons' ``held`` masks carry; ``window``: each year's concentrated period."""
    lo, hi = min(resolved), max(resolved)
    terms = np.zeros((hi - lo + 1, 12), np.int64)
    for y, on in resolved.items():
        get = on.get
        exempt = get("enrollment.waiting.exempt_categories")
        row = terms[y - lo]
        row[_EXEMPT_MASK] = sum(1 << exempt_codes.index(c) for c in exempt)
        row[_GRACE] = get("enrollment.waiting.employee_grace_months")
        row[_WINDOW_START], row[_WINDOW_END] = window[y]
        row[_NEWBORN_EXEMPT] = "newborn" in exempt
        row[_BORN_FROM] = day_number(dt.date(y - 1, 1, 1))  # born in y − 1 or later
        row[_PER_BREAK] = get("enrollment.waiting.per_break_year_months")
        row[_FREE_BREAKS] = get("enrollment.waiting.free_break_years")
        row[_FIXED] = get("enrollment.waiting.fixed_months")
        row[_LONG_YEARS] = get("enrollment.waiting.long_break_years")
        row[_LONG_MIN] = get("enrollment.waiting.long_break_min_months")
        row[_JAN1] = day_number(dt.date(y, 1, 1))
    return lo, terms


def exempt_codes_of(resolved: dict[int, Resolved]) -> list[str]:
    """Every category exempt in some year of ``resolved``, in CATEGORIES' order."""
    held = {c for on in resolved.values() for c in on.get("enrollment.waiting.exempt_categories")}
    return sorted(held, key=CATEGORIES.index)


@njit(cache=True)
def waiting(year: np.ndarray, first_year: int, terms: np.ndarray, last: np.ndarray,
            birth: np.ndarray, held: np.ndarray, paid: np.ndarray, employee_end: np.ndarray,
            repaid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(benefit start day, waiting months, reason code) of each enrolment.

    In order, the first that holds: an exempt category (EXEMPT); a first enrolment of a
    person born in the year before or later, where newborns are exempt (NEWBORN); paid
    within the grace months after 职工医保 ended (EMPLOYEE_TRANSFER); paid within the
    concentrated period after being enrolled the year before, or for the first time
    (CONCENTRATED). Otherwise the waiting rule: fixed months plus the variable months for
    the break years beyond the free ones less the years repaid, raised to the floor for a
    long break. The exempt start on 1 January or at birth, the concentrated-period payer on
    1 January, the others from payment (1 January at the earliest) plus the months."""
    n = year.shape[0]
    start = np.empty(n, np.int64)
    months = np.zeros(n, np.int64)
    reason = np.empty(n, np.int64)
    for i in range(n):
        t = terms[year[i] - first_year]
        y, pay, jan1 = year[i], paid[i], t[_JAN1]
        first = last[i] < 0
        breaks = 0 if first else y - last[i] - 1
        m, code = 0, FIXED
        if (held[i] & t[_EXEMPT_MASK]) != 0:
            code = EXEMPT
        elif t[_NEWBORN_EXEMPT] != 0 and first and birth[i] >= t[_BORN_FROM]:
            code = NEWBORN
        elif (employee_end[i] != NO_DAY and pay != NO_DAY
              and pay <= add_month_days(employee_end[i], t[_GRACE])):
            code = EMPLOYEE_TRANSFER
        elif t[_WINDOW_START] <= pay <= t[_WINDOW_END] and (first or last[i] == y - 1):
            code = CONCENTRATED
        else:
            variable = max(0, t[_PER_BREAK] * max(0, breaks - t[_FREE_BREAKS]) - repaid[i])
            m = t[_FIXED] + variable
            if t[_LONG_YEARS] > 0 and breaks >= t[_LONG_YEARS] and m < t[_LONG_MIN]:
                m, code = t[_LONG_MIN], LONG_BREAK
            elif variable > 0:
                code = VARIABLE
        if code == CONCENTRATED:
            day = jan1
        elif code in (EXEMPT, NEWBORN, EMPLOYEE_TRANSFER):
            day = max(jan1, birth[i])
        else:
            day = max(pay, jan1)
        start[i] = add_month_days(day, m)
        months[i] = m
        reason[i] = code
    return start, months, reason
