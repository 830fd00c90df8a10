"""Benchmark: the fixed cost of ``settle()`` on one claim, as online settlement calls it.

    .venv/bin/python benchmarks/settle_one.py [--calls 2000] [--profile]

Online settlement (issue 4) settles one claim with its person, the person's enrolments, the
person-year's benefit start and cap (``person_years``) and opening accumulators
(``opening``). This script picks claims of every visit type from a small synthetic 九江 city,
builds those one-row frames once, warms the Numba kernels up, then calls ``settle()`` on
them in turn and prints the p50 / p90 / p99 / max latency in milliseconds. ``--profile``
prints the slowest functions (cProfile) over the same calls.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import pstats
import time

import numpy as np
import polars as pl

from yibao.engine.kernel import ACCUMULATORS
from yibao.engine.settlement import settle
from yibao.policy import load_policy
from yibao.synth import synth_frames


def one_claim_inputs(persons: pl.DataFrame, enrollments: pl.DataFrame, claims: pl.DataFrame,
                     k: int) -> dict[str, pl.DataFrame]:
    """The frames online settlement passes for the k-th claim (opening: some spent already)."""
    claim = claims.slice(k, 1)
    pid = claim["person_id"][0]
    year = claim["settle_date"][0].year
    opening = pl.DataFrame({"person_id": [pid], "year": pl.Series([year], dtype=pl.Int32),
                            **{name: [1000 * (i + 1)] for i, name in enumerate(ACCUMULATORS)},
                            "chronic_raw.hypertension": [5000]})
    person_years = pl.DataFrame({"person_id": [pid], "year": pl.Series([year], dtype=pl.Int32),
                                 "benefit_start": [dt.date(year, 1, 1)],
                                 "major_cap": pl.Series([None], dtype=pl.Int64)})
    return {"persons": persons.filter(pl.col("person_id") == pid),
            "enrollments": enrollments.filter(pl.col("person_id") == pid),
            "claims": claim, "person_years": person_years, "opening": opening}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--region", default="360400")
    ap.add_argument("--profile", action="store_true")
    a = ap.parse_args()

    policy = load_policy(a.region)
    persons, enrollments, claims = synth_frames(a.region, 2023, 2000, seed=3)
    picks = [int(i) for t in ("inpatient", "outpatient", "chronic", "maternity")
             for i in np.flatnonzero((claims["visit_type"] == t).to_numpy())[:25]]
    inputs = [one_claim_inputs(persons, enrollments, claims, k) for k in picks]
    t = time.perf_counter()
    settle(policy, **inputs[0])  # type: ignore[arg-type]
    first = time.perf_counter() - t
    for x in inputs:             # warm-up: every visit type's path once
        settle(policy, **x)      # type: ignore[arg-type]

    def run() -> list[float]:
        times = []
        for i in range(a.calls):
            x = inputs[i % len(inputs)]
            t = time.perf_counter()
            settle(policy, **x)  # type: ignore[arg-type]
            times.append(time.perf_counter() - t)
        return times

    if a.profile:
        prof = cProfile.Profile()
        prof.enable()
        run()
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(30)
        return
    ms = np.array(run()) * 1000
    print(f"settle() on one claim, {a.calls} calls over {len(inputs)} claims of every visit "
          f"type (load {os.getloadavg()[0]:.2f}); first call {first * 1000:.0f} ms")
    print("  p50 {:.2f} ms, p90 {:.2f} ms, p99 {:.2f} ms, max {:.2f} ms, mean {:.2f} ms".format(
        *np.percentile(ms, [50, 90, 99]), ms.max(), ms.mean()))


if __name__ == "__main__":
    main()
