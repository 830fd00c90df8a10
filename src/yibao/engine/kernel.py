"""The settlement kernel: one sequential pass over each person-year's claims.

SPEC §5. The pass walks the claims in settlement order (person, year, settle_date,
claim_id) through the permutation ``order``, reading each claim's columns at its
input row and writing its results back there, so no column is ever gathered into
settlement order and back. It looks each claim's terms up itself in the small
epoch and year tables of ``terms.py`` and carries the annual accumulators — the
deductibles, limits, caps and the G and H functions are cumulative, so each claim
gets the difference between its point and the previous one. The same loop settles
a province-year in batch and one claim online: online is a group of one claim that
starts from the person's opening accumulators.

All amounts are int64 fen, all ratios int64 basis points.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from numba import get_num_threads, njit, prange

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
# after the trace columns the pass records where each claim's terms came from
T_EPOCH, T_YEAR, T_GROUP = N_TRACE, N_TRACE + 1, N_TRACE + 2
TRACE_WIDTH = N_TRACE + 3

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
def _mark_groups(sorted_key: Arr, day_bits: int, day0: int, year_start: Arr, fill: bool,
                 starts: Arr, persons: Arr, years: Arr) -> int:
    mask = (1 << day_bits) - 1
    count = 0
    last_person, last_year, y = -1, -1, 0
    for k in range(sorted_key.shape[0]):
        person = sorted_key[k] >> day_bits
        day = (sorted_key[k] & mask) + day0
        if person != last_person:
            y = 0
        while day >= year_start[y + 1]:
            y += 1
        if person != last_person or y != last_year:
            if fill:
                starts[count] = k
                persons[count] = person
                years[count] = y
            count += 1
            last_person, last_year = person, y
    return count


def person_year_groups(sorted_key: Arr, day_bits: int, day0: int,
                       year_start: Arr) -> tuple[Arr, Arr, Arr]:
    """The person-years of claims in settlement order: their first positions (and n at the
    end), person rows and year indexes (``year_start[y]`` is the day 1 January of year y
    begins; the last entry ends the last year)."""
    none = np.zeros(0, np.int64)
    count = _mark_groups(sorted_key, day_bits, day0, year_start, False, none, none, none)
    starts, persons, years = (np.empty(count + 1, np.int64), np.empty(count, np.int64),
                              np.empty(count, np.int64))
    _mark_groups(sorted_key, day_bits, day0, year_start, True, starts, persons, years)
    starts[count] = sorted_key.shape[0]
    return starts, persons, years


@njit(cache=True)
def _settle_range(
    g_first: int, g_end: int,
    order: Arr, sorted_key: Arr, day_bits: int, day0: int, first_year: int,
    group_start: Arr, group_person: Arr, group_year: Arr,
    enrolled: Arr, benefit_start: Arr, major_deductible: Arr, major_cap: Arr, major_delta: Arr,
    assist_row: Arr, acc: Arr, chronic_acc: Arr,
    death_day: Arr, chronic_mask: Arr,
    visit: Arr, level: Arr, out_of_region: Arr, total: Arr, self_pay: Arr, class_b: Arr,
    disease: Arr, maternity_kind: Arr, admit_day: Arr,
    epoch_start: Arr, deductible: Arr, ratio: Arr, oor_deductible: Arr, oor_delta: Arr,
    op_deductible: Arr, op_ratio: Arr, chronic_ratio: Arr, factors: Arr, n_factors: Arr,
    lump_sum: Arr, has_lump_sum: Arr,
    basic_cap: Arr, outpatient_limit: Arr, chronic_deductible: Arr, chronic_limit: Arr,
    bracket_upper: Arr, bracket_ratio: Arr, n_brackets: Arr, cumulative_basis: Arr,
    include_basic_deductible: Arr, major_visit: Arr, assist_visit: Arr, assist_terms: Arr,
    out_reason: Arr, out_year: Arr, out_scope: Arr, out_deductible: Arr, out_basic: Arr,
    out_major: Arr, out_assist: Arr, out_oop: Arr, out_cap: Arr, out_cap_valid: Arr,
    trace: Arr, want_trace: bool, no_lump_sum: Arr,
) -> int:
    """Settle person-years ``g_first`` … ``g_end - 1`` in place: writes out_* at each claim's
    input row, advances acc/chronic_acc. Returns how many maternity claims have a kind that
    the lump-sum table in force does not list (their input rows, up to ``no_lump_sum.size``,
    in ``no_lump_sum``); the caller raises on them.

    Per person-year: ``group_*``, ``enrolled`` … ``chronic_acc``; per person row:
    ``death_day``, ``chronic_mask``; per claim, in input order: ``visit`` … ``admit_day``;
    per epoch: ``epoch_start`` … ``has_lump_sum``; per year index: the rest. A claim's
    ``total``, ``self_pay`` and ``class_b`` are read before any of its results is written,
    so ``out_oop``, ``out_scope`` and ``out_deductible`` may be those very arrays.
    ``assist_terms`` rows: deductible, ratio, cap, has_second, deductible2, ratio2, cap2.
    """
    day_mask = (1 << day_bits) - 1
    n_epochs = epoch_start.shape[0]
    missing = 0
    for g in range(g_first, g_end):
        y = group_year[g]
        person = group_person[g]
        a_row = assist_row[g]
        death = death_day[person]
        certified_mask = chronic_mask[person]
        e = 0
        for k in range(group_start[g], group_start[g + 1]):
            c = order[k]
            day = (sorted_key[k] & day_mask) + day0
            while e + 1 < n_epochs and epoch_start[e + 1] <= day:
                e += 1
            v = visit[c]
            lv = level[c]
            dz = disease[c]
            d_ix = max(dz, 0)
            # read once: the caller may pass its out_* arrays as total … class_b
            amount = total[c]
            p = amount - self_pay[c] - class_b[c]
            lump = -1
            if v == MATERNITY and has_lump_sum[e]:
                kind = maternity_kind[c]
                if kind >= 0:
                    lump = lump_sum[e, kind]
                if lump < 0:
                    if missing < no_lump_sum.shape[0]:
                        no_lump_sum[missing] = c
                    missing += 1
            reason = 0
            if not enrolled[g]:
                reason = 1
            elif admit_day[c] > death:
                reason = 2
            elif day < benefit_start[g]:
                reason = 3
            elif v == CHRONIC and not (dz >= 0 and chronic_ratio[e, d_ix] >= 0
                                       and chronic_limit[y, d_ix] >= 0
                                       and (certified_mask >> d_ix) & 1 == 1):
                reason = 4
            cap = major_cap[g]
            out_reason[c] = reason
            out_year[c] = first_year + y
            out_scope[c] = p
            out_cap[c] = cap
            out_cap_valid[c] = reason == 0 and cap >= 0
            out_deductible[c] = 0
            out_basic[c] = 0
            out_major[c] = 0
            out_assist[c] = 0
            out_oop[c] = amount
            if want_trace:
                trace[c, T_EPOCH] = e
                trace[c, T_YEAR] = y
                trace[c, T_GROUP] = g
            if reason != 0:
                continue
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
                op_ded = op_deductible[e, lv]
                due = max(op_ded, 0)
                d = min(p, due)
                raw = _mul_bp(p - d, op_ratio[e, lv] if op_ded >= 0 else 0)
                op_before = acc[g, A_OUT]
                acc[g, A_OUT] = op_before + raw
                basic = _capped_step(outpatient_limit[y], op_before, op_before + raw)
            elif v == CHRONIC:
                cs_before = acc[g, A_CSCOPE]
                acc[g, A_CSCOPE] = cs_before + p
                d = _capped_step(chronic_deductible[y], cs_before, cs_before + p)
                due = d
                own = _mul_bp(p - d, chronic_ratio[e, dz])
                c_before = chronic_acc[g, dz]
                chronic_acc[g, dz] = c_before + own
                raw = _capped_step(chronic_limit[y, dz], c_before, c_before + own)
                to_cap = True
            elif v == MATERNITY and lump >= 0:
                raw = min(p, lump)
                to_cap = True
            else:
                acc[g, A_ADM] += 1
                rank = acc[g, A_ADM]
                k_factor = min(rank, n_factors[e])
                if out_of_region[c]:
                    base = oor_deductible[e]
                    bp = max(ratio[e, lv] - oor_delta[e], 0)
                else:
                    base = deductible[e, lv]
                    bp = ratio[e, lv]
                due = _mul_bp(base, factors[e, k_factor - 1])
                d = min(p, due)
                raw = _mul_bp(p - d, bp)
                to_cap = True
            b_before = acc[g, A_BASIC]
            if to_cap:
                acc[g, A_BASIC] = b_before + raw
                basic = _capped_step(basic_cap[y], b_before, b_before + raw)
            major = 0
            burden = 0
            m_before = acc[g, A_MAJOR]
            if major_visit[y, v]:
                burden = p - basic
                if not include_basic_deductible[y]:
                    burden -= d
                acc[g, A_MAJOR] = m_before + burden
                upper = bracket_upper[y]
                ratios = bracket_ratio[y]
                nb = n_brackets[y]
                cum = cumulative_basis[y]
                major = (major_g(m_before + burden, major_deductible[g], cap,
                                 major_delta[g], upper, ratios, nb, cum)
                         - major_g(m_before, major_deductible[g], cap,
                                   major_delta[g], upper, ratios, nb, cum))
            first = 0
            second = 0
            r = 0
            r2 = 0
            s1_before = acc[g, A_AS1]
            s2_before = acc[g, A_AS2]
            if assist_visit[y, v] and a_row >= 0:
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
            out_deductible[c] = d
            out_basic[c] = basic
            out_major[c] = major
            out_assist[c] = first + second
            out_oop[c] = amount - basic - major - first - second
            if want_trace:
                tr = trace[c]
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
    return missing


#: Position of ``group_start`` and of ``no_lump_sum`` in `settle_sorted`'s arguments.
_GROUP_START, _NO_LUMP = 5, -1


@njit(cache=True)
def settle_sorted(*args: Any) -> int:
    """Settle every person-year in one thread; the arguments are those of `_settle_range`
    without its first two (online settlement of one claim comes this way)."""
    return _settle_range(0, args[_GROUP_START].shape[0] - 1, *args)


@njit(cache=True, parallel=True)
def _settle_chunks(bounds: Arr, no_lump: Arr, *args: Any) -> Arr:
    """`_settle_range` on the chunks of person-years ``bounds[i]`` … ``bounds[i + 1] - 1`` on
    the threads; chunk i records its maternity claims without a lump sum in ``no_lump[i]``."""
    counts = np.zeros(bounds.shape[0] - 1, np.int64)
    for i in prange(bounds.shape[0] - 1):
        counts[i] = _settle_range(bounds[i], bounds[i + 1], *args,  # type: ignore[call-arg]
                                  no_lump[i])
    return counts


#: Below this many claims the threads cost more than they save (and online settlement, one
#: claim at a time, never starts them).
PARALLEL_MIN_CLAIMS = 200_000
_CHUNKS_PER_THREAD = 8
_threads = threading.Lock()


def settle_batch(*args: Any) -> int:
    """`settle_sorted` with the person-years split into chunks of about equal claims settled
    on Numba's threads: person-years share no accumulator and each claim's results go to its
    own input row, so the chunks are independent and the results are the same, claim for
    claim. The maternity claims without a lump sum are reported in settlement order, as
    `settle_sorted` does. One batch at a time uses the threads; another waits for none and
    runs in its own thread."""
    group_start = args[_GROUP_START]
    n_claims = int(group_start[-1]) if group_start.size else 0
    n_chunks = min(get_num_threads() * _CHUNKS_PER_THREAD, group_start.size - 1)
    if n_claims < PARALLEL_MIN_CLAIMS or n_chunks < 2 or not _threads.acquire(blocking=False):
        return int(settle_sorted(*args))
    try:
        # chunk boundaries: the person-years where claim n_claims·i/n_chunks falls
        cuts = np.linspace(0, n_claims, n_chunks + 1).astype(np.int64)
        bounds = np.unique(np.searchsorted(group_start, cuts, side="right") - 1)
        no_lump_sum = args[_NO_LUMP]
        no_lump = np.empty((bounds.size - 1, no_lump_sum.size), np.int64)
        counts = _settle_chunks(bounds, no_lump, *args[:_NO_LUMP])
    finally:
        _threads.release()
    found = np.concatenate([no_lump[i, :min(int(k), no_lump_sum.size)]
                            for i, k in enumerate(counts)])[:no_lump_sum.size]
    no_lump_sum[:found.size] = found
    return int(counts.sum())
