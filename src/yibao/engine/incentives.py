"""Continuity and zero-claim incentives of the major-illness cap (国办发〔2024〕38号), SPEC §5.4.

``cap_eff = cap + min(max_fraction × cap, continuity + zero_claim)``; re-enrolling
after a break gives ``cap − break_penalty`` and no increase that year. Computed
for many persons at once over the dense history of ``enrollment.History``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from yibao.engine.enrollment import History
from yibao.money import mul_bp
from yibao.policy import Policy


@dataclass
class CapTerms:
    """Per person (of ``rows``) for one year: how the effective cap was reached."""

    year: int
    base_cap: int
    enrolled: np.ndarray
    consecutive: np.ndarray       # n
    continuity: np.ndarray        # fen
    zero_claim_years: np.ndarray  # z
    zero_claim: np.ndarray        # fen
    after_break: np.ndarray       # re-enrolled after a break: penalty, no increase
    cap: np.ndarray               # the effective cap, fen


def _column(h: History, year: int) -> np.ndarray | None:
    c = year - h.first_year
    return None if c < 0 or c >= h.enrolled.shape[1] else np.asarray(c)


def major_caps(policy: Policy, history: History, rows: np.ndarray, year: int) -> CapTerms:
    """The effective major-illness cap of each person in ``rows`` for ``year``."""
    on = policy.resolve(dt.date(year, 1, 1))
    base = int(on.get("major.cap"))
    n = rows.size
    enrolled = _enrolled(history, rows, year)
    zeros = np.zeros(n, np.int64)
    terms = CapTerms(year, base, enrolled, zeros, zeros.copy(), zeros.copy(), zeros.copy(),
                     np.zeros(n, bool), np.full(n, base, np.int64))
    if not on.has("major.incentives"):
        return terms
    inc = on.get("major.incentives")
    if year < inc.count_from:
        return terms
    ever_before = np.zeros(n, bool)
    for y in history.years:
        if y < year:
            ever_before |= _enrolled(history, rows, y)
    terms.after_break = enrolled & ever_before & ~_enrolled(history, rows, year - 1)
    alive = enrolled.copy()
    for y in range(year, inc.count_from - 1, -1):
        alive &= _enrolled(history, rows, y)
        terms.consecutive += alive
    terms.continuity = inc.continuity_step * np.maximum(0, terms.consecutive - inc.after_years)
    count = np.zeros(n, np.int64)
    for z in range(inc.count_from, year):
        in_z = _enrolled(history, rows, z)
        reset = _reward_used(policy, history, rows, z)
        if inc.zero_claim_reset_on_break:
            reset |= ~in_z
        count = np.where(reset, 0, count) + (in_z & _no_basic(history, rows, z))
    terms.zero_claim_years = count
    terms.zero_claim = inc.zero_claim_step * count
    ceiling = mul_bp(base, inc.max_fraction)
    raised = base + np.minimum(ceiling, terms.continuity + terms.zero_claim)
    terms.cap = np.where(terms.after_break, base - inc.break_penalty,
                         np.where(enrolled, raised, base)).astype(np.int64)
    terms.continuity[terms.after_break] = 0
    terms.zero_claim[terms.after_break] = 0
    return terms


def _enrolled(h: History, rows: np.ndarray, year: int) -> np.ndarray:
    c = _column(h, year)
    return np.zeros(rows.size, bool) if c is None else h.enrolled[rows, int(c)]


def _no_basic(h: History, rows: np.ndarray, year: int) -> np.ndarray:
    """Zero-claim year: results cover the year and the basic fund paid the person nothing."""
    c = _column(h, year)
    if c is None or not h.settled[int(c)]:
        return np.zeros(rows.size, bool)
    return np.asarray(h.basic[rows, int(c)] == 0)


def _reward_used(policy: Policy, h: History, rows: np.ndarray, year: int) -> np.ndarray:
    """The year's major-illness payments exceeded that year's base cap."""
    c = _column(h, year)
    if c is None:
        return np.zeros(rows.size, bool)
    base = int(policy.resolve(dt.date(year, 1, 1)).get("major.cap"))
    return np.asarray(h.major[rows, int(c)] > base)


def ladder(policy: Policy, history: History, row: int, year: int) -> list[CapTerms]:
    """One person's effective cap year by year, from the first incentive year up to ``year``."""
    rows = np.array([row])
    first = year
    for y in history.years:
        on = policy.resolve(dt.date(y, 1, 1))
        if y <= year and on.has("major.incentives"):
            first = min(first, max(y, on.get("major.incentives").count_from))
    return [major_caps(policy, history, rows, y) for y in range(first, year + 1)]
