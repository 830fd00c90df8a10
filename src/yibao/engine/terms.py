"""Policy terms as arrays the kernel can index (SPEC §5, 'per-claim' and 'annual').

Per-claim terms (deductible per admission or visit, ratios, lump sums,
out-of-region terms) are resolved at each date on which any of them changes
("epochs") and looked up by settle_date; annual terms are resolved on
1 January of each year present in the claims.
"""

from __future__ import annotations

import bisect
import datetime as dt
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from yibao.days import day_number
from yibao.engine import codes as engine_codes
from yibao.engine.kernel import VISIT_CODES
from yibao.money import mul_bp
from yibao.policy import Policy, Resolved
from yibao.policy.model import CATEGORIES

PER_CLAIM_KEYS = [
    "basic.inpatient.deductible", "basic.inpatient.repeat_factor", "basic.inpatient.ratio",
    "basic.inpatient.out_of_region", "outpatient.general", "outpatient.chronic.diseases",
    "maternity.lump_sum",
]
ANNUAL_KEYS = [
    "basic.annual_cap", "outpatient.general", "outpatient.chronic.deductible",
    "outpatient.chronic.diseases", "major.deductible", "major.brackets", "major.bracket_basis",
    "major.include_basic_deductible", "major.cap", "major.visit_types", "major.tilt",
    "assistance.categories", "assistance.visit_types",
]
CATEGORY_BIT = {c: 1 << i for i, c in enumerate(CATEGORIES)}


@dataclass
class ClaimEpochs:
    """Per-claim terms by epoch: row e holds the terms in force from ``start_day[e]``."""

    start_day: np.ndarray
    resolved: list[Resolved]
    deductible: np.ndarray          # [E, 4] inpatient deductible by level (index 1..3)
    ratio: np.ndarray               # [E, 4] inpatient ratio bp
    oor_deductible: np.ndarray      # [E]
    oor_delta: np.ndarray           # [E]
    op_deductible: np.ndarray       # [E, 4], -1 where the level has no general outpatient
    op_ratio: np.ndarray            # [E, 4]
    chronic_ratio: np.ndarray       # [E, D], -1 where the disease is not defined
    factors: np.ndarray             # [E, R]
    n_factors: np.ndarray           # [E]
    lump_sum: list[dict[str, int] | None]
    lump_kinds: tuple[str, ...] = ()        # every maternity kind of any lump-sum table
    lump_table: np.ndarray = field(default_factory=lambda: np.zeros((0, 1), np.int64))
    has_lump_sum: np.ndarray = field(default_factory=lambda: np.zeros(0, np.bool_))


@dataclass
class YearTerms:
    """Annual terms by year index ``year - first_year``."""

    first_year: int
    resolved: list[Resolved]
    basic_cap: np.ndarray
    outpatient_limit: np.ndarray
    chronic_deductible: np.ndarray
    chronic_limit: np.ndarray       # [Y, D], -1 where not defined
    bracket_upper: np.ndarray       # [Y, B], -1 = open
    bracket_ratio: np.ndarray
    n_brackets: np.ndarray
    cumulative_basis: np.ndarray
    include_basic_deductible: np.ndarray
    major_deductible: np.ndarray
    major_cap: np.ndarray
    major_visit: np.ndarray         # [Y, 4] bool
    assist_visit: np.ndarray        # [Y, 4] bool
    assist_terms: np.ndarray        # [rows, 7]
    assist_rows: list[list[tuple[int, int]]] = field(default_factory=list)  # per year: (bit, row)
    # per year: (bit, deductible_factor, ratio_delta, no_cap)
    tilt: list[list[tuple[int, int, int, bool]]] = field(default_factory=list)


@dataclass
class PolicyTerms:
    """Everything ``settle`` needs from the policy for claims settled from 1 January of
    ``first_year`` through ``last_day``."""

    diseases: list[str]
    years: YearTerms
    epochs: ClaimEpochs


_Cache = weakref.WeakKeyDictionary[Policy, OrderedDict[tuple[int, ...], PolicyTerms]]
_CACHE: _Cache = weakref.WeakKeyDictionary()
_CHANGES: weakref.WeakKeyDictionary[Policy, dict[tuple[int, ...], list[dt.date]]] = (
    weakref.WeakKeyDictionary())
_CACHE_SIZE = 64


