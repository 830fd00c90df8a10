"""Properties of one-stop settlement (SPEC §2, §5) on small random persons and claims.

Random policies are the test city (tests/fixtures/test_city.yaml) with randomised caps,
limits, brackets, tilt and assistance terms; the hand-worked figures live in tests/cases.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yibao.engine.settlement import settle
from yibao.policy import Policy, read_region_file
from yibao.policy.loader import Entry
from yibao.policy.model import parse_value

ROOT = Path(__file__).resolve().parents[2]
BASE = read_region_file(ROOT / "tests" / "fixtures" / "test_city.yaml")
START = dt.date(2023, 1, 1)
YEARS = (2023, 2024)
CATEGORIES = ("tekun", "dibao", "dibao_edge", "student")
DISEASES = ("hypertension", "diabetes")
SETTINGS = settings(max_examples=80, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

PERSON_SCHEMA: dict[str, Any] = {
    "person_id": pl.String, "id_number": pl.String, "sex": pl.String, "birth_date": pl.Date,
    "death_date": pl.Date, "region": pl.String, "categories": pl.List(pl.String),
    "chronic": pl.List(pl.String)}
ENROLLMENT_SCHEMA: dict[str, Any] = {
    "person_id": pl.String, "year": pl.Int32, "region": pl.String, "scheme": pl.String,
    "paid_date": pl.Date, "contribution_paid": pl.Int64, "repaid_years": pl.Int32,
    "employee_end_date": pl.Date}
CLAIM_SCHEMA: dict[str, Any] = {
    "claim_id": pl.String, "person_id": pl.String, "facility_id": pl.String,
    "facility_level": pl.Int8, "visit_type": pl.String, "chronic_disease": pl.String,
    "maternity_kind": pl.String, "admit_date": pl.Date, "settle_date": pl.Date,
    "total": pl.Int64, "self_pay": pl.Int64, "class_b_self_pay": pl.Int64,
    "out_of_region": pl.Boolean, "diagnosis": pl.String, "procedure": pl.String,
    "procedure_kind": pl.String}
PERSON_YEAR_SCHEMA: dict[str, Any] = {
    "person_id": pl.String, "year": pl.Int32, "benefit_start": pl.Date, "major_cap": pl.Int64}


def policy_with(overrides: dict[str, Any]) -> Policy:
    """The test city with some keys' values replaced from 1 January 2023 (raw YAML units)."""
    params = dict(BASE.parameters)
    for key, raw in overrides.items():
        params[key] = (Entry(START, parse_value(key, raw), raw, "property override"),)
    return Policy((dataclasses.replace(BASE, parameters=params),))


# ── strategies ──────────────────────────────────────────────────────────────────────────────

