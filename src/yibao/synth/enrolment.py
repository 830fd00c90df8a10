"""Synthetic enrolments (参保登记与缴费): when people pay and how much.

The amounts and the payment window are not synth's own figures: the contribution each person
owes (the standard less the 分类资助 of their category) is what ``yibao.engine.financing``
works out under the region's resolved policy, and on-time payers pay inside the policy's
集中参保期. A year the policy has no figures for (before its first entries) takes the first
later year that has them. One-year enrolments live here; the multi-year ones in
``yibao.synth.history`` draw with the same helpers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

import numpy as np
import polars as pl

from yibao.engine.enrollment import build_history, concentrated_window
from yibao.engine.financing import finance
from yibao.errors import PolicyError
from yibao.policy import Policy, load_policy, shipped_regions
from yibao.synth.columns import BOOL, I64, dates, year_days
from yibao.synth.population import People
from yibao.synth.tables import CATEGORIES

#: share of residents paying after the 集中参保期 (late payers wait, SPEC §6.2)
LATE_SHARE = 0.06
#: share of persons with no enrolment for the year (NOT_ENROLLED cases), and of 医疗救助 holders
UNENROLLED, UNENROLLED_ASSISTED = 0.02, 0.003
#: share paying less than they owe (补缴 cases)
UNDERPAY_SHARE = 0.005
_BITS = 1 << np.arange(len(CATEGORIES), dtype=np.int64)
_LOOK_AHEAD = 30  # years searched for the policy's first figures


@dataclass(frozen=True)
class Terms:
    """What a year's enrolment draws need from the policy."""

    window_first: int  # first day of the 集中参保期, as a day index of the year (negative)
    window_last: int  # its last day
    due: I64  # fen owed by a person holding the categories of each bit mask (2^len(CATEGORIES))


def policy_for(region: str) -> Policy:
    """The shipped policy nearest to ``region``: its own, its city's, its province's or the
    national one."""
    shipped = set(shipped_regions())
    for code in (region, region[:4] + "00", region[:2] + "0000", "000000"):
        if code in shipped:
            return load_policy(code)
    raise ValueError(f"no shipped policy covers region {region}")  # 000000 is always shipped


@cache
def terms(policy_region: str, year: int) -> Terms:
    """The enrolment terms of ``year`` under the shipped policy of ``policy_region``."""
    policy = load_policy(policy_region)
    masks = np.arange(1 << len(CATEGORIES), dtype=np.int64)
    persons = pl.DataFrame({
        "person_id": [f"M{m:04d}" for m in masks],
        "birth_date": [dt.date(1970, 1, 1)] * len(masks),
        "death_date": pl.Series([None] * len(masks), dtype=pl.Date),
        "categories": [[c for b, c in enumerate(CATEGORIES) if m >> b & 1] for m in masks],
    })
    for y in range(year, year + _LOOK_AHEAD):
        enrollments = pl.DataFrame({
            "person_id": persons["person_id"], "year": pl.Series([y] * len(masks), dtype=pl.Int32),
            "region": [policy.region] * len(masks), "scheme": ["resident"] * len(masks),
            "paid_date": [dt.date(y - 1, 12, 1)] * len(masks),
            "contribution_paid": pl.Series([0] * len(masks), dtype=pl.Int64),
            "repaid_years": pl.Series([0] * len(masks), dtype=pl.Int32),
            "employee_end_date": pl.Series([None] * len(masks), dtype=pl.Date),
        })
        try:
            rows = finance(policy, persons, enrollments, y,
                           build_history(persons, enrollments, through=y))
            period = policy.resolve(dt.date(y, 1, 1)).get("enrollment.concentrated_period")
        except PolicyError:
            continue
        jan1, _ = year_days(year)
        first, last = concentrated_window(period, year)
        return Terms(first - jan1, last - jan1, rows["due"].to_numpy().astype(np.int64))
    raise ValueError(f"policy {policy_region} has no financing figures for {year} or after")


def pay_days(rng: np.random.Generator, first: I64, last: I64, days: I64, late: BOOL) -> I64:
    """Payment day (index of the year): inside the 集中参保期 first .. last with a rush before
    the deadline, or for late payers a few weeks after it."""
    paid = first + np.floor((last - first + 1) * rng.random(len(days)) ** 0.7).astype(np.int64)
    after = np.maximum(last[late] + 1, 0)
    delay = rng.exponential(45.0, int(late.sum())).astype(np.int64)
    paid[late] = np.minimum(after + delay, days[late] - 1)
    return paid


def after_birth(rng: np.random.Generator, paid: I64, birth_day: I64, days: I64) -> I64:
    """Newborns (born on day index ≥ 0) pay in the weeks after birth, within the year."""
    born = birth_day >= 0
    soon = np.minimum(birth_day + rng.integers(0, 60, len(paid)), days - 1)
    out: I64 = np.where(born, np.maximum(paid, soon), paid)
    return out


def contributions(rng: np.random.Generator, due: I64, employee: BOOL) -> I64:
    """What each enrolment paid: what it owes, a few less (whole yuan); 职工医保 nothing here."""
    under = rng.random(len(due)) < UNDERPAY_SHARE
    paid = due.copy()
    paid[under] = (due[under] * rng.random(int(under.sum())) // 100).astype(np.int64) * 100
    paid[employee] = 0
    return paid


def category_masks(people: People) -> I64:
    """Each person's categories as a bit mask (the index into Terms.due)."""
    mask: I64 = people.member @ _BITS
    return mask


def enrollments(rng: np.random.Generator, year: int, t: Terms, people: People,
                persons: pl.DataFrame) -> tuple[pl.DataFrame, BOOL]:
    """One enrolment per person for the year (2% have none); returns it and who may claim."""
    n = len(people.age)
    jan1, n_days = year_days(year)
    days = np.full(n, n_days, dtype=np.int64)
    # 医疗救助 holders are enrolled by the bureau with their contribution assisted: few miss
    enrolled = rng.random(n) >= np.where(people.assist >= 0, UNENROLLED_ASSISTED, UNENROLLED)
    employee = enrolled & (rng.random(n) < 0.01)  # 职工医保: settled elsewhere, so no claims here
    late = rng.random(n) < LATE_SHARE
    window = (np.full(n, t.window_first), np.full(n, t.window_last))
    paid = after_birth(rng, pay_days(rng, *window, days, late), people.birth_day, days)
    paid = np.minimum(paid, people.last_day)
    paid[employee] = 0
    contribution = contributions(rng, t.due[category_masks(people)], employee)
    repaid = np.where(late & (rng.random(n) < 0.1), rng.integers(1, 4, n), 0)
    from_employee = ~employee & (rng.random(n) < 0.01)  # left 职工医保 shortly before paying

    frame = pl.DataFrame([
        persons["person_id"],
        pl.Series("year", np.full(n, year, dtype=np.int32), dtype=pl.Int32),
        persons["region"],
        pl.Series("scheme", np.where(employee, "employee", "resident"), dtype=pl.String),
        dates("paid_date", paid, jan1),
        pl.Series("contribution_paid", contribution, dtype=pl.Int64),
        pl.Series("repaid_years", repaid.astype(np.int32), dtype=pl.Int32),
        dates("employee_end_date", paid - rng.integers(1, 90, n), jan1, from_employee),
    ]).filter(pl.Series(enrolled))
    return frame, ~employee