def policy_terms(policy: Policy, first_year: int, last_day: dt.date) -> PolicyTerms:
    """The term tables, cached per Policy object (and its chain of files): online settlement
    asks for the same span over and over, and resolving the tables costs more than settling
    the claim. The tables depend on ``last_day`` only through which of the policy's change
    dates it has passed, so the key is that count, not the day. Callers must not modify the
    arrays."""
    chain = id(policy.chain)
    spans = _CHANGES.setdefault(policy, {})
    changes = spans.get((chain, first_year, last_day.year))
    if changes is None:
        if len(spans) >= _CACHE_SIZE:
            spans.clear()
        changes = policy.change_dates([*PER_CLAIM_KEYS, "outpatient.chronic.diseases"],
                                      dt.date(first_year, 1, 1), dt.date(last_day.year, 12, 31))
        spans[(chain, first_year, last_day.year)] = changes
    key = (chain, first_year, last_day.year, bisect.bisect_right(changes, last_day))
    cached = _CACHE.setdefault(policy, OrderedDict())
    hit = cached.get(key)
    if hit is not None:
        cached.move_to_end(key)
        return hit
    years = range(first_year, last_day.year + 1)
    # every date a per-claim term may change is an epoch of claim_epochs: a disease defined
    # only between two such dates must still have an index
    disease_changes = policy.change_dates(["outpatient.chronic.diseases"],
                                          dt.date(first_year, 1, 1), last_day)
    diseases = disease_codes(policy, [dt.date(y, 1, 1) for y in years] + disease_changes
                             + [last_day])
    terms = PolicyTerms(diseases, year_terms(policy, years, diseases),
                        claim_epochs(policy, dt.date(first_year, 1, 1), last_day, diseases))
    cached[key] = terms
    while len(cached) > _CACHE_SIZE:
        cached.popitem(last=False)
    return terms


def disease_codes(policy: Policy, dates: list[dt.date]) -> list[str]:
    """Every chronic disease code defined on any of ``dates`` (a stable global index)."""
    codes: set[str] = set()
    for d in dates:
        codes.update(policy.resolve(d).get("outpatient.chronic.diseases"))
    return sorted(codes)


def claim_epochs(policy: Policy, first: dt.date, last: dt.date, diseases: list[str]) -> ClaimEpochs:
    starts = [first, *policy.change_dates(PER_CLAIM_KEYS, first, last)]
    resolved = [policy.resolve(d) for d in starts]
    n_e, n_d = len(starts), len(diseases)
    ep = ClaimEpochs(
        start_day=np.array([day_number(d) for d in starts], dtype=np.int64),
        resolved=resolved,
        deductible=np.zeros((n_e, 4), np.int64), ratio=np.zeros((n_e, 4), np.int64),
        oor_deductible=np.zeros(n_e, np.int64), oor_delta=np.zeros(n_e, np.int64),
        op_deductible=np.full((n_e, 4), -1, np.int64), op_ratio=np.zeros((n_e, 4), np.int64),
        chronic_ratio=np.full((n_e, max(n_d, 1)), -1, np.int64),
        factors=np.zeros((n_e, 1), np.int64), n_factors=np.zeros(n_e, np.int64), lump_sum=[],
    )
    factor_lists = []
    for e, r in enumerate(resolved):
        for level in (1, 2, 3):
            ep.deductible[e, level] = r.get("basic.inpatient.deductible")[level]
            ep.ratio[e, level] = r.get("basic.inpatient.ratio")[level]
        oor = r.get("basic.inpatient.out_of_region")
        ep.oor_deductible[e], ep.oor_delta[e] = oor.deductible, oor.ratio_delta
        general = r.get("outpatient.general")
        for level, amount in general.deductible.items():
            ep.op_deductible[e, level] = amount
            ep.op_ratio[e, level] = general.ratio.get(level, 0)
        for code, disease in r.get("outpatient.chronic.diseases").items():
            ep.chronic_ratio[e, diseases.index(code)] = disease.ratio
        factor_lists.append(r.get("basic.inpatient.repeat_factor"))
        ep.lump_sum.append(r.get("maternity.lump_sum"))
    width = max(len(f) for f in factor_lists)
    ep.factors = np.zeros((n_e, width), np.int64)
    for e, f in enumerate(factor_lists):
        ep.factors[e, : len(f)] = f
        ep.n_factors[e] = len(f)
    # [E, K]: the lump sum of kind k in epoch e, -1 where that epoch's table lacks the kind
    ep.lump_kinds = tuple(sorted({k for t in ep.lump_sum if t for k in t}))
    ep.lump_table = np.full((n_e, max(len(ep.lump_kinds), 1)), -1, np.int64)
    ep.has_lump_sum = np.array([t is not None for t in ep.lump_sum], np.bool_)
    for e, table in enumerate(ep.lump_sum):
        for kind, fen in (table or {}).items():
            ep.lump_table[e, ep.lump_kinds.index(kind)] = fen
    return ep