@st.composite
def overrides(draw: st.DrawFn, whole_ratios: bool = False) -> dict[str, Any]:
    """Randomised caps, limits, brackets, tilt and assistance terms of the test city."""
    ov: dict[str, Any] = {}
    if draw(st.integers(0, 2)) > 0:  # small caps are where the cap rules show
        ov["basic.annual_cap"] = draw(st.sampled_from([0, 300, 500, 5000, 100000]))
    if draw(st.booleans()):
        ov["outpatient.general"] = {
            "deductible": {1: 10, 2: 0}, "ratio": {1: 0.5, 2: 0.35},
            "annual_limit": draw(st.sampled_from([0, 50, 200, 1000]))}
    if draw(st.booleans()):
        ov["outpatient.chronic.diseases"] = {
            "hypertension": {"name": "高血压", "icd10": ["I10"], "ratio": 0.5,
                             "annual_limit": draw(st.sampled_from([0, 30, 300, 5000]))},
            "diabetes": {"name": "糖尿病", "icd10": ["E11"], "ratio": 0.6,
                         "annual_limit": draw(st.sampled_from([0, 60, 600, 5000]))}}
        ov["outpatient.chronic.deductible"] = draw(st.sampled_from([0, 100, 1000]))
    if draw(st.booleans()):
        ov["major.deductible"] = draw(st.sampled_from([0, 1000, 10000]))
        ov["major.cap"] = draw(st.sampled_from([0, 1000, 20000, 300000]))
    if draw(st.booleans()):
        uppers = sorted(draw(st.sets(st.sampled_from([5000, 20000, 50000, 100000]), max_size=3)))
        ratios = st.sampled_from([0.5, 0.6, 0.75, 0.98, 1.0] if whole_ratios
                                 else [0.5, 0.6, 0.65, 0.75, 0.98, 1.0, 0.15])
        ov["major.brackets"] = ([{"upto": u, "ratio": draw(ratios)} for u in uppers]
                                + [{"ratio": draw(ratios)}])
        ov["major.bracket_basis"] = draw(st.sampled_from(["above_deductible", "cumulative"]))
        ov["major.include_basic_deductible"] = draw(st.booleans())
    if draw(st.booleans()):
        ov["major.tilt"] = {
            c: {"deductible_factor": 0.5, "ratio_delta": 0.05, "no_cap": draw(st.booleans())}
            for c in draw(st.permutations(["tekun", "dibao"]))}
    if draw(st.integers(0, 2)) > 0:
        caps = st.sampled_from([None, 0, 1000, 1000, 50000])
        second = {"deductible": draw(st.sampled_from([0, 3000])), "ratio": 0.6, "cap": draw(caps)}
        terms = {"tekun": {"deductible": 0, "ratio": 1, "cap": draw(caps)},
                 "dibao": {"deductible": draw(st.sampled_from([0, 500])), "ratio": 0.75,
                           "cap": draw(caps)},
                 "dibao_edge": {"deductible": 0, "ratio": 0.7, "cap": draw(caps),
                                "second": second}}
        ov["assistance.categories"] = {c: terms[c] for c in draw(st.permutations(list(terms)))}
    if draw(st.booleans()):
        ov["maternity.lump_sum"] = None
    if draw(st.booleans()):
        ov["basic.inpatient.repeat_factor"] = draw(st.sampled_from([[1], [1, 0.5, 0], [0]]))
    return ov


def money(whole_yuan: bool) -> st.SearchStrategy[int]:
    """Fen amounts from a few fen to 300000 yuan, skewed small; whole yuan when asked."""
    small = st.integers(0, 50_000)
    medium = st.integers(0, 2_000_000)
    large = st.integers(0, 30_000_000)
    fen = st.one_of(small, medium, large)
    return fen.map(lambda f: f - f % 100) if whole_yuan else fen


@st.composite
def claim_rows(draw: st.DrawFn, persons: list[dict[str, Any]], *, visits: tuple[str, ...],
               whole_yuan: bool = False, max_claims: int = 10,
               digit_ids: bool = False) -> list[dict[str, Any]]:
    """Claims dense enough to matter: mostly in 2023, chronic ones mostly certified."""
    n = draw(st.integers(1, max_claims))
    # claim_id is compared as text ("10" < "9" < "B" < "a" < "住")
    id_text = (st.integers(1, 300).map(str) if digit_ids
               else st.text(alphabet="0129Ba住", min_size=1, max_size=3))
    ids = draw(st.lists(id_text, min_size=n, max_size=n, unique=True))
    rows = []
    for cid in ids:
        person = draw(st.sampled_from(persons))
        visit = draw(st.sampled_from(visits))
        total = draw(money(whole_yuan))
        self_pay = draw(st.integers(0, total)) if draw(st.integers(0, 3)) == 0 else 0
        class_b = draw(st.integers(0, total - self_pay)) if draw(st.integers(0, 3)) == 0 else 0
        if whole_yuan:
            self_pay, class_b = self_pay - self_pay % 100, class_b - class_b % 100
        last = 729 if draw(st.integers(0, 4)) == 0 else 364
        # a few busy days, so that claims share a settle_date and claim_id breaks the tie
        day = draw(st.one_of(st.integers(0, last), st.sampled_from([40, 41, 200])))
        settle_day = START + dt.timedelta(days=day)
        disease = None
        if visit == "chronic":
            held = person["chronic"]
            disease = (draw(st.sampled_from(held)) if held and draw(st.integers(0, 4)) > 0
                       else draw(st.sampled_from([*DISEASES, None])))
        rows.append({
            "claim_id": cid, "person_id": person["person_id"],
            "facility_id": "F1", "facility_level": draw(st.integers(1, 3)),
            "visit_type": visit, "chronic_disease": disease,
            "maternity_kind": (draw(st.sampled_from(["vaginal", "cesarean"]))
                               if visit == "maternity" else None),
            "admit_date": settle_day - dt.timedelta(days=draw(st.integers(0, 20))),
            "settle_date": settle_day, "total": total, "self_pay": self_pay,
            "class_b_self_pay": class_b, "out_of_region": draw(st.integers(0, 3)) == 0,
            "diagnosis": "K35.8", "procedure": None, "procedure_kind": None,
        })
    return rows


