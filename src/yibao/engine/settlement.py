"""One-stop settlement (一站式结算) of a batch of claims: basic → major → assistance.

SPEC §5. ``settle`` prepares every per-claim and per-person-year term with
vectorised lookups, puts the claims in settlement order and runs the kernel
once. Online settlement of a single claim is the same call with the person's
opening accumulators (``opening``), so there is one code path for both.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from yibao.engine import kernel as K
from yibao.engine.order import person_index, settlement_order
from yibao.engine.terms import (
    ClaimEpochs,
    GroupTerms,
    YearTerms,
    claim_epochs,
    disease_codes,
    group_terms,
    list_mask,
    year_terms,
)
from yibao.errors import InputError, Problem
from yibao.policy import Policy
from yibao.policy.model import CATEGORIES

RESULT_COLUMNS = ["claim_id", "person_id", "year", "covered", "reason", "policy_scope",
                  "deductible", "basic", "major", "assistance", "oop", "major_cap"]
MONEY_COLUMNS = ["policy_scope", "deductible", "basic", "major", "assistance", "oop", "major_cap"]
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
    return series.cast(pl.Int32).to_numpy().astype(np.int64)


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


def _enrolled(policy: Policy, persons: pl.DataFrame, enrollments: pl.DataFrame,
              g_person: np.ndarray, g_year: np.ndarray) -> np.ndarray:
    resident = enrollments.filter(
        (pl.col("scheme") == "resident")
        & pl.col("region").str.starts_with(covered_region(policy.region)))
    rows = person_index(persons["person_id"], resident["person_id"], "enrollments")
    return _person_year_rows(g_person, g_year, rows, resident["year"].to_numpy()) >= 0


def _visit_codes(claims: pl.DataFrame) -> np.ndarray:
    mapping = {v: i for i, v in enumerate(K.VISIT_CODES)}
    return claims["visit_type"].replace_strict(mapping, return_dtype=pl.Int64).to_numpy()


def _lump_sums(ep: ClaimEpochs, epoch: np.ndarray, visit: np.ndarray, kinds: pl.Series,
               claim_ids: pl.Series, order: np.ndarray) -> np.ndarray:
    lump = np.full(visit.size, -1, np.int64)
    problems: list[Problem] = []
    for e, table in enumerate(ep.lump_sum):
        hit = (epoch == e) & (visit == K.MATERNITY)
        if table is None or not hit.any():
            continue
        kind = kinds.gather(order[hit]).fill_null("").to_numpy()
        amount = np.full(kind.size, -1, np.int64)
        for name, fen in table.items():
            amount[kind == name] = fen
        lump[hit] = amount
        for i in np.flatnonzero(amount < 0)[:50]:
            claim = claim_ids[int(order[np.flatnonzero(hit)[i]])]
            problems.append(Problem(
                "UNKNOWN_MATERNITY_KIND",
                f"maternity_kind {kind[i]!r} has no lump sum in maternity.lump_sum "
                f"({', '.join(table)})", f"claim {claim}", "maternity_kind"))
    if problems:
        raise InputError(problems)
    return lump


def settle(policy: Policy, persons: pl.DataFrame, enrollments: pl.DataFrame,
           claims: pl.DataFrame, *, person_years: pl.DataFrame | None = None,
           opening: pl.DataFrame | None = None, trace: bool = False) -> Settlement:
    """Settle ``claims`` under ``policy`` (SPEC §5); frames as ``yibao.io`` reads them.

    ``person_years`` (person_id, year, benefit_start, major_cap) overrides the
    default benefit start (1 January) and effective major-illness cap (the base
    cap); ``opening`` (a previous ``Settlement.closing``) gives the person-years'
    opening annual accumulators.
    """
    n = claims.height
    if n == 0:
        return _empty(trace)
    prow = person_index(persons["person_id"], claims["person_id"], "claims")
    settle_day = _days(claims["settle_date"])
    order = settlement_order(prow, settle_day, claims["claim_id"])
    p_s, day_s = prow[order], settle_day[order]
    year_s = claims["settle_date"].dt.year().to_numpy().astype(np.int64)[order]
    starts = np.flatnonzero(np.r_[True, (p_s[1:] != p_s[:-1]) | (year_s[1:] != year_s[:-1])])
    group_start = np.r_[starts, n].astype(np.int64)
    g_person, g_year = p_s[starts], year_s[starts]
    group = np.repeat(np.arange(starts.size), np.diff(group_start))

    first_year, last_year = int(year_s.min()), int(year_s.max())
    years = range(first_year, last_year + 1)
    last_day = dt.date(1970, 1, 1) + dt.timedelta(days=int(day_s.max()))
    # every date a per-claim term may change is an epoch of claim_epochs: a disease defined
    # only between two such dates must still have an index
    changes = policy.change_dates(["outpatient.chronic.diseases"],
                                  dt.date(first_year, 1, 1), last_day)
    diseases = disease_codes(policy, [dt.date(y, 1, 1) for y in years] + changes + [last_day])
    yt = year_terms(policy, years, diseases)
    ep = claim_epochs(policy, dt.date(first_year, 1, 1), last_day, diseases)
    y_idx = year_s - first_year
    g_yidx = g_year - first_year

    # per person-year: enrolment, benefit start, cap, opening accumulators
    enrolled = _enrolled(policy, persons, enrollments, g_person, g_year)
    benefit_start = np.array([(dt.date(y, 1, 1) - dt.date(1970, 1, 1)).days for y in years],
                             np.int64)[g_yidx]
    cap_override = None
    if person_years is not None and person_years.height:
        py_rows = person_index(persons["person_id"], person_years["person_id"], "person_years")
        hit = _person_year_rows(g_person, g_year, py_rows, person_years["year"].to_numpy())
        found = hit >= 0
        starts_py = _days(person_years["benefit_start"])
        benefit_start[found] = starts_py[hit[found]]
        caps = person_years["major_cap"]
        has_cap = found & caps.is_not_null().to_numpy()[np.maximum(hit, 0)]
        cap_values = caps.fill_null(0).to_numpy().astype(np.int64)[np.maximum(hit, 0)]
        cap_override = np.where(has_cap, cap_values, yt.major_cap[g_yidx])
    categories = list_mask(persons["categories"], list(CATEGORIES))[g_person]
    gt = group_terms(yt, g_yidx, categories, cap_override)
    acc, chronic_acc = _opening(opening, persons, g_person, g_year, diseases)

    # per claim, in settlement order
    visit = _visit_codes(claims)[order]
    epoch = np.searchsorted(ep.start_day, day_s, side="right") - 1
    level = claims["facility_level"].to_numpy().astype(np.int64)[order]
    oor = claims["out_of_region"].to_numpy().astype(bool)[order]
    total = claims["total"].to_numpy()
    scope_in = total - claims["self_pay"].to_numpy() - claims["class_b_self_pay"].to_numpy()
    scope = scope_in[order].astype(np.int64)
    disease = (claims["chronic_disease"].replace_strict(
        {c: i for i, c in enumerate(diseases)}, default=-1, return_dtype=pl.Int64)
        .to_numpy()[order])
    dz = np.maximum(disease, 0)
    lump = _lump_sums(ep, epoch, visit, claims["maternity_kind"], claims["claim_id"], order)

    chronic_mask = list_mask(persons["chronic"], diseases)[p_s]
    certified = ((disease >= 0) & (ep.chronic_ratio[epoch, dz] >= 0)
                 & (yt.chronic_limit[y_idx, dz] >= 0) & (((chronic_mask >> dz) & 1) == 1))
    death_day = _days(persons["death_date"].fill_null(dt.date(9999, 12, 31)))[p_s]
    admit_day = _days(claims["admit_date"])[order]
    reason = np.select(
        [~enrolled[group], admit_day > death_day, day_s < benefit_start[group],
         (visit == K.CHRONIC) & ~certified],
        [1, 2, 3, 4], 0).astype(np.int64)

    inpatient_ded = np.where(oor, ep.oor_deductible[epoch], ep.deductible[epoch, level])
    inpatient_ratio = np.where(oor, np.maximum(ep.ratio[epoch, level] - ep.oor_delta[epoch], 0),
                               ep.ratio[epoch, level])
    op_ded = ep.op_deductible[epoch, level]
    is_op, is_chronic = visit == K.OUTPATIENT, visit == K.CHRONIC
    deductible_base = np.where(is_op, np.maximum(op_ded, 0), inpatient_ded)
    ratio = np.where(is_op, np.where(op_ded >= 0, ep.op_ratio[epoch, level], 0),
                     np.where(is_chronic, ep.chronic_ratio[epoch, dz], inpatient_ratio))
    in_major = yt.major_visit[y_idx, visit]
    in_assist = yt.assist_visit[y_idx, visit]

    out = np.empty((4, n), np.int64)
    tr = np.zeros((n if trace else 1, K.N_TRACE), np.int64)
    K.settle_groups(
        group_start, g_yidx, gt.major_deductible, gt.major_cap, gt.major_delta, gt.assist_row,
        acc, chronic_acc,
        visit, reason, scope, deductible_base, ratio, lump, epoch, dz, in_major, in_assist,
        ep.factors, ep.n_factors,
        yt.basic_cap, yt.outpatient_limit, yt.chronic_deductible, yt.chronic_limit,
        yt.bracket_upper, yt.bracket_ratio, yt.n_brackets, yt.cumulative_basis,
        yt.include_basic_deductible, yt.assist_terms,
        out[0], out[1], out[2], out[3], tr, trace)

    back = np.empty(n, np.int64)
    back[order] = np.arange(n)
    ded, basic, major, assist = (out[k][back] for k in range(4))
    reason_in, group_in = reason[back], group[back]
    covered = reason_in == 0
    cap_in = gt.major_cap[group_in]
    results = pl.DataFrame({
        "claim_id": claims["claim_id"],
        "person_id": claims["person_id"],
        "year": pl.Series(year_s[back], dtype=pl.Int32),
        "covered": covered,
        "reason": pl.Series(np.array(K.REASONS, dtype=object)[reason_in], dtype=pl.String),
        "policy_scope": scope_in.astype(np.int64),
        "deductible": ded, "basic": basic, "major": major, "assistance": assist,
        "oop": total - basic - major - assist,
        "major_cap": pl.Series(cap_in).set(pl.Series(~covered | (cap_in < 0)), None),
    })
    closing = _closing(persons, g_person, g_year, acc, chronic_acc, diseases)
    trace_frame = None
    if trace:
        trace_frame = _trace_frame(tr[back], epoch[back], y_idx[back], gt, group_in, diseases,
                                   disease[back], claims["claim_id"], yt)
    return Settlement(results, closing, trace_frame, tuple(diseases))


def _opening(opening: pl.DataFrame | None, persons: pl.DataFrame, g_person: np.ndarray,
             g_year: np.ndarray, diseases: list[str]) -> tuple[np.ndarray, np.ndarray]:
    acc = np.zeros((g_person.size, K.N_ACC), np.int64)
    chronic = np.zeros((g_person.size, max(len(diseases), 1)), np.int64)
    if opening is None or opening.height == 0:
        return acc, chronic
    rows = person_index(persons["person_id"], opening["person_id"], "opening accumulators")
    hit = _person_year_rows(g_person, g_year, rows, opening["year"].to_numpy())
    found = hit >= 0
    for k, name in enumerate(K.ACCUMULATORS):
        acc[found, k] = opening[name].to_numpy()[hit[found]]
    for d, code in enumerate(diseases):
        column = f"chronic_raw.{code}"
        if column in opening.columns:
            chronic[found, d] = opening[column].fill_null(0).to_numpy()[hit[found]]
    return acc, chronic


def _closing(persons: pl.DataFrame, g_person: np.ndarray, g_year: np.ndarray, acc: np.ndarray,
             chronic: np.ndarray, diseases: list[str]) -> pl.DataFrame:
    columns: dict[str, object] = {
        "person_id": persons["person_id"].gather(g_person),
        "year": pl.Series(g_year, dtype=pl.Int32),
    }
    columns.update({name: acc[:, k] for k, name in enumerate(K.ACCUMULATORS)})
    columns.update({f"chronic_raw.{code}": chronic[:, d] for d, code in enumerate(diseases)})
    return pl.DataFrame(columns)


def _trace_frame(tr: np.ndarray, epoch: np.ndarray, y_idx: np.ndarray, gt: GroupTerms,
                 group: np.ndarray, diseases: list[str], disease: np.ndarray,
                 claim_ids: pl.Series, yt: YearTerms) -> pl.DataFrame:
    columns: dict[str, object] = {"claim_id": claim_ids}
    columns.update({name: tr[:, k] for k, name in enumerate(K.TRACE)})
    columns.update({
        "epoch": epoch, "year_index": y_idx,
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
