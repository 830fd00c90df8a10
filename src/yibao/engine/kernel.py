"""The settlement kernel: one sequential pass over each person-year's claims.

SPEC §5. Claims arrive sorted by (person, year, settle_date, claim_id) with every
per-claim term already looked up (vectorised, in ``terms.py``); this loop only
carries the annual accumulators — the deductibles, limits, caps and the G and H
functions are cumulative, so each claim gets the difference between its point
and the previous one. The same loop settles a province-year in batch and one
claim online: online is a group of one claim that starts from the person's
opening accumulators.

All amounts are int64 fen, all ratios int64 basis points.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# visit types
INPATIENT, OUTPATIENT, CHRONIC, MATERNITY = 0, 1, 2, 3
VISIT_CODES = ("inpatient", "outpatient", "chronic", "maternity")

# coverage reasons (SPEC §5.1), 0 = covered
REASONS = ("", "NOT_ENROLLED", "AFTER_DEATH", "WAITING_PERIOD", "NOT_CERTIFIED")

# annual accumulators of a person-year, in this column order
ACCUMULATORS = (
    "admissions",       # covered claims settled under inpatient rules (for repeat_factor)
    "basic_raw",        # Σ raw of inpatient, maternity, chronic before basic.annual_cap
    "outpatient_raw",   # Σ raw of general outpatient before its annual_limit
    "chronic_scope",    # Σ policy_scope of chronic claims (consumes the annual deductible)
    "major_burden",     # Σ e, the major-illness burden S
    "assist_first",     # Σ r for the first assistance layer
    "assist_second",    # Σ r2 for the second assistance layer
)
N_ACC = len(ACCUMULATORS)
A_ADM, A_BASIC, A_OUT, A_CSCOPE, A_MAJOR, A_AS1, A_AS2 = range(N_ACC)

# per-claim trace columns, written only when explaining
TRACE = (
    "rank", "deductible_due", "raw", "basic_before", "outpatient_before", "chronic_before",
    "chronic_scope_before", "burden", "major_before", "assist_base", "assist_first_before",
    "first", "assist_second_base", "assist_second_before", "second",
)
N_TRACE = len(TRACE)

NO_CAP = -1
BP = 10_000
Arr = np.ndarray


@njit(cache=True, inline="always")
def _mul_bp(fen: int, bp: int) -> int:
    return (2 * fen * bp + BP) // (2 * BP)


@njit(cache=True, inline="always")
def _round_bp(scaled: int) -> int:
    """A fen × bp quantity rounded half-up to the fen."""
    return (2 * scaled + BP) // (2 * BP)


@njit(cache=True, inline="always")
def _capped_step(limit: int, before: int, after: int) -> int:
    """min(limit, after) − min(limit, before); limit < 0 means no limit."""
    if limit < 0:
        return after - before
    return min(limit, after) - min(limit, before)


@njit(cache=True)
def major_g(s: int, deductible: int, cap: int, delta: int, upper: np.ndarray,
            ratio: np.ndarray, n: int, cumulative: bool) -> int:
    """G(s) of SPEC §5.3 in fen, rounded half-up once; cap < 0 = no cap."""
    if s <= deductible:
        return 0
    total = 0
    lo = 0
    for b in range(n):
        hi = upper[b]
        if cumulative:
            a, z = max(lo, deductible), s if hi < 0 else min(hi, s)
        else:
            a, z = lo, s - deductible if hi < 0 else min(hi, s - deductible)
        if z > a:
            total += min(BP, ratio[b] + delta) * (z - a)
        if hi < 0:
            break
        lo = hi
    if cap >= 0:
        total = min(total, cap * BP)
    return _round_bp(total)


@njit(cache=True, inline="always")
def assistance_h(s: int, deductible: int, ratio: int, cap: int) -> int:
    """H(s) of SPEC §5.5 in fen, rounded half-up once; cap < 0 = no cap."""
    total = ratio * max(0, s - deductible)
    if cap >= 0:
        total = min(total, cap * BP)
    return _round_bp(total)


@njit(cache=True)
def settle_groups(
    group_start: Arr, group_year: Arr, major_deductible: Arr, major_cap: Arr, major_delta: Arr,
    assist_row: Arr, acc: Arr, chronic_acc: Arr,
    visit: Arr, reason: Arr, scope: Arr, deductible_base: Arr, ratio: Arr, lump_sum: Arr,
    factor_row: Arr, disease: Arr, in_major: Arr, in_assist: Arr,
    factors: Arr, n_factors: Arr,
    basic_cap: Arr, outpatient_limit: Arr, chronic_deductible: Arr, chronic_limit: Arr,
    bracket_upper: Arr, bracket_ratio: Arr, n_brackets: Arr, cumulative_basis: Arr,
    include_basic_deductible: Arr, assist_terms: Arr,
    out_deductible: Arr, out_basic: Arr, out_major: Arr, out_assist: Arr, trace: Arr,
    want_trace: bool,
) -> None:
    """Settle every group in place: writes out_* per claim, advances acc/chronic_acc.

    ``assist_terms`` rows: deductible, ratio, cap, has_second, deductible2, ratio2, cap2.
    """
    for g in range(group_start.shape[0] - 1):
        y = group_year[g]
        a_row = assist_row[g]
        for i in range(group_start[g], group_start[g + 1]):
            out_deductible[i] = 0
            out_basic[i] = 0
            out_major[i] = 0
            out_assist[i] = 0
            if reason[i] != 0:
                continue
            v = visit[i]
            p = scope[i]
            d = 0
            basic = 0
            raw = 0
            rank = 0
            due = 0
            to_cap = False
            c_before = 0
            cs_before = 0
            op_before = 0
            if v == OUTPATIENT:
                due = deductible_base[i]
                d = min(p, due)
                raw = _mul_bp(p - d, ratio[i])
                op_before = acc[g, A_OUT]
                acc[g, A_OUT] = op_before + raw
                basic = _capped_step(outpatient_limit[y], op_before, op_before + raw)
            elif v == CHRONIC:
                cs_before = acc[g, A_CSCOPE]
                acc[g, A_CSCOPE] = cs_before + p
                d = _capped_step(chronic_deductible[y], cs_before, cs_before + p)
                due = d
                own = _mul_bp(p - d, ratio[i])
                dz = disease[i]
                c_before = chronic_acc[g, dz]
                chronic_acc[g, dz] = c_before + own
                raw = _capped_step(chronic_limit[y, dz], c_before, c_before + own)
                to_cap = True
            elif v == MATERNITY and lump_sum[i] >= 0:
                raw = min(p, lump_sum[i])
                to_cap = True
            else:
                acc[g, A_ADM] += 1
                rank = acc[g, A_ADM]
                row = factor_row[i]
                k = min(rank, n_factors[row])
                due = _mul_bp(deductible_base[i], factors[row, k - 1])
                d = min(p, due)
                raw = _mul_bp(p - d, ratio[i])
                to_cap = True
            b_before = acc[g, A_BASIC]
            if to_cap:
                acc[g, A_BASIC] = b_before + raw
                basic = _capped_step(basic_cap[y], b_before, b_before + raw)
            major = 0
            burden = 0
            m_before = acc[g, A_MAJOR]
            if in_major[i]:
                burden = p - basic
                if not include_basic_deductible[y]:
                    burden -= d
                acc[g, A_MAJOR] = m_before + burden
                upper = bracket_upper[y]
                ratios = bracket_ratio[y]
                nb = n_brackets[y]
                cum = cumulative_basis[y]
                major = (major_g(m_before + burden, major_deductible[g], major_cap[g],
                                 major_delta[g], upper, ratios, nb, cum)
                         - major_g(m_before, major_deductible[g], major_cap[g],
                                   major_delta[g], upper, ratios, nb, cum))
            first = 0
            second = 0
            r = 0
            r2 = 0
            s1_before = acc[g, A_AS1]
            s2_before = acc[g, A_AS2]
            if in_assist[i] and a_row >= 0:
                t = assist_terms[a_row]
                r = p - basic - major
                acc[g, A_AS1] = s1_before + r
                first = (assistance_h(s1_before + r, t[0], t[1], t[2])
                         - assistance_h(s1_before, t[0], t[1], t[2]))
                if t[3] != 0:
                    r2 = r - first
                    acc[g, A_AS2] = s2_before + r2
                    second = (assistance_h(s2_before + r2, t[4], t[5], t[6])
                              - assistance_h(s2_before, t[4], t[5], t[6]))
            out_deductible[i] = d
            out_basic[i] = basic
            out_major[i] = major
            out_assist[i] = first + second
            if want_trace:
                tr = trace[i]
                tr[0] = rank
                tr[1] = due
                tr[2] = raw
                tr[3] = b_before
                tr[4] = op_before
                tr[5] = c_before
                tr[6] = cs_before
                tr[7] = burden
                tr[8] = m_before
                tr[9] = r
                tr[10] = s1_before
                tr[11] = first
                tr[12] = r2
                tr[13] = s2_before
                tr[14] = second
