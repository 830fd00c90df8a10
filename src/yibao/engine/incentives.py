"""Continuity and zero-claim incentives of the major-illness cap (国办发〔2024〕38号), SPEC §5.4.

``cap_eff = cap + min(max_fraction × cap, continuity + zero_claim)``; re-enrolling
after a break gives ``cap − break_penalty`` and no increase that year. Computed
for many persons at once over the dense history of ``enrollment.History``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numba import njit

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


def major_caps(policy: Policy, history: History, rows: np.ndarray, year: int) -> CapTerms:
    """The effective major-illness cap of each person in ``rows`` for ``year``."""
    on = policy.resolve(dt.date(year, 1, 1))
    base = int(on.get("major.cap"))
    n = rows.size
    inc = on.get("major.incentives") if on.has("major.incentives") else None
    # the base cap of each year whose reward use counts: [count_from, year)
    reward_caps = {z: int(policy.resolve(dt.date(z, 1, 1)).get("major.cap"))
                   for z in range(inc.count_from, year)} if inc is not None else {}
    h = _Rows(history, rows, reward_caps)
    enrolled = h.enrolled(year)
    zeros = np.zeros(n, np.int64)
    terms = CapTerms(year, base, enrolled, zeros, zeros.copy(), zeros.copy(), zeros.copy(),
                     np.zeros(n, bool), np.full(n, base, np.int64))
    if inc is None or year < inc.count_from:
        return terms
    ever_before = np.zeros(n, bool)
    for y in history.years:
        if y < year:
            ever_before |= h.enrolled(y)
    terms.after_break = enrolled & ever_before & ~h.enrolled(year - 1)
    alive = enrolled.copy()
    for y in range(year, inc.count_from - 1, -1):
        alive &= h.enrolled(y)
        terms.consecutive += alive
    terms.continuity = inc.continuity_step * np.maximum(0, terms.consecutive - inc.after_years)
    count = np.zeros(n, np.int64)
    for z in range(inc.count_from, year):
        in_z = h.enrolled(z)
        reset = h.reward_used(z)
        if inc.zero_claim_reset_on_break:
            reset |= ~in_z
        count = np.where(reset, 0, count) + (in_z & h.no_basic(z))
    terms.zero_claim_years = count
    terms.zero_claim = inc.zero_claim_step * count
    ceiling = mul_bp(base, inc.max_fraction)
    raised = base + np.minimum(ceiling, terms.continuity + terms.zero_claim)
    terms.cap = np.where(terms.after_break, base - inc.break_penalty,
                         np.where(enrolled, raised, base)).astype(np.int64)
    terms.continuity[terms.after_break] = 0
    terms.zero_claim[terms.after_break] = 0
    return terms


@njit(cache=True)
def _flags(enrolled: np.ndarray, basic: np.ndarray, major: np.ndarray, settled: np.ndarray,
           caps: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of ``rows`` and history year: enrolled; zero-claim (results cover the year and
    the basic fund paid nothing); reward used (major payments above the year's base cap,
    ``caps`` < 0 where it does not count). One pass over each person's history row."""
    n, n_years = rows.shape[0], enrolled.shape[0]
    e = np.zeros((n, n_years), np.bool_)
    zero = np.zeros((n, n_years), np.bool_)
    used = np.zeros((n, n_years), np.bool_)
    for i in range(n):
        r = rows[i]
        for c in range(n_years):
            e[i, c] = enrolled[c, r]
            zero[i, c] = settled[c] and basic[c, r] == 0
            used[i, c] = caps[c] >= 0 and major[c, r] > caps[c]
    return e, zero, used


class _Rows:
    """The history of ``rows`` only, gathered in one pass and read year by year; years outside
    the history read as nothing."""

    def __init__(self, h: History, rows: np.ndarray, reward_caps: dict[int, int]) -> None:
        self.first, self.n_years, self.n = h.first_year, h.enrolled.shape[0], rows.size
        caps = np.array([reward_caps.get(y, -1) for y in h.years], np.int64)
        self._enrolled, self._zero, self._used = _flags(
            h.enrolled, h.basic, h.major, h.settled, caps, rows.astype(np.int64, copy=False))

    def _read(self, flags: np.ndarray, year: int) -> np.ndarray:
        c = year - self.first
        return np.zeros(self.n, bool) if c < 0 or c >= self.n_years else flags[:, c]

    def enrolled(self, year: int) -> np.ndarray:
        return self._read(self._enrolled, year)

    def no_basic(self, year: int) -> np.ndarray:
        """Zero-claim year: results cover the year and the basic fund paid the person nothing."""
        return self._read(self._zero, year)

    def reward_used(self, year: int) -> np.ndarray:
        """The year's major-illness payments exceeded that year's base cap."""
        return self._read(self._used, year)


def ladder(policy: Policy, history: History, row: int, year: int) -> list[CapTerms]:
    """One person's effective cap year by year, from the first incentive year up to ``year``."""
    rows = np.array([row])
    first = year
    for y in history.years:
        on = policy.resolve(dt.date(y, 1, 1))
        if y <= year and on.has("major.incentives"):
            first = min(first, max(y, on.get("major.incentives").count_from))
    return [major_caps(policy, history, rows, y) for y in range(first, year + 1)]
