"""One-stop settlement (一站式结算) of a batch of claims: basic → major → assistance.

SPEC §5. ``settle`` finds each claim's person, sorts the claims into settlement
order, works out the per-person-year terms (enrolment, benefit start, caps, tilt,
assistance) vectorised over person-years, and runs the kernel once: it reads the
claims' columns in place through the order and writes the results at each claim's
input row. Online settlement of a single claim is the same call with the person's
opening accumulators (``opening``), so there is one code path for both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from yibao.days import day_number
from yibao.engine import codes
from yibao.engine import kernel as K
from yibao.engine.codes import code_text, small_ints, strict_codes, text_codes
from yibao.engine.order import PersonRows, SortedClaims, sorted_claims
from yibao.engine.terms import (
    ClaimEpochs,
    GroupTerms,
    group_terms,
    list_mask,
    policy_terms,
)
from yibao.errors import InputError, Problem
from yibao.policy import Policy
from yibao.policy.model import CATEGORIES

RESULT_COLUMNS = ["claim_id", "person_id", "year", "covered", "reason", "policy_scope",
                  "deductible", "basic", "major", "assistance", "oop", "major_cap"]
MONEY_COLUMNS = ["policy_scope", "deductible", "basic", "major", "assistance", "oop", "major_cap"]
#: The claims columns settlement reads (`settle`, `settle_claims`, `summarise`): facility_id,
#: diagnosis, procedure and procedure_kind are validated when read but settle nothing, so a
#: batch run may let them go before settling (at 20 M claims their 16-byte views alone are
#: 1.3 GB).
CLAIM_COLUMNS = ("claim_id", "person_id", "facility_level", "visit_type", "chronic_disease",
                 "maternity_kind", "admit_date", "settle_date", "total", "self_pay",
                 "class_b_self_pay", "out_of_region")
_NO_DEATH = np.iinfo(np.int32).max


@dataclass
class Settlement:
    """Results in the claims' input order, and the accumulators each person-year closed with."""

    results: pl.DataFrame
    closing: pl.DataFrame
    trace: pl.DataFrame | None = None
    diseases: tuple[str, ...] = ()


def covered_region(policy_region: str) -> str:
    """The code prefix of regions a policy covers: 360400 → '3604', 000000 → ''."""
    prefix = policy_region
    while prefix.endswith("00"):
        prefix = prefix[:-2]
    return prefix


def _days(series: pl.Series) -> np.ndarray:
    """Dates as int32 day numbers (days since 1970-01-01)."""
    return series.cast(pl.Int32).to_numpy()


def _person_year_rows(g_person: np.ndarray, g_year: np.ndarray, rows: np.ndarray,
                      years: np.ndarray) -> np.ndarray:
    """For each group (person row, year), the index into (rows, years) or -1."""
    span = 1 << 12
    key = rows.astype(np.int64) * span + (years.astype(np.int64) % span)
    if key.size == 0:
        return np.full(g_person.size, -1, np.int64)
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    want = g_person.astype(np.int64) * span + (g_year.astype(np.int64) % span)
    pos = np.minimum(np.searchsorted(sorted_key, want), sorted_key.size - 1)
    return np.where(sorted_key[pos] == want, order[pos], -1)


def _enrolled(prefix: str, person_rows: PersonRows, enrollments: pl.DataFrame,
              g_person: np.ndarray, g_year: np.ndarray) -> np.ndarray:
    if enrollments.height <= codes.SMALL_INPUT:  # a person's few enrolments
        keep = np.array([s == "resident" and r is not None and r.startswith(prefix) for s, r in
                         zip(enrollments["scheme"], enrollments["region"], strict=True)], bool)
    else:
        keep = _no_nulls(enrollments.select((pl.col("scheme") == "resident")
                                            & pl.col("region").str.starts_with(prefix))
                         .to_series(), False)
    rows = person_rows(enrollments["person_id"], "enrollments", keep)
    years = enrollments["year"].to_numpy()[keep]
    return _person_year_rows(g_person, g_year, rows, years) >= 0


def _maternity_problems(ep: ClaimEpochs, rows: np.ndarray, count: int, claims: pl.DataFrame,
                        epoch_of: np.ndarray) -> InputError:
    problems = []
    for row, e in zip(rows[:count], epoch_of[:count], strict=True):
        table = ep.lump_sum[int(e)] or {}
        problems.append(Problem(
            "UNKNOWN_MATERNITY_KIND",
            f"maternity_kind {claims['maternity_kind'][int(row)]!r} has no lump sum in "
            f"maternity.lump_sum ({', '.join(table)})", f"claim {claims['claim_id'][int(row)]}",
            "maternity_kind"))
    if count > rows.size:
        problems.append(Problem("UNKNOWN_MATERNITY_KIND", f"… and {count - rows.size} more"))
    return InputError(problems)


