"""Policy what-if (政策调整测算): re-settle a year's claims under a changed policy with the same
engine (``settle_claims``), redo the financing under it, and compare each payer's spending,
the oop and months payable over the projection.

A change file is an ordinary parameter file whose ``region`` and ``parent`` are both the base
region: it sets only the keys it changes, dated as any other entry (docs/policy-authoring.md;
an entry must start no later than the period it should govern, and on the same date it wins
over the base region's, the nearest file winning ties).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl
import yaml

from yibao.engine.person_years import settle_claims
from yibao.errors import InputError, PolicyError, Problem, fail
from yibao.fund.baseline import Baseline, prepare
from yibao.fund.baseline import same_claims as _same_claims
from yibao.fund.inputs import RESULT_COLUMNS, FundInputs, financing_frame, spending_frame
from yibao.fund.monitoring import Indicators, indicators, low_income_categories
from yibao.fund.projection import Assumptions, Projection, base_of, project_pair
from yibao.policy import Policy, read_region_file

PAYERS = ("total", "basic", "major", "assistance", "oop")


def one_change(base: Policy, key: str, value_text: str, start: dt.date, source: str) -> Policy:
    """The base policy with one key changed from ``start`` (``value_text``: the value as YAML,
    as in a change file); a value that is not YAML is an InputError BAD_VALUE."""
    try:
        value = yaml.safe_load(value_text)
    except yaml.YAMLError as exc:
        raise InputError([Problem("BAD_VALUE", f"the value is not YAML: {exc}", "what-if",
                                  "value")]) from None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "what-if.yaml"
        path.write_text(yaml.safe_dump({
            "region": base.region, "name": f"{key} = {value_text}", "parent": base.region,
            "parameters": {key: [{"from": start, "value": value, "source": source}]},
        }, allow_unicode=True), "utf-8")
        return load_change(base, path)


def load_change(base: Policy, path: str | Path) -> Policy:
    """The base policy with a change file in front; the file's region and parent must be the
    base region (error WHATIF_PARENT, naming the file)."""
    rf = read_region_file(Path(path))
    if rf.parent != base.region or rf.region != base.region:
        raise fail(PolicyError, "WHATIF_PARENT",
                   f"a change file has region and parent {base.region} (the region it "
                   f"changes); got region {rf.region}, parent {rf.parent}", str(path), "parent")
    return Policy((replace(rf, name=f"{base.name} · {Path(path).stem}"), *base.chain))


@dataclass(frozen=True)
class PayerChange:
    """One payer's sum (fen) for a visit type (``all``) before and after the change."""

    visit_type: str
    payer: str
    base: int
    changed: int

    @property
    def difference(self) -> int:
        return self.changed - self.base


@dataclass(frozen=True)
class WhatIf:
    """The comparison: payer changes, both indicator sets, both projections."""

    change: str
    payers: list[PayerChange]
    base: Indicators
    changed: Indicators
    base_projection: Projection
    changed_projection: Projection
    changed_results: pl.DataFrame


def what_if(base_inputs: FundInputs, base_indicators: Indicators, changed_policy: Policy,
            persons: pl.DataFrame, enrollments: pl.DataFrame, claims: pl.DataFrame, *,
            history: pl.DataFrame | None = None, assumptions: Assumptions | None = None,
            replicates: int = 200, seed: int = 0, baseline: Baseline | None = None) -> WhatIf:
    """Re-settle the base year's claims under ``changed_policy`` (one settlement run; the
    base results are the ones ``base_inputs`` was built from) and compare. Both projections
    use the same assumptions, replicates and seed — and the same draws of persons — so a
    change that changes nothing gives identical figures. ``baseline``: these same inputs
    prepared already (``prepare``), e.g. for several what-ifs of one year."""
    b = baseline or prepare(base_inputs, base_indicators, persons, enrollments, claims,
                            history=history)
    return what_if_on(b, changed_policy, assumptions=assumptions, replicates=replicates,
                      seed=seed)


def what_if_on(b: Baseline, changed_policy: Policy, *, assumptions: Assumptions | None = None,
               replicates: int = 200, seed: int = 0) -> WhatIf:
    """``what_if`` on a prepared baseline: settles under the change only, with the base's
    person-year terms where the change cannot move them."""
    run = settle_claims(changed_policy, b.persons, b.enrollments, b.claims,
                        person_years=b.terms_under(changed_policy), prepared=b.claim_side)
    base_inputs = b.inputs
    changed_inputs = changed_inputs_of(base_inputs, changed_policy, b.persons, b.enrollments,
                                       b.claims, run.results, same_claims=b.same_claims)
    same_enrollees = changed_inputs.financing is base_inputs.financing
    same_coverage = (same_enrollees and low_income_categories(changed_inputs)
                     == low_income_categories(base_inputs))
    same_claims = b.same_claims  # settle gives the results in the claims' order
    changed = indicators(changed_inputs,
                         coverage=b.indicators.coverage if same_coverage else None,
                         claim_key=b.cube if same_claims else None,
                         income=b.income if same_enrollees else None)
    changed_base = base_of(changed, changed_inputs,
                           enrollee_rows=b.enrollee_rows if same_enrollees else None)
    before, after = project_pair(b.base, changed_base, assumptions, replicates=replicates,
                                 seed=seed, before=b.projection(assumptions, replicates, seed))
    return WhatIf(changed_policy.name, payer_changes(b.indicators, changed),
                  b.indicators, changed, before, after, run.results)


def changed_inputs_of(base: FundInputs, changed_policy: Policy, persons: pl.DataFrame,
                      enrollments: pl.DataFrame, claims: pl.DataFrame,
                      results: pl.DataFrame, *, same_claims: bool | None = None
                      ) -> FundInputs:
    """The base inputs with the re-settled results. What the change cannot move is reused:
    the claims' side of ``spending`` (person row, county, month) when the same persons and
    claims are given in the same order, and the financing when no ``financing.*`` value in
    force on 1 January differs (``finance`` reads nothing else from the policy).
    ``same_claims``: whether that holds, when known (``baseline.same_claims``)."""
    same_people = persons is base.persons or persons.equals(base.persons)
    if same_claims is None:
        same_claims = _same_claims(base, persons, results)
    if same_claims:
        spending = base.spending.with_columns(results.select(RESULT_COLUMNS))
    else:
        spending = spending_frame(claims, results, persons)
    jan1 = dt.date(base.year, 1, 1)
    financing = (base.financing if same_people and _financing(base.policy, jan1)
                 == _financing(changed_policy, jan1)
                 else financing_frame(changed_policy, persons, enrollments, base.year))
    return FundInputs(changed_policy, base.year, spending, financing, persons, base.targets,
                      base.opening)


def _financing(policy: Policy, on: dt.date) -> dict[str, object]:
    return {p.key: p.value for p in policy.resolve(on).all() if p.key.startswith("financing.")}


def payer_changes(base: Indicators, changed: Indicators) -> list[PayerChange]:
    """Each payer's sum by visit type, region level, before and after."""
    def table(ind: Indicators) -> dict[tuple[str, str], int]:
        return {(r.visit_type, p): int(getattr(r, p)) for r in ind.spending
                if r.region == ind.region for p in PAYERS}
    before, after = table(base), table(changed)
    return [PayerChange(v, p, before.get((v, p), 0), after.get((v, p), 0))
            for v, p in sorted(set(before) | set(after))]
