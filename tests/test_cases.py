"""Hand-worked settlement cases: every ``tests/cases/*.yaml`` case is one test.

A case file is written for a policy expert to read and check on paper; each expected
figure carries a ``how:`` line with its working from SPEC §5. The format:

```yaml
policy: tests/fixtures/test_city.yaml      # file default; a path or a shipped region code
expected_major_cap: {value: "300000.00", how: "major.cap of the test city"}   # file default
cases:
  - name: short_snake_case_name            # test id: <file stem>/<name>
    description: what the case shows, in words
    policy: "360400"                       # optional, overrides the file's default
    overrides:                             # optional: key → value in YAML units, for the
      basic.annual_cap: 10000              #   whole case (the chain is flattened into one
                                           #   file, the key's entries replaced by this one)
    dated_overrides:                       # optional: key → dated entries, for terms that
      basic.inpatient.ratio:               #   change inside the case's years
        - {from: 2023-01-01, value: {1: 0.9, 2: 0.8, 3: 0.6}}
        - {from: 2023-07-01, value: {1: 0.9, 2: 0.8, 3: 0.7}}
    persons:                               # default: one person P1 with no category
      - {person_id: A, categories: [dibao], chronic: [hypertension], death_date: 2023-06-01}
    enrollments: [...]                     # default: a resident enrolment in the policy's
                                           #   region for every person and claim year
    person_years:                          # optional: benefit_start, major_cap (yuan; absent
      - {person_id: A, year: 2023, benefit_start: 2023-04-01}   # = the base cap, null = none)
    claims:                                # amounts in yuan, as strings
      - {claim_id: "1", visit_type: inpatient, facility_level: 3, date: 2023-03-01,
         total: "52000.00", self_pay: "1500.00", class_b_self_pay: "500.00"}
    expected:                              # one entry per claim, keyed by claim_id
      "1":
        deductible: "1000.00"
        basic: "29400.00"
        ...                                # major, assistance, oop; major_cap when it is
        how:                               #   not the case's or file's default
          basic: "(50000 − 1000) × 0.6 = 29400"
```

Claims take `date` for a same-day admit_date and settle_date, or both fields. A covered
claim states deductible, basic, major, assistance and oop, each with a ``how`` line (and
major_cap's how when it states one). An uncovered claim states ``covered: false``, its
``reason`` with a ``how.reason`` line and its ``oop``; its payers default to 0 and its
major_cap to null. The runner also checks, for the hand figures and for the engine's,
that total == basic + major + assistance + oop, and that settling the claims one at a time
online (each call opening with the previous call's closing accumulators) gives the batch
results.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from yibao.engine.settlement import settle
from yibao.money import fen_to_yuan, to_fen
from yibao.policy import Policy, load_policy, shipped_regions

ROOT = Path(__file__).resolve().parent.parent
CASES_DIR = Path(__file__).resolve().parent / "cases"
DEFAULT_POLICY = "tests/fixtures/test_city.yaml"
OVERRIDE_FROM = dt.date(2000, 1, 1)
PAYERS = ("deductible", "basic", "major", "assistance")
FIGURES = (*PAYERS, "oop")

FILE_KEYS = {"policy", "expected_major_cap", "cases"}
CASE_KEYS = {"name", "description", "policy", "overrides", "dated_overrides", "persons",
             "enrollments", "person_years", "claims", "expected", "expected_major_cap"}
PERSON_KEYS = {"person_id", "id_number", "sex", "birth_date", "death_date", "region",
               "categories", "chronic"}
ENROLLMENT_KEYS = {"person_id", "year", "region", "scheme", "paid_date", "contribution_paid",
                   "repaid_years", "employee_end_date"}
CLAIM_KEYS = {"claim_id", "person_id", "facility_id", "facility_level", "visit_type",
              "chronic_disease", "maternity_kind", "date", "admit_date", "settle_date",
              "total", "self_pay", "class_b_self_pay", "out_of_region", "diagnosis",
              "procedure", "procedure_kind"}
EXPECTED_KEYS = {"covered", "reason", *FIGURES, "major_cap", "how"}
DIAGNOSIS = {"inpatient": "K35.8", "outpatient": "J06.9", "maternity": "O80",
             "hypertension": "I10", "diabetes": "E11.9", "tuberculosis": "A15.0"}


class CaseFormatError(ValueError):
    """A case file breaks the format above (a typo, a missing how line, ...)."""


def _yuan(value: object, where: str) -> int:
    if not isinstance(value, str):
        raise CaseFormatError(f"{where}: write yuan amounts as strings like \"500.00\", "
                              f"got {value!r}")
    return to_fen(value)


def _unknown(mapping: dict[str, Any], allowed: set[str], where: str) -> None:
    extra = set(mapping) - allowed
    if extra:
        raise CaseFormatError(f"{where}: unknown key(s) {sorted(extra)}")


def _case_files() -> Iterator[Any]:
    for path in sorted(CASES_DIR.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        _unknown(doc, FILE_KEYS, path.name)
        names: set[str] = set()
        for case in doc["cases"]:
            _unknown(case, CASE_KEYS, f"{path.name} case {case.get('name')}")
            if case["name"] in names:
                raise CaseFormatError(f"{path.name}: two cases named {case['name']}")
            names.add(case["name"])
            merged = {"policy": doc.get("policy", DEFAULT_POLICY),
                      "expected_major_cap": doc.get("expected_major_cap")} | case
            yield pytest.param(merged, id=f"{path.stem}/{case['name']}")


# ── policy ──────────────────────────────────────────────────────────────────────────────────

def _flattened(policy: Policy) -> dict[str, list[dict[str, Any]]]:
    """The chain's parameters as one standalone file: each key's value as the loader resolves
    it from every date on which any file of the chain gives that key a new entry."""
    params: dict[str, list[dict[str, Any]]] = {}
    for key in sorted({k for rf in policy.chain for k in rf.parameters}):
        starts = sorted({e.start for rf in policy.chain for e in rf.parameters.get(key, ())})
        entries = []
        for start in starts:
            found = policy.lookup(key, start)
            assert found is not None
            entries.append({"from": start, "value": found.raw,
                            "source": f"{found.region}: {found.source}"})
        params[key] = entries
    return params


def _policy(case: dict[str, Any], tmp_path: Path) -> Policy:
    """The case's policy; with overrides, a standalone file with those keys replaced.

    Flattening the chain first means an override replaces a key whichever file of the
    chain defined it, at every date, whatever the loader's precedence between files.
    """
    spec = str(case["policy"])
    base = load_policy(spec if spec.isdigit() and len(spec) == 6 else ROOT / spec)
    overrides = case.get("overrides") or {}
    dated = case.get("dated_overrides") or {}
    if not overrides and not dated:
        return base
    params = _flattened(base)
    for key, value in overrides.items():
        params[key] = [{"from": OVERRIDE_FROM, "value": value, "source": "case override"}]
    for key, entries in dated.items():
        params[key] = [{"from": e["from"], "value": e["value"], "source": "case override"}
                       for e in entries]
    doc = {"region": base.region, "name": f"{base.name} (case overrides)", "parent": None,
           "parameters": params}
    path = tmp_path / f"{base.region}.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_policy(path)


# ── input frames ────────────────────────────────────────────────────────────────────────────

def _persons(case: dict[str, Any], region: str) -> pl.DataFrame:
    rows = case.get("persons") or [{"person_id": "P1"}]
    out = []
    for p in rows:
        _unknown(p, PERSON_KEYS, f"person {p.get('person_id')}")
        out.append({
            "person_id": str(p["person_id"]),
            "id_number": p.get("id_number"),
            "sex": p.get("sex", "M"),
            "birth_date": p.get("birth_date", dt.date(1970, 1, 1)),
            "death_date": p.get("death_date"),
            "region": str(p.get("region", region)),
            "categories": list(p.get("categories", [])),
            "chronic": list(p.get("chronic", [])),
        })
    return pl.DataFrame(out, schema={
        "person_id": pl.String, "id_number": pl.String, "sex": pl.String,
        "birth_date": pl.Date, "death_date": pl.Date, "region": pl.String,
        "categories": pl.List(pl.String), "chronic": pl.List(pl.String)})


def _claims(case: dict[str, Any], only_person: str | None) -> pl.DataFrame:
    out = []
    for c in case["claims"]:
        where = f"claim {c.get('claim_id')}"
        _unknown(c, CLAIM_KEYS, where)
        visit = c["visit_type"]
        person = c.get("person_id", only_person)
        if person is None:
            raise CaseFormatError(f"{where}: person_id is needed when a case has several persons")
        admit = c.get("admit_date", c.get("date"))
        settle_date = c.get("settle_date", c.get("date"))
        disease = c.get("chronic_disease")
        out.append({
            "claim_id": str(c["claim_id"]),
            "person_id": str(person),
            "facility_id": str(c.get("facility_id", "F1")),
            "facility_level": int(c.get("facility_level", 1)),
            "visit_type": visit,
            "chronic_disease": disease,
            "maternity_kind": c.get("maternity_kind"),
            "admit_date": admit,
            "settle_date": settle_date,
            "total": _yuan(c["total"], f"{where} total"),
            "self_pay": _yuan(c.get("self_pay", "0.00"), f"{where} self_pay"),
            "class_b_self_pay": _yuan(c.get("class_b_self_pay", "0.00"),
                                      f"{where} class_b_self_pay"),
            "out_of_region": bool(c.get("out_of_region", False)),
            "diagnosis": c.get("diagnosis", DIAGNOSIS.get(disease or visit, "Z00.0")),
            "procedure": c.get("procedure"),
            "procedure_kind": c.get("procedure_kind"),
        })
    return pl.DataFrame(out, schema={
        "claim_id": pl.String, "person_id": pl.String, "facility_id": pl.String,
        "facility_level": pl.Int8, "visit_type": pl.String, "chronic_disease": pl.String,
        "maternity_kind": pl.String, "admit_date": pl.Date, "settle_date": pl.Date,
        "total": pl.Int64, "self_pay": pl.Int64, "class_b_self_pay": pl.Int64,
        "out_of_region": pl.Boolean, "diagnosis": pl.String, "procedure": pl.String,
        "procedure_kind": pl.String})


def _enrollments(case: dict[str, Any], persons: pl.DataFrame, claims: pl.DataFrame,
                 region: str) -> pl.DataFrame:
    given = case.get("enrollments")
    if given is None:
        years = sorted(set(claims["settle_date"].dt.year().to_list()))
        given = [{"person_id": p, "year": y} for p in persons["person_id"] for y in years]
    out = []
    for e in given:
        _unknown(e, ENROLLMENT_KEYS, f"enrollment of {e.get('person_id')}")
        year = int(e["year"])
        out.append({
            "person_id": str(e["person_id"]),
            "year": year,
            "region": str(e.get("region", region)),
            "scheme": e.get("scheme", "resident"),
            "paid_date": e.get("paid_date", dt.date(year - 1, 12, 1)),
            "contribution_paid": _yuan(e.get("contribution_paid", "380.00"), "contribution"),
            "repaid_years": int(e.get("repaid_years", 0)),
            "employee_end_date": e.get("employee_end_date"),
        })
    return pl.DataFrame(out, schema={
        "person_id": pl.String, "year": pl.Int32, "region": pl.String, "scheme": pl.String,
        "paid_date": pl.Date, "contribution_paid": pl.Int64, "repaid_years": pl.Int32,
        "employee_end_date": pl.Date})


def _person_years(case: dict[str, Any], policy: Policy) -> pl.DataFrame | None:
    given = case.get("person_years")
    if not given:
        return None
    out = []
    for py in given:
        year = int(py["year"])
        if "major_cap" in py:
            cap = None if py["major_cap"] is None else _yuan(py["major_cap"], "major_cap")
        else:
            cap = policy.resolve(dt.date(year, 1, 1)).get("major.cap")
        out.append({"person_id": str(py["person_id"]), "year": year,
                    "benefit_start": py.get("benefit_start", dt.date(year, 1, 1)),
                    "major_cap": cap})
    return pl.DataFrame(out, schema={"person_id": pl.String, "year": pl.Int32,
                                     "benefit_start": pl.Date, "major_cap": pl.Int64})


# ── expected figures ────────────────────────────────────────────────────────────────────────

def _expected(case: dict[str, Any], claims: pl.DataFrame) -> dict[str, dict[str, Any]]:
    """Expected figures in fen per claim_id, after checking every how line is there."""
    given = {str(k): v for k, v in case["expected"].items()}
    ids = claims["claim_id"].to_list()
    if set(given) != set(ids):
        raise CaseFormatError(f"expected has claims {sorted(given)}, the case has {sorted(ids)}")
    totals = dict(zip(ids, claims["total"].to_list(), strict=True))
    default_cap = case.get("expected_major_cap")
    out: dict[str, dict[str, Any]] = {}
    for cid, e in given.items():
        where = f"expected {cid}"
        _unknown(e, EXPECTED_KEYS, where)
        how = e.get("how") or {}
        covered = e.get("covered", True)
        row: dict[str, Any] = {"covered": covered, "reason": e.get("reason")}
        if covered:
            missing = [f for f in FIGURES if f not in e]
            if missing:
                raise CaseFormatError(f"{where}: a covered claim states {missing}")
            lacking = [f for f in FIGURES if f not in how]
            if lacking:
                raise CaseFormatError(f"{where}: no how line for {lacking}")
            if "major_cap" in e:
                if "major_cap" not in how:
                    raise CaseFormatError(f"{where}: no how line for major_cap")
                cap = e["major_cap"]
            elif default_cap is not None:
                cap = default_cap["value"]
            else:
                raise CaseFormatError(f"{where}: no major_cap and no expected_major_cap default")
        else:
            if not e.get("reason") or "reason" not in how or "oop" not in e:
                raise CaseFormatError(f"{where}: an uncovered claim states reason, how.reason "
                                      "and oop")
            cap = e.get("major_cap")
        for f in FIGURES:
            row[f] = _yuan(e.get(f, "0.00"), f"{where} {f}")
        row["major_cap"] = None if cap is None else _yuan(cap, f"{where} major_cap")
        row["how"] = how
        paid = row["basic"] + row["major"] + row["assistance"] + row["oop"]
        if paid != totals[cid]:
            raise CaseFormatError(
                f"{where}: hand figures basic + major + assistance + oop = {fen_to_yuan(paid)} "
                f"but total = {fen_to_yuan(totals[cid])}")
        out[cid] = row
    return out


def _mismatches(expected: dict[str, dict[str, Any]], results: pl.DataFrame) -> list[str]:
    problems = []
    for got in results.iter_rows(named=True):
        want = expected[got["claim_id"]]
        if got["covered"] != want["covered"]:
            problems.append(f"claim {got['claim_id']}: covered expected {want['covered']}, "
                            f"got {got['covered']} ({got['reason']})")
            continue
        if (got["reason"] or None) != want["reason"]:
            problems.append(f"claim {got['claim_id']}: reason expected {want['reason']}, "
                            f"got {got['reason']}")
        for f in (*FIGURES, "major_cap"):
            if got[f] != want[f]:
                show = [None if v is None else fen_to_yuan(v) for v in (want[f], got[f])]
                line = want["how"].get(f, "")
                problems.append(f"claim {got['claim_id']} {f}: expected {show[0]}, got {show[1]}"
                                + (f"   [how: {line}]" if line else ""))
    return problems


def _online(policy: Policy, persons: pl.DataFrame, enrollments: pl.DataFrame,
            claims: pl.DataFrame, person_years: pl.DataFrame | None) -> pl.DataFrame:
    """Settle claim by claim in settlement order, each opening with the running closing."""
    ordered = claims.with_row_index("row").sort(["person_id", "settle_date", "claim_id"])
    closing: pl.DataFrame | None = None
    rows = []
    for i in ordered["row"].to_list():
        one = settle(policy, persons, enrollments, claims.slice(i, 1),
                     person_years=person_years, opening=closing)
        rows.append(one.results)
        if closing is None:
            closing = one.closing
        else:
            stale = closing.join(one.closing.select("person_id", "year"),
                                 on=["person_id", "year"], how="anti")
            closing = pl.concat([stale, one.closing], how="diagonal_relaxed")
    return pl.concat(rows)


@pytest.mark.parametrize("case", list(_case_files()))
def test_case(case: dict[str, Any], tmp_path: Path) -> None:
    policy = _policy(case, tmp_path)
    region = policy.region
    persons = _persons(case, region)
    only = persons["person_id"][0] if persons.height == 1 else None
    claims = _claims(case, only)
    enrollments = _enrollments(case, persons, claims, region)
    person_years = _person_years(case, policy)
    expected = _expected(case, claims)

    batch = settle(policy, persons, enrollments, claims, person_years=person_years).results
    assert batch["claim_id"].to_list() == claims["claim_id"].to_list()
    unbalanced = batch.filter(
        pl.col("basic") + pl.col("major") + pl.col("assistance") + pl.col("oop")
        != claims["total"])
    assert unbalanced.height == 0, f"payers do not sum to the total:\n{unbalanced}"
    problems = _mismatches(expected, batch)
    assert not problems, (f"{case['description'].strip()}\n\n" + "\n".join(problems))

    online = _online(policy, persons, enrollments, claims, person_years)
    diff = (batch.join(online, on="claim_id", suffix="_online")
            .filter(pl.any_horizontal(
                pl.col(c).ne_missing(pl.col(f"{c}_online"))
                for c in batch.columns if c != "claim_id")))
    assert diff.height == 0, f"claim-by-claim online differs from batch:\n{diff}"


@pytest.mark.parametrize("region", shipped_regions())
def test_flattened_policy_resolves_like_its_chain(region: str, tmp_path: Path) -> None:
    """The runner's overrides rely on flattening; without overrides it must change nothing."""
    chain = load_policy(region)
    path = tmp_path / f"{region}.yaml"
    doc = {"region": region, "name": "flat", "parent": None, "parameters": _flattened(chain)}
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    flat = load_policy(path)
    dates = {e.start for rf in chain.chain for es in rf.parameters.values() for e in es}
    dates |= {d - dt.timedelta(days=1) for d in dates}
    dates |= {dt.date(y, 1, 1) for y in range(2020, 2028)}
    for key in {k for rf in chain.chain for k in rf.parameters}:
        for day in sorted(dates):
            want, got = chain.lookup(key, day), flat.lookup(key, day)
            assert (want is None) == (got is None), (key, day)
            if want is not None and got is not None:
                assert got.value == want.value, (key, day)