def _arrow_int64(values: np.ndarray, valid: np.ndarray) -> pa.Array:
    """Int64 ``values`` with nulls where ``valid`` is false, without a copy."""
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(pa.int64(), values.size, [bitmap, pa.py_buffer(values)])


@dataclass
class ClaimSide:
    """What ``settle`` works out from the claims, persons and enrolments alone, the same under
    every policy of a region: codes, each claim's person, the settlement order, the
    person-year groups and the claims' columns as arrays, and (per value of the policy or of
    the person-year terms they depend on) the enrolment flags, the chronic and maternity codes
    and the person-year terms' rows. Settling the same frames again under a changed policy (a
    what-if) passes it back (``settle(prepared=…)``) and redoes none of it; it is valid only
    with the very frames it was made from."""

    frames: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]
    visit: np.ndarray
    level: np.ndarray
    person_rows: PersonRows
    settle_day: np.ndarray
    sc: SortedClaims
    first_year: int
    last_day: dt.date
    year_start: np.ndarray
    group_start: np.ndarray
    g_person: np.ndarray
    g_yidx: np.ndarray
    categories: np.ndarray
    death_day: np.ndarray
    _memo: dict[tuple[object, ...], np.ndarray] = field(default_factory=dict)
    _terms: tuple[pl.DataFrame, np.ndarray] | None = None

    @property
    def g_year(self) -> np.ndarray:
        return self.g_yidx + self.first_year

    def memo(self, key: tuple[object, ...], make: Callable[[], np.ndarray]) -> np.ndarray:
        """``make()``, worked out once per ``key`` (the policy values it depends on)."""
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    def terms_rows(self, person_years: pl.DataFrame) -> np.ndarray:
        """For each person-year group, its row in ``person_years`` or -1 (once per frame)."""
        if self._terms is None or self._terms[0] is not person_years:
            py_rows = self.person_rows(person_years["person_id"], "person_years")
            self._terms = (person_years, _person_year_rows(
                self.g_person, self.g_year, py_rows, person_years["year"].to_numpy()))
        return self._terms[1]


def claim_side(persons: pl.DataFrame, enrollments: pl.DataFrame,
               claims: pl.DataFrame) -> ClaimSide:
    """The ``ClaimSide`` of non-empty ``claims`` (the frames as ``settle`` takes them)."""
    ids = claims["claim_id"]
    visit = strict_codes(claims["visit_type"], K.VISIT_CODES, ids, "visit_type")
    level = small_ints(claims["facility_level"], 1, 3, ids, "facility_level")
    person_rows = PersonRows(persons["person_id"])
    settle_day = _days(claims["settle_date"])
    sc = sorted_claims(person_rows(claims["person_id"], "claims"), settle_day, ids)
    day_min, day_max = int(settle_day.min()), int(settle_day.max())
    first_year = (dt.date(1970, 1, 1) + dt.timedelta(days=day_min)).year
    last_day = dt.date(1970, 1, 1) + dt.timedelta(days=day_max)
    years = range(first_year, last_day.year + 1)
    year_start = np.array([day_number(dt.date(y, 1, 1)) for y in [*years, years.stop]], np.int64)
    group_start, g_person, g_yidx = K.person_year_groups(sc.key, sc.day_bits, sc.day0,
                                                         year_start)
    return ClaimSide((persons, enrollments, claims), visit, level, person_rows, settle_day, sc,
                     first_year, last_day, year_start, group_start, g_person, g_yidx,
                     list_mask(persons["categories"], list(CATEGORIES))[g_person],
                     _no_nulls(persons["death_date"].cast(pl.Int32), _NO_DEATH))


