"""Benchmark: fund indicators for a city-year of N claims (default 20 M, 2 M persons in 13
counties), and a policy what-if against one settlement run.

    .venv/bin/python benchmarks/fund.py [N_CLAIMS] [--whatif-persons P] [--runs R]
        [--skip-indicators] [--skip-whatif]

Part 1 makes the claims, their results and the financing rows directly with NumPy (cheap:
no settlement), then times ``spending_frame`` (claims joined to results and to the person's
county), ``indicators`` (cube, monthly accounts, ratios, coverage, high-cost list) and
``alerts``. Part 2 times, on one synthetic year of P persons held in memory, one
``settle_claims`` run against ``what_if_on`` a prepared baseline for three changes (see
``part2``), each R times (medians; wall and CPU seconds).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from yibao.engine.person_years import settle_claims
from yibao.fund import alerts, from_frames, indicators, load_change, what_if
from yibao.fund.inputs import FundInputs, registry_targets, spending_frame
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


def measured(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """(value, wall seconds, CPU seconds of this process: user + system, all threads)."""
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    value = fn()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    return value, wall, after.ru_utime - cpu.ru_utime + after.ru_stime - cpu.ru_stime


def runs_of(label: str, runs: int, fn: Callable[[], Any]) -> tuple[float, float]:
    """``fn`` run ``runs`` times; prints each run and returns the medians (wall, CPU)."""
    walls, cpus = [], []
    for _ in range(runs):
        _, wall, cpu = measured(fn)
        walls.append(wall)
        cpus.append(cpu)
    w, c = statistics.median(walls), statistics.median(cpus)
    print(f"{label:<44} median {w:6.2f} s wall, {c:6.2f} s CPU   runs: "
          + ", ".join(f"{x:.2f}" for x in walls), flush=True)
    return w, c


CHANGES = ("cap", "deductible", "waiting")


def part2(persons: int, runs: int) -> None:
    """A what-if on a prepared baseline against one settlement run, on the same in-memory
    frames: ``settle_claims`` (Numba caches warm, the policy's term tables built); ``prepare``
    and the base projection (once per year: the report pays them anyway); then
    ``what_if_on(baseline, change)`` for a cap raise and a lower level-3 deductible (the
    base's person-year terms serve: reused) and for the waiting periods (the terms are worked
    out anew). Each what-if run loads its change file afresh and starts with no earlier
    change's terms kept."""
    from yibao.fund.baseline import prepare
    from yibao.fund.whatif import what_if_on
    from yibao.synth import synth_frames

    policy = load_policy("360400")
    frames, _ = timed(f"synth {persons:,} persons", lambda: synth_frames(
        "360400", 2023, persons, seed=2))
    print(f"  {frames[2].height:,} claims; load {os.getloadavg()}")
    base, _ = timed("settle_claims (warm-up: Numba cache, policy)",
                    lambda: settle_claims(policy, *frames))
    t_settle, c_settle = runs_of("settle_claims (one settlement run)", runs,
                                 lambda: settle_claims(policy, *frames))
    inputs = from_frames(policy, 2023, *frames, base.results, opening={"360400": 10**11})
    ind, _ = timed("indicators (base; not part of the what-if)", lambda: indicators(inputs))
    baseline, _ = timed("prepare (once per year)", lambda: prepare(inputs, ind, *frames))
    timed("base projection, 200 replicates (once)",
          lambda: baseline.projection(None, 200, 0))
    paths = {name: os.path.join(os.path.dirname(__file__), "policies",
                                f"360400-whatif-{name}.yaml") for name in CHANGES}
    what_if_on(baseline, load_change(policy, paths["cap"]), replicates=200)  # warm-up
    print(f"load {os.getloadavg()}")
    for name in CHANGES:
        def one(path: str = paths[name]) -> None:
            baseline.forget_changes()
            what_if_on(baseline, load_change(policy, path), replicates=200)
        reused = baseline.terms_reads.same_under(load_change(policy, paths[name]))
        t, c = runs_of(f"what_if_on: {name} (terms {'reused' if reused else 'anew'})", runs,
                       one)
        print(f"  ÷ settlement run: {t / t_settle:.2f} wall, {c / c_settle:.2f} CPU")
    change = load_change(policy, paths["cap"])
    timed("what_if (cold: prepare + what_if_on), cap", lambda: what_if(
        inputs, ind, change, *frames, replicates=200))
    print(f"load {os.getloadavg()}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("claims", nargs="?", type=int, default=20_000_000)
    parser.add_argument("--whatif-persons", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-whatif", action="store_true")
    parser.add_argument("--skip-indicators", action="store_true")
    args = parser.parse_args()
    print(f"load: {os.getloadavg()}")
    if not args.skip_indicators:
        part1(args.claims)
    if not args.skip_whatif:
        part2(args.whatif_persons, args.runs)


if __name__ == "__main__":
    main()