def year_terms(policy: Policy, years: range, diseases: list[str]) -> YearTerms:
    resolved = [policy.resolve(dt.date(y, 1, 1)) for y in years]
    n_y, n_d = len(resolved), len(diseases)
    n_b = max(len(r.get("major.brackets")) for r in resolved)
    yt = YearTerms(
        first_year=years.start, resolved=resolved,
        basic_cap=np.zeros(n_y, np.int64), outpatient_limit=np.zeros(n_y, np.int64),
        chronic_deductible=np.zeros(n_y, np.int64),
        chronic_limit=np.full((n_y, max(n_d, 1)), -1, np.int64),
        bracket_upper=np.full((n_y, n_b), -1, np.int64),
        bracket_ratio=np.zeros((n_y, n_b), np.int64), n_brackets=np.zeros(n_y, np.int64),
        cumulative_basis=np.zeros(n_y, np.bool_), include_basic_deductible=np.zeros(n_y, np.bool_),
        major_deductible=np.zeros(n_y, np.int64), major_cap=np.zeros(n_y, np.int64),
        major_visit=np.zeros((n_y, 4), np.bool_), assist_visit=np.zeros((n_y, 4), np.bool_),
        assist_terms=np.zeros((0, 7), np.int64),
    )
    assist: list[list[int]] = []
    for y, r in enumerate(resolved):
        yt.basic_cap[y] = r.get("basic.annual_cap")
        yt.outpatient_limit[y] = r.get("outpatient.general").annual_limit
        yt.chronic_deductible[y] = r.get("outpatient.chronic.deductible")
        for code, disease in r.get("outpatient.chronic.diseases").items():
            yt.chronic_limit[y, diseases.index(code)] = disease.annual_limit
        brackets = r.get("major.brackets")
        yt.n_brackets[y] = len(brackets)
        for b, br in enumerate(brackets):
            yt.bracket_upper[y, b] = -1 if br.upto is None else br.upto
            yt.bracket_ratio[y, b] = br.ratio
        yt.cumulative_basis[y] = r.get("major.bracket_basis") == "cumulative"
        yt.include_basic_deductible[y] = r.get("major.include_basic_deductible")
        yt.major_deductible[y] = r.get("major.deductible")
        yt.major_cap[y] = r.get("major.cap")
        for v in r.get("major.visit_types"):
            yt.major_visit[y, VISIT_CODES.index(v)] = True
        for v in r.get("assistance.visit_types"):
            yt.assist_visit[y, VISIT_CODES.index(v)] = True
        rows = []
        for category, t in r.get("assistance.categories").items():
            second = t.second
            rows.append((CATEGORY_BIT[category], len(assist)))
            assist.append([t.deductible, t.ratio, _cap(t.cap), int(second is not None),
                           second.deductible if second else 0, second.ratio if second else 0,
                           _cap(second.cap) if second else -1])
        yt.assist_rows.append(rows)
        yt.tilt.append([(CATEGORY_BIT[c], t.deductible_factor, t.ratio_delta, t.no_cap)
                        for c, t in r.get("major.tilt").items()])
    yt.assist_terms = np.array(assist, dtype=np.int64).reshape(-1, 7)
    return yt


def _cap(cap: int | None) -> int:
    return -1 if cap is None else cap


@dataclass
class GroupTerms:
    """Per person-year annual terms: major-illness D, cap, delta and assistance row."""

    major_deductible: np.ndarray
    major_cap: np.ndarray
    major_delta: np.ndarray
    assist_row: np.ndarray
    tilt_category: np.ndarray       # bit of the tilt category applied, 0 = none
    assist_category: np.ndarray     # bit of the assistance category applied, 0 = none


def group_terms(yt: YearTerms, year_index: np.ndarray, categories: np.ndarray,
                cap_override: np.ndarray | None) -> GroupTerms:
    """Vectorised: the first listed tilt / assistance category each person-year holds."""
    n = year_index.size
    base_cap = yt.major_cap[year_index] if cap_override is None else cap_override
    out = GroupTerms(
        major_deductible=yt.major_deductible[year_index].copy(), major_cap=base_cap.copy(),
        major_delta=np.zeros(n, np.int64), assist_row=np.full(n, -1, np.int64),
        tilt_category=np.zeros(n, np.int64), assist_category=np.zeros(n, np.int64),
    )
    for y in range(len(yt.resolved)):
        in_year = year_index == y
        # reversed: the first listed category is written last and wins
        for bit, factor, delta, no_cap in reversed(yt.tilt[y]):
            hit = in_year & ((categories & bit) != 0)
            out.major_deductible[hit] = mul_bp(int(yt.major_deductible[y]), factor)
            out.major_delta[hit] = delta
            out.major_cap[hit] = -1 if no_cap else base_cap[hit]
            out.tilt_category[hit] = bit
        for bit, row in reversed(yt.assist_rows[y]):
            hit = in_year & ((categories & bit) != 0)
            out.assist_row[hit] = row
            out.assist_category[hit] = bit
    return out


def list_mask(lists: pl.Series, codes: Sequence[str]) -> np.ndarray:
    """Bitmask per row of which ``codes`` a List(String) column holds (bit i = codes[i]).

    Worked on the flattened values: most persons hold no category or disease, so this costs
    little however many codes are asked about.
    """
    if lists.len() <= engine_codes.SMALL_INPUT:  # one person: Python beats Arrow's set-up here
        bit = {c: 1 << i for i, c in enumerate(codes)}
        return np.array([sum({bit.get(v, 0) for v in held or ()}) for held in lists.to_list()],
                        np.int64)
    arr = lists.to_arrow()
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    mask = np.zeros(len(arr), np.int64)
    values = pl.Series(pc.list_flatten(arr).cast(pa.large_string()))
    if values.len() == 0 or not codes:
        return mask
    bits = values.replace_strict({c: 1 << i for i, c in enumerate(codes)}, default=0,
                                 return_dtype=pl.Int64).to_numpy()
    parents = pc.list_parent_indices(arr).to_numpy().astype(np.int64, copy=False)
    np.bitwise_or.at(mask, parents[bits != 0], bits[bits != 0])
    return mask