def settle(policy: Policy, persons: pl.DataFrame, enrollments: pl.DataFrame,
           claims: pl.DataFrame, *, person_years: pl.DataFrame | None = None,
           opening: pl.DataFrame | None = None, trace: bool = False,
           prepared: ClaimSide | None = None) -> Settlement:
    """Settle ``claims`` under ``policy`` (SPEC §5); frames as ``yibao.io`` reads them.

    ``person_years`` (person_id, year, benefit_start, major_cap) overrides the
    default benefit start (1 January) and effective major-illness cap (the base
    cap); ``opening`` (a previous ``Settlement.closing``) gives the person-years'
    opening annual accumulators; ``prepared``: ``claim_side`` of these same frames.
    """
    n = claims.height
    if n == 0:
        return _empty(trace)
    cs = claim_side(persons, enrollments, claims) if prepared is None else prepared
    if any(a is not b for a, b in zip(cs.frames, (persons, enrollments, claims), strict=True)):
        raise ValueError("settle(prepared=…) is of other frames")
    ids = claims["claim_id"]
    sc, first_year, year_start = cs.sc, cs.first_year, cs.year_start
    group_start, g_person, g_yidx, g_year = cs.group_start, cs.g_person, cs.g_yidx, cs.g_year
    person_rows = cs.person_rows

    terms = policy_terms(policy, first_year, cs.last_day)
    diseases, yt, ep = terms.diseases, terms.years, terms.epochs

    # per person-year: enrolment, benefit start, cap, opening accumulators
    prefix = covered_region(policy.region)
    enrolled = cs.memo(("enrolled", prefix), lambda: _enrolled(
        prefix, person_rows, enrollments, g_person, g_year))
    benefit_start = year_start[g_yidx]
    cap_override = None
    if person_years is not None and person_years.height:
        hit = cs.terms_rows(person_years)
        found = hit >= 0
        starts_py = _days(person_years["benefit_start"])
        benefit_start[found] = starts_py[hit[found]]
        caps = person_years["major_cap"]
        has_cap = found & caps.is_not_null().to_numpy()[np.maximum(hit, 0)]
        cap_values = caps.fill_null(0).to_numpy().astype(np.int64)[np.maximum(hit, 0)]
        cap_override = np.where(has_cap, cap_values, yt.major_cap[g_yidx])
    gt = group_terms(yt, g_yidx, cs.categories, cap_override)
    acc, chronic_acc = _opening(opening, person_rows, g_person, g_year, diseases)
    # per person row
    chronic_mask = cs.memo(("chronic", *diseases),
                           lambda: list_mask(persons["chronic"], diseases))
    disease = cs.memo(("disease", *diseases),
                      lambda: text_codes(claims["chronic_disease"], diseases))
    kinds = cs.memo(("maternity", *ep.lump_kinds),
                    lambda: text_codes(claims["maternity_kind"], ep.lump_kinds))

    # the amounts' own copies become the results they are replaced by (oop starts as total):
    # the kernel reads each claim's amounts before it writes that claim's results, and three
    # fewer fresh 8-byte columns is ~0.5 GiB less memory touched at 20 M claims
    total, self_pay, class_b = (_fen(claims[c]) for c in ("total", "self_pay",
                                                          "class_b_self_pay"))
    out = {"oop": total, "policy_scope": self_pay, "deductible": class_b}
    out.update({name: np.empty(n, np.int64) for name in MONEY_COLUMNS if name not in out})
    reason = np.empty(n, np.int8)
    year = np.empty(n, np.int32)
    cap_valid = np.empty(n, np.bool_)
    tr = np.zeros((n if trace else 1, K.TRACE_WIDTH), np.int64)
    no_lump = np.empty(50, np.int64)
    missing = K.settle_batch(
        sc.order, sc.key, sc.day_bits, sc.day0, first_year, group_start, g_person, g_yidx,
        enrolled, benefit_start, gt.major_deductible, gt.major_cap, gt.major_delta,
        gt.assist_row, acc, chronic_acc, cs.death_day, chronic_mask,
        cs.visit, cs.level, _no_nulls(claims["out_of_region"], False),
        total, self_pay, class_b, disease, kinds, _days(claims["admit_date"]),
        ep.start_day, ep.deductible, ep.ratio, ep.oor_deductible, ep.oor_delta,
        ep.op_deductible, ep.op_ratio, ep.chronic_ratio, ep.factors, ep.n_factors,
        ep.lump_table, ep.has_lump_sum,
        yt.basic_cap, yt.outpatient_limit, yt.chronic_deductible, yt.chronic_limit,
        yt.bracket_upper, yt.bracket_ratio, yt.n_brackets, yt.cumulative_basis,
        yt.include_basic_deductible, yt.major_visit, yt.assist_visit, yt.assist_terms,
        reason, year, out["policy_scope"], out["deductible"], out["basic"], out["major"],
        out["assistance"], out["oop"], out["major_cap"], cap_valid, tr, trace, no_lump)
    if missing:
        epoch_of = np.searchsorted(ep.start_day, cs.settle_day[no_lump[:missing]], "right") - 1
        raise _maternity_problems(ep, no_lump, missing, claims, epoch_of)

    results = pl.DataFrame([ids, claims["person_id"]]).hstack(_frame(
        [pa.array(year), pa.array(reason == 0), code_text(reason, K.REASONS),
         *(pa.array(out[c]) for c in MONEY_COLUMNS if c != "major_cap"),
         _arrow_int64(out["major_cap"], cap_valid)], RESULT_COLUMNS[2:]))
    closing = _closing(persons, g_person, g_year, acc, chronic_acc, diseases)
    trace_frame = None
    if trace:
        trace_frame = _trace_frame(tr, gt, diseases, disease.astype(np.int64), ids)
    return Settlement(results, closing, trace_frame, tuple(diseases))


