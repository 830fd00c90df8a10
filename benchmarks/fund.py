"""Benchmark: fund indicators for a city-year of N claims (default 20 M, 2 M persons in 13
counties), and a policy what-if against one settlement run.

    .venv/bin/python benchmarks/fund.py [N_CLAIMS] [--whatif-persons P]

Part 1 makes the claims, their results and the financing rows directly with NumPy (cheap:
no settlement), then times ``spending_frame`` (claims joined to results and to the person's
county), ``indicators`` (cube, monthly accounts, ratios, coverage, high-cost list) and
``alerts``. Part 2 times ``settle_claims`` on a synthetic year and ``what_if`` (which settles
once more, redoes financing and indicators, and projects both ways) on the same claims.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from yibao.engine.person_years import settle_claims
from yibao.fund import alerts, from_frames, indicators, load_change, what_if
from yibao.fund.highcost import high_cost_list
from yibao.fund.inputs import FundInputs, registry_targets, spending_frame
from yibao.fund.projection import base_of, project_pair
from yibao.fund.whatif import changed_inputs_of
from yibao.policy import load_policy

COUNTIES = ["3604" + c for c in ("02", "03", "04", "23", "24", "25", "26", "28", "29", "30",
                                 "81", "82", "83")]
VISITS = ["inpatient", "outpatient", "chronic", "maternity"]


def timed(label: str, fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = fn()
    seconds = time.perf_counter() - start
    print(f"{label:<44} {seconds:8.2f} s", flush=True)
    return value, seconds


def ids(prefix: str, n: int) -> pl.Series:
    return pl.select(pl.concat_str([pl.lit(prefix), pl.int_range(n, dtype=pl.Int64)
                                    .cast(pl.String).str.zfill(9)])).to_series()


def city_year(n: int, persons: int, seed: int = 0) -> tuple[pl.DataFrame, ...]:
    """(persons, claims, results, financing) with the dtypes the readers and engine give."""
    rng = np.random.default_rng(seed)
    pid = ids("P", persons)
    county = np.array(COUNTIES)[rng.integers(0, len(COUNTIES), persons)]
    cats = np.where(rng.random(persons) < 0.05, "dibao", "")
    people = pl.DataFrame({
        "person_id": pid, "id_number": pl.Series([None] * persons, dtype=pl.String),
        "sex": np.where(rng.random(persons) < 0.5, "F", "M"),
        "birth_date": pl.Series(np.full(persons, 3650), dtype=pl.Int32).cast(pl.Date),
        "death_date": pl.Series([None] * persons, dtype=pl.Date), "region": county,
        "categories": pl.Series(cats).str.split(";").list.eval(
            pl.element().filter(pl.element() != "")),
    })
    who = rng.integers(0, persons, n)
    visit = rng.choice(4, n, p=[0.03, 0.62, 0.34, 0.01])
    total = np.where(visit == 0, rng.lognormal(9.2, 0.8, n), rng.lognormal(4.6, 0.7, n))
    total = (total * 100).astype(np.int64)
    scope = total * 9 // 10
    basic = scope * 6 // 10
    day = rng.integers(0, 365, n) + (dt.date(2023, 1, 1) - dt.date(1970, 1, 1)).days
    claims = pl.DataFrame({
        "claim_id": ids("C", n), "person_id": pid.gather(who),
        "facility_level": rng.integers(1, 4, n).astype(np.int8),
        "visit_type": pl.Series(np.array(VISITS)[visit]),
        "settle_date": pl.Series(day.astype(np.int32)).cast(pl.Date), "total": total,
        "diagnosis": pl.Series(np.array(["K35.8", "J06.9", "I10", "O80.0"])[visit]),
    })
    covered = rng.random(n) < 0.97
    results = pl.DataFrame({
        "claim_id": claims["claim_id"], "person_id": claims["person_id"],
        "year": pl.Series(np.full(n, 2023, np.int32)), "covered": covered,
        "policy_scope": scope, "deductible": np.zeros(n, np.int64),
        "basic": np.where(covered, basic, 0), "major": np.zeros(n, np.int64),
        "assistance": np.zeros(n, np.int64), "oop": total - np.where(covered, basic, 0),
    })
    enrolled = rng.random(persons) < 0.97
    financing = pl.DataFrame({
        "person_id": pid.filter(enrolled), "year": 2023, "region": county[enrolled],
        "paid": np.full(enrolled.sum(), 38000, np.int64),
        "assisted": np.zeros(enrolled.sum(), np.int64),
        "subsidy_central": 38400, "subsidy_provincial": 12800, "subsidy_local": 12800,
        "paid_date": pl.Series(np.full(enrolled.sum(), 19300, np.int32)).cast(pl.Date),
    })
    return people, claims, results, financing


def part1(n: int) -> None:
    policy = load_policy("360400")
    persons = max(1, n // 10)
    (people, claims, results, financing), _ = timed(
        f"make {n:,} claims, {persons:,} persons", lambda: city_year(n, persons))
    spending, t_join = timed("spending_frame (claims + results + county)",
                             lambda: spending_frame(claims, results, people))
    targets = registry_targets(policy, people, 2023)
    inputs = FundInputs(policy, 2023, spending, financing, people, targets,
                        {"360400": 10**11})
    ind, t_ind = timed("indicators", lambda: indicators(inputs))
    found, t_alerts = timed("alerts", lambda: alerts(policy, ind))
    print(f"{'TOTAL (join + indicators + alerts)':<44} {t_join + t_ind + t_alerts:8.2f} s  "
          f"[{len(found)} alerts, {len(ind.high_cost)} high-cost, {len(ind.monthly)} months]")


def part2(persons: int) -> None:
    from yibao.synth import synth_frames

    policy = load_policy("360400")
    frames, _ = timed(f"synth {persons:,} persons", lambda: synth_frames(
        "360400", 2023, persons, seed=2))
    print(f"  {frames[2].height:,} claims")
    timed("settle_claims (warm-up: Numba cache, policy)", lambda: settle_claims(policy, *frames))
    run, t_settle = timed("settle_claims (one settlement run)",
                          lambda: settle_claims(policy, *frames))
    inputs, _ = timed("from_frames (join + financing)",
                         lambda: from_frames(policy, 2023, *frames, run.results))
    ind, _ = timed("indicators (base)", lambda: indicators(inputs))
    path = os.path.join(os.path.dirname(__file__), "policies", "360400-whatif-cap.yaml")
    change = load_change(policy, path)
    _, t_whatif = timed("what_if (settle + indicators + 2 projections)",
                        lambda: what_if(inputs, ind, change, *frames, replicates=200))
    print(f"what-if ÷ settlement run: {t_whatif / t_settle:.2f}")
    # the same what-if in its parts
    run2, t_resettle = timed("  re-settlement under the change", lambda: settle_claims(
        change, *frames))
    changed, _ = timed("  changed inputs (results swapped in)", lambda: changed_inputs_of(
        inputs, change, *frames, run2.results))
    ind2, _ = timed("  indicators (changed, coverage reused)",
                    lambda: indicators(changed, coverage=ind.coverage))
    timed("    of which the high-cost list", lambda: high_cost_list(
        change, 2023, changed.spending, changed.persons, limit=200))
    bases, _ = timed("  base_of × 2", lambda: (base_of(ind, inputs), base_of(ind2, changed)))
    timed("  project_pair (200 replicates, one draw)", lambda: project_pair(*bases))
    _, t_zero = timed("what_if, replicates=0", lambda: what_if(inputs, ind, change, *frames,
                                                              replicates=0))
    print(f"what-if (no bootstrap) ÷ settlement run: {t_zero / t_settle:.2f}; re-settlement ÷ "
          f"settlement run: {t_resettle / t_settle:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("claims", nargs="?", type=int, default=20_000_000)
    parser.add_argument("--whatif-persons", type=int, default=200_000)
    parser.add_argument("--skip-whatif", action="store_true")
    args = parser.parse_args()
    print(f"load: {os.getloadavg()}")
    part1(args.claims)
    if not args.skip_whatif:
        part2(args.whatif_persons)


if __name__ == "__main__":
    main()