@st.composite
def scenarios(draw: st.DrawFn, *, visits: tuple[str, ...] = ("inpatient", "outpatient",
                                                             "chronic", "maternity"),
              whole_yuan: bool = False, coverage_gaps: bool = True,
              max_claims: int = 10, digit_ids: bool = False) -> dict[str, Any]:
    """Persons, enrolments, person_years and claims for a random policy."""
    n_persons = draw(st.integers(1, 2))
    persons, enrollments, person_years = [], [], []
    for i in range(n_persons):
        pid = f"P{i}"
        death = (START + dt.timedelta(days=draw(st.integers(0, 729)))
                 if coverage_gaps and draw(st.integers(0, 7)) == 0 else None)
        persons.append({
            "person_id": pid, "id_number": None, "sex": "F", "birth_date": dt.date(1980, 1, 1),
            "death_date": death, "region": BASE.region,
            "categories": draw(st.lists(st.sampled_from(CATEGORIES), unique=True,
                                        min_size=draw(st.integers(0, 3)) and 1, max_size=2)),
            "chronic": draw(st.lists(st.sampled_from(DISEASES), unique=True, min_size=1,
                                     max_size=2)),
        })
        for year in YEARS:
            if not coverage_gaps or draw(st.integers(0, 9)) > 0:
                enrollments.append({
                    "person_id": pid, "year": year, "region": BASE.region,
                    "scheme": "resident", "paid_date": dt.date(year - 1, 12, 1),
                    "contribution_paid": 38000, "repaid_years": 0, "employee_end_date": None})
            if draw(st.integers(0, 3)) == 0:
                start = (dt.date(year, 1, 1) + dt.timedelta(days=draw(st.integers(0, 90)))
                         if coverage_gaps else dt.date(year, 1, 1))
                cap = draw(st.sampled_from([None, 0, 5000_00, 400000_00]))
                person_years.append({"person_id": pid, "year": year, "benefit_start": start,
                                     "major_cap": cap})
    return {
        "overrides": draw(overrides(whole_ratios=whole_yuan)),
        "persons": pl.DataFrame(persons, schema=PERSON_SCHEMA),
        "enrollments": pl.DataFrame(enrollments, schema=ENROLLMENT_SCHEMA),
        "person_years": (pl.DataFrame(person_years, schema=PERSON_YEAR_SCHEMA)
                         if person_years else None),
        "claims": pl.DataFrame(draw(claim_rows(persons, visits=visits, whole_yuan=whole_yuan,
                                               max_claims=max_claims, digit_ids=digit_ids)),
                               schema=CLAIM_SCHEMA),
    }


def run(s: dict[str, Any], claims: pl.DataFrame | None = None,
        persons: pl.DataFrame | None = None) -> pl.DataFrame:
    policy = policy_with(s["overrides"])
    return settle(policy, s["persons"] if persons is None else persons, s["enrollments"],
                  s["claims"] if claims is None else claims,
                  person_years=s["person_years"], trace=True).results


# ── every claim, every person-year ──────────────────────────────────────────────────────────

def _first_held(listed: dict[str, Any], held: list[str]) -> Any:
    for category, terms in listed.items():
        if category in held:
            return terms
    return None