def _no_nulls(values: pl.Series, fill: object) -> np.ndarray:
    """The column as NumPy with nulls made ``fill`` (Arrow's fill_null: Polars' runs a whole
    query, which is most of its cost on one row)."""
    if not values.null_count():
        return values.to_numpy()
    return np.asarray(pc.fill_null(values.to_arrow(), fill))


def _fen(money: pl.Series) -> np.ndarray:
    """The column as a writable int64 array of its own (Polars copies rather than hand out
    its buffers)."""
    return money.cast(pl.Int64).to_numpy(writable=True)


def _opening(opening: pl.DataFrame | None, person_rows: PersonRows, g_person: np.ndarray,
             g_year: np.ndarray, diseases: list[str]) -> tuple[np.ndarray, np.ndarray]:
    acc = np.zeros((g_person.size, K.N_ACC), np.int64)
    chronic = np.zeros((g_person.size, max(len(diseases), 1)), np.int64)
    if opening is None or opening.height == 0:
        return acc, chronic
    rows = person_rows(opening["person_id"], "opening accumulators")
    hit = _person_year_rows(g_person, g_year, rows, opening["year"].to_numpy())
    found = hit >= 0
    for k, name in enumerate(K.ACCUMULATORS):
        acc[found, k] = opening[name].to_numpy()[hit[found]]
    for d, code in enumerate(diseases):
        column = f"chronic_raw.{code}"
        if column in opening.columns:
            chronic[found, d] = _no_nulls(opening[column], 0)[hit[found]]
    return acc, chronic


def _closing(persons: pl.DataFrame, g_person: np.ndarray, g_year: np.ndarray, acc: np.ndarray,
             chronic: np.ndarray, diseases: list[str]) -> pl.DataFrame:
    columns = [persons["person_id"].gather(g_person).to_arrow(compat_level=pl.CompatLevel.newest()),
               pa.array(g_year, pa.int32())]
    columns += [pa.array(acc[:, k]) for k in range(len(K.ACCUMULATORS))]
    columns += [pa.array(chronic[:, d]) for d in range(len(diseases))]
    names = ["person_id", "year", *K.ACCUMULATORS, *(f"chronic_raw.{c}" for c in diseases)]
    return _frame(columns, names)


def _frame(columns: list[pa.Array], names: list[str]) -> pl.DataFrame:
    """A DataFrame of Arrow arrays (NumPy-backed ones without a copy): one conversion, which
    costs less than a Polars Series per column when settling one claim."""
    frame = pl.from_arrow(pa.table(columns, names=names))
    assert isinstance(frame, pl.DataFrame)
    return frame


def _trace_frame(tr: np.ndarray, gt: GroupTerms, diseases: list[str], disease: np.ndarray,
                 claim_ids: pl.Series) -> pl.DataFrame:
    group = tr[:, K.T_GROUP]
    columns: dict[str, object] = {"claim_id": claim_ids}
    columns.update({name: tr[:, k] for k, name in enumerate(K.TRACE)})
    columns.update({
        "epoch": tr[:, K.T_EPOCH], "year_index": tr[:, K.T_YEAR],
        "major_deductible_eff": gt.major_deductible[group], "major_cap_eff": gt.major_cap[group],
        "major_delta": gt.major_delta[group], "tilt_category": gt.tilt_category[group],
        "assist_category": gt.assist_category[group], "assist_row": gt.assist_row[group],
        "disease_index": disease,
    })
    return pl.DataFrame(columns)


def _empty(trace: bool) -> Settlement:
    schema = {"claim_id": pl.String, "person_id": pl.String, "year": pl.Int32,
              "covered": pl.Boolean, "reason": pl.String}
    schema.update({c: pl.Int64 for c in MONEY_COLUMNS})
    closing = {"person_id": pl.String, "year": pl.Int32} | {a: pl.Int64 for a in K.ACCUMULATORS}
    return Settlement(pl.DataFrame(schema=schema), pl.DataFrame(schema=closing),
                      pl.DataFrame() if trace else None)
