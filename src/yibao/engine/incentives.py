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

from yibao.engine.enrollment import History, in_no_order
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
    caps = np.array([reward_caps.get(y, -1) for y in history.years], np.int64)
    rows = rows.astype(np.int64, copy=False)
    counting = inc is not None and year >= inc.count_from
    # many persons in no particular order: every person walked in the persons' order,
    # reading the history sequentially, then picked for ``rows``
    every = in_no_order(rows, history.enrolled.shape[1])
    walked = _walk(
        history.enrolled, history.basic, history.settled, history.major, caps,
        np.arange(history.enrolled.shape[1]) if every else rows,
        history.first_year, year, inc.count_from if counting and inc is not None else year,
        bool(inc is not None and inc.zero_claim_reset_on_break), counting)
    enrolled, consecutive, zero_years, after_break = (
        tuple(a[rows] for a in walked) if every else walked)
    zeros = np.zeros(n, np.int64)
    terms = CapTerms(year, base, enrolled, zeros, zeros.copy(), zeros.copy(), zeros.copy(),
                     np.zeros(n, bool), np.full(n, base, np.int64))
    if inc is None or not counting:
        return terms
    terms.consecutive, terms.zero_claim_years, terms.after_break = (
        consecutive, zero_years, after_break)
    terms.continuity = inc.continuity_step * np.maximum(0, consecutive - inc.after_years)
    terms.zero_claim = inc.zero_claim_step * zero_years
    ceiling = mul_bp(base, inc.max_fraction)
    raised = base + np.minimum(ceiling, terms.continuity + terms.zero_claim)
    terms.cap = np.where(after_break, base - inc.break_penalty,
                         np.where(enrolled, raised, base)).astype(np.int64)
    terms.continuity[after_break] = 0
    terms.zero_claim[after_break] = 0
    return terms


@njit(cache=True)
def _walk(enrolled: np.ndarray, basic: np.ndarray, settled: np.ndarray, major: np.ndarray,
          caps: np.ndarray, rows: np.ndarray, first_year: int, year: int, count_from: int,
          reset_on_break: bool, counting: bool
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One pass over each person's history (years outside it read as not enrolled, nothing
    paid): enrolled in ``year``; and, when incentives count, the consecutive years enrolled up
    to ``year`` from ``count_from``; the zero-claim years since ``count_from`` (a year whose
    results cover it and whose basic fund paid nothing), reset by a year whose major payments
    exceeded that year's base cap (``caps``, < 0 where it does not count) and, with
    ``reset_on_break``, by a year not enrolled; re-enrolled after a break."""
    n, n_years = rows.shape[0], enrolled.shape[0]
    now = np.zeros(n, np.bool_)
    consecutive = np.zeros(n, np.int64)
    zero_years = np.zeros(n, np.int64)
    after_break = np.zeros(n, np.bool_)
    c_now = year - first_year
    for i in range(n):
        r = rows[i]
        now[i] = 0 <= c_now < n_years and enrolled[c_now, r]
        if not counting:
            continue
        run = 0
        for y in range(year, count_from - 1, -1):
            c = y - first_year
            if not (0 <= c < n_years and enrolled[c, r]):
                break
            run += 1
        consecutive[i] = run
        ever = False
        for c in range(min(c_now, n_years)):
            ever = ever or enrolled[c, r]
        prev = c_now - 1
        in_prev = 0 <= prev < n_years and enrolled[prev, r]
        after_break[i] = now[i] and ever and not in_prev
        count = 0
        for z in range(count_from, year):
            c = z - first_year
            inside = 0 <= c < n_years
            in_z = inside and enrolled[c, r]
            reset = inside and caps[c] >= 0 and major[c, r] > caps[c]
            if reset_on_break and not in_z:
                reset = True
            if reset:
                count = 0
            if in_z and inside and settled[c] and basic[c, r] == 0:
                count += 1
        zero_years[i] = count
    return now, consecutive, zero_years, after_break


def ladder(policy: Policy, history: History, row: int, year: int) -> list[CapTerms]:
    """One person's effective cap year by year, from the first incentive year up to ``year``."""
    rows = np.array([row])
    first = year
    for y in history.years:
        on = policy.resolve(dt.date(y, 1, 1))
        if y <= year and on.has("major.incentives"):
            first = min(first, max(y, on.get("major.incentives").count_from))
    return [major_caps(policy, history, rows, y) for y in range(first, year + 1)]