@given(scenarios())
@SETTINGS
def test_payers_sum_to_total_and_stay_within_scope_and_caps(s: dict[str, Any]) -> None:
    policy = policy_with(s["overrides"])
    out = settle(policy, s["persons"], s["enrollments"], s["claims"],
                 person_years=s["person_years"], trace=True)
    r = out.results
    assert out.trace is not None
    assert r["claim_id"].to_list() == s["claims"]["claim_id"].to_list()
    c = s["claims"]
    scope = c["total"] - c["self_pay"] - c["class_b_self_pay"]
    assert (r["basic"] + r["major"] + r["assistance"] + r["oop"] == c["total"]).all()
    assert (r["policy_scope"] == scope).all()
    for col in ("deductible", "basic", "major", "assistance", "oop"):
        assert (r[col] >= 0).all(), col
    for col in ("deductible", "basic", "major", "assistance"):
        assert (r[col] <= scope).all(), col
    assert (r["basic"] + r["major"] + r["assistance"] <= scope).all()
    uncovered = r.filter(~pl.col("covered"))
    assert (uncovered["basic"] + uncovered["major"] + uncovered["assistance"]
            + uncovered["deductible"] == 0).all()
    assert uncovered["major_cap"].is_null().all()
    assert (r.filter(pl.col("covered"))["reason"].fill_null("") == "").all()

    # annual sums per person-year against the terms in force on 1 January (SPEC §5)
    rows = r.join(c.select("claim_id", "visit_type", "chronic_disease"), on="claim_id")
    rows = rows.join(out.trace.select("claim_id", "first", "second"), on="claim_id")
    categories = dict(zip(s["persons"]["person_id"], s["persons"]["categories"].to_list(),
                          strict=True))
    sums: dict[tuple[str, int], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    caps: dict[tuple[str, int], int | None] = {}
    for row in rows.iter_rows(named=True):
        acc = sums[(row["person_id"], row["year"])]
        visit = row["visit_type"]
        if visit == "outpatient":
            acc["outpatient"] += row["basic"]
        else:
            acc["capped"] += row["basic"]
        if visit == "chronic":
            acc[f"chronic.{row['chronic_disease']}"] += row["basic"]
            acc["chronic_deductible"] += row["deductible"]
        acc["major"] += row["major"]
        acc["first"] += row["first"]
        acc["second"] += row["second"]
        if row["covered"]:
            caps[(row["person_id"], row["year"])] = row["major_cap"]
    for (pid, year), acc in sums.items():
        terms = policy.resolve(dt.date(year, 1, 1))
        assert acc["capped"] <= terms.get("basic.annual_cap")
        assert acc["outpatient"] <= terms.get("outpatient.general").annual_limit
        assert acc["chronic_deductible"] <= terms.get("outpatient.chronic.deductible")
        for code, disease in terms.get("outpatient.chronic.diseases").items():
            assert acc[f"chronic.{code}"] <= disease.annual_limit, code
        cap = caps.get((pid, year))
        if cap is not None:
            assert acc["major"] <= cap
        assist = _first_held(terms.get("assistance.categories"), categories[pid])
        if assist is None:
            assert acc["first"] == acc["second"] == 0
            continue
        if assist.cap is not None:
            assert acc["first"] <= assist.cap
        if assist.second is None:
            assert acc["second"] == 0
        elif assist.second.cap is not None:
            assert acc["second"] <= assist.second.cap


# ── splitting a claim ───────────────────────────────────────────────────────────────────────
# Where SPEC says a year's totals cannot depend on how an amount is split into claims:
# - the basic cap (min(cap, Σ raw)), the chronic annual deductible (min(D, Σ scope)) and each
#   disease's annual limit are cumulative, and G (大病) and H (医疗救助, both layers) are
#   functions of the year's cumulative burden, rounded once at the cumulative point (§2);
# - so the totals are invariant when the per-claim raw amounts add up the same. That holds for
#   chronic claims (raw = (scope − deductible share) × ratio, linear once the shares of the
#   annual deductible add up the same — they do when the two parts are settled back to back)
#   and for inpatient claims when no per-admission 起付线 applies (repeat_factor [0]):
#   raw = scope × ratio. It does NOT hold for an inpatient admission with a deductible (each
#   part is an admission), a lump-sum birth (min(scope, lump) per claim) or an outpatient visit
#   (a 起付线 per visit), so those are not split.
# - whole-yuan amounts and two-decimal ratios make every per-claim product exact, so no
#   per-claim rounding can differ either.

@st.composite
def split_scenarios(draw: st.DrawFn) -> tuple[dict[str, Any], pl.DataFrame]:
    s = draw(scenarios(visits=("inpatient", "chronic"), whole_yuan=True, coverage_gaps=False,
                       digit_ids=True))
    s["overrides"]["basic.inpatient.repeat_factor"] = [0]
    s["overrides"].pop("maternity.lump_sum", None)
    claims = s["claims"]
    i = draw(st.integers(0, claims.height - 1))
    row = claims.row(i, named=True)
    scope = row["total"] - row["self_pay"] - row["class_b_self_pay"]
    part_scope = draw(st.integers(0, scope // 100)) * 100
    part_self = draw(st.integers(0, row["self_pay"] // 100)) * 100
    part_b = draw(st.integers(0, row["class_b_self_pay"] // 100)) * 100
    # digit-only claim ids: no other id sorts between "<id>a" and "<id>b"
    first = row | {"claim_id": row["claim_id"] + "a", "self_pay": part_self,
                   "class_b_self_pay": part_b, "total": part_scope + part_self + part_b}
    second = row | {"claim_id": row["claim_id"] + "b",
                    "self_pay": row["self_pay"] - part_self,
                    "class_b_self_pay": row["class_b_self_pay"] - part_b,
                    "total": row["total"] - first["total"]}
    split = pl.concat([claims.slice(0, i), pl.DataFrame([first, second], schema=CLAIM_SCHEMA),
                       claims.slice(i + 1)])
    return s, split


def _annual(results: pl.DataFrame) -> pl.DataFrame:
    return (results.group_by("person_id", "year")
            .agg(pl.col("deductible", "basic", "major", "assistance", "oop").sum())
            .sort("person_id", "year"))


@given(split_scenarios())
@SETTINGS
def test_splitting_a_claim_keeps_the_years_totals(case: tuple[dict[str, Any], pl.DataFrame]
                                                  ) -> None:
    s, split = case
    whole = _annual(run(s))
    parts = _annual(run(s, claims=split))
    assert whole.equals(parts), f"whole:\n{whole}\nsplit:\n{parts}"


# ── online equals batch, order does not matter ──────────────────────────────────────────────

@given(scenarios(max_claims=8))
@settings(SETTINGS, max_examples=60)  # one settle call per claim: the slowest property
def test_one_by_one_online_equals_batch(s: dict[str, Any]) -> None:
    """Each claim settled alone, in settlement order, opening with the previous closing."""
    policy = policy_with(s["overrides"])
    batch = run(s)
    claims = s["claims"]
    ordered = claims.with_row_index("row").sort("person_id", "settle_date", "claim_id")
    closing: pl.DataFrame | None = None
    online = []
    for i in ordered["row"].to_list():
        one = settle(policy, s["persons"], s["enrollments"], claims.slice(i, 1),
                     person_years=s["person_years"], opening=closing)
        online.append(one.results)
        if closing is None:
            closing = one.closing
        else:
            kept = closing.join(one.closing.select("person_id", "year"),
                                on=["person_id", "year"], how="anti")
            closing = pl.concat([kept, one.closing], how="diagonal_relaxed")
    got = pl.concat(online).sort("claim_id")
    assert got.equals(batch.sort("claim_id")), f"batch:\n{batch}\nonline:\n{got}"


@given(scenarios(), st.randoms(use_true_random=False))
@SETTINGS
def test_input_order_does_not_matter(s: dict[str, Any], rnd: Any) -> None:
    batch = run(s).sort("claim_id")
    claim_order = list(range(s["claims"].height))
    person_order = list(range(s["persons"].height))
    rnd.shuffle(claim_order)
    rnd.shuffle(person_order)
    shuffled = run(s, claims=s["claims"][claim_order], persons=s["persons"][person_order])
    assert shuffled.sort("claim_id").equals(batch)
