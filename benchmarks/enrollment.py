"""Benchmark: benefit start, incentive caps and financing for N persons with 5 years of history.

    .venv/bin/python benchmarks/enrollment.py            # 10 000 000 persons
    .venv/bin/python benchmarks/enrollment.py 1000000
    .venv/bin/python benchmarks/enrollment.py --shuffle   # records in random order

Data: ``yibao.synth.synth_history`` for 360400, 2025–2029 (incentives count from 2025), without
claims, plus one settlement-result row per person-year with claims for 2025–2028 (basic and
major sums; a person-year with no row is a zero-claim year). Cached as Parquet in
/tmp/yibao-bench/enrollment-<N>/ (generation is not timed; nothing is committed).

Timed, for the last year: ``build_history`` (enrolments + results → dense matrices),
``benefit_starts``, ``major_caps`` for every person enrolled in the year (their rows as the
history kept them), and ``finance`` (given those benefit starts for its columns, so nothing
is worked out twice). Prints each
phase's wall and CPU time, the total, the load average (the machine may be shared), the RSS
before the timed phases, the highest RSS sampled during them, and the process's RSS
high-water mark (which includes generating the data on a first run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import threading
import time
from pathlib import Path

import numpy as np
import polars as pl

from yibao.engine.enrollment import benefit_starts, build_history
from yibao.engine.financing import finance
from yibao.engine.incentives import major_caps
from yibao.policy import load_policy
from yibao.synth import synth_history

REGION, FIRST, LAST = "360400", 2025, 2029
ROOT = Path(os.environ.get("YIBAO_BENCH_DIR", "/tmp/yibao-bench"))


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Sampler(threading.Thread):
    """The highest RSS seen while running, sampled every 10 ms."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.high = rss()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.01):
            self.high = max(self.high, rss())


def gb(n: int) -> str:
    return f"{n / 2**30:.2f} GB"


def results_frame(enrollments: pl.DataFrame, seed: int) -> pl.DataFrame:
    """One result row per resident person-year with claims before the last year."""
    rng = np.random.default_rng(seed)
    res = enrollments.filter((pl.col("scheme") == "resident") & (pl.col("year") < LAST))
    m = res.height
    claimed = rng.random(m) >= 0.25  # a quarter are zero-claim years
    basic = np.rint(rng.lognormal(7.0, 1.5, m) * 100).astype(np.int64)
    major = np.where(rng.random(m) < 0.01, np.rint(rng.lognormal(10.0, 1.2, m) * 100), 0)
    return pl.DataFrame({
        "claim_id": pl.Series(np.arange(m)).cast(pl.String),
        "person_id": res["person_id"], "year": res["year"],
        "basic": basic, "major": major.astype(np.int64),
    }).filter(pl.Series(claimed))


def data(n: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    d = ROOT / f"enrollment-{n}-{seed}"
    names = ("persons", "enrollments", "results")
    if all((d / f"{k}.parquet").exists() for k in names):
        return tuple(pl.read_parquet(d / f"{k}.parquet") for k in names)  # type: ignore[return-value]
    t = time.perf_counter()
    persons, enrollments, _ = synth_history(REGION, FIRST, LAST, n, seed=seed, claims=False)
    results = results_frame(enrollments, seed)
    print(f"generated in {time.perf_counter() - t:.1f} s; cached in {d}", file=sys.stderr)
    d.mkdir(parents=True, exist_ok=True)
    for k, frame in zip(names, (persons, enrollments, results), strict=True):
        frame.write_parquet(d / f"{k}.parquet")
    return persons, enrollments, results


def shuffled(n: int, seed: int, enrollments: pl.DataFrame,
             results: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The records in random order (always the same), cached beside the data."""
    d = ROOT / f"enrollment-{n}-{seed}"
    paths = d / "enrollments-shuffled.parquet", d / "results-shuffled.parquet"
    if not all(p.exists() for p in paths):
        enrollments.sample(fraction=1.0, shuffle=True, seed=1).write_parquet(paths[0])
        results.sample(fraction=1.0, shuffle=True, seed=2).write_parquet(paths[1])
    return pl.read_parquet(paths[0]), pl.read_parquet(paths[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", nargs="?", type=int, default=10_000_000, help="persons")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shuffle", action="store_true",
                    help="put enrolments and results in random order first (not timed; cached "
                         "beside the data): the person lookup's worst case")
    args = ap.parse_args()

    persons, enrollments, results = data(args.n, args.seed)
    if args.shuffle:
        enrollments, results = shuffled(args.n, args.seed, enrollments, results)
    policy = load_policy(REGION)
    policy.resolve(dt.date(LAST, 1, 1))  # parse the files outside the timing
    print(f"{persons.height:,} persons, {enrollments.height:,} enrolments "
          f"({FIRST}–{LAST}), {results.height:,} result rows; policy {REGION}, year {LAST}")
    before = rss()
    sampler = Sampler()
    sampler.start()
    times: dict[str, tuple[float, float]] = {}

    def timed(name: str, t: float, cpu: float) -> None:
        times[name] = (time.perf_counter() - t, time.process_time() - cpu)

    t, cpu = time.perf_counter(), time.process_time()
    history = build_history(persons, enrollments, results)
    timed("build_history", t, cpu)

    t, cpu = time.perf_counter(), time.process_time()
    starts = benefit_starts(policy, persons, enrollments, history, [LAST])
    timed("benefit_starts", t, cpu)

    t, cpu = time.perf_counter(), time.process_time()
    rows = history.enrolment_rows(persons, enrollments, [LAST])
    caps = major_caps(policy, history, rows, LAST)
    timed("major_caps", t, cpu)

    t, cpu = time.perf_counter(), time.process_time()
    financed = finance(policy, persons, enrollments, LAST, history, starts=starts)
    timed("finance", t, cpu)

    sampler.stop.set()
    sampler.join()
    print(f"{'phase':16s} {'wall':>8s} {'cpu':>8s}")
    for name, (wall, cpu_s) in times.items():
        print(f"{name:16s} {wall:7.2f}s {cpu_s:7.2f}s")
    total = sum(w for w, _ in times.values())
    cpu_total = sum(c for _, c in times.values())
    print(f"{'total':16s} {total:7.2f}s {cpu_total:7.2f}s   (target ≤ 10 s wall; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"RSS before the timed phases {gb(before)}; highest during them {gb(sampler.high)}; "
          f"process high-water mark {gb(peak_rss())}")
    reasons = starts["waiting_reason"].value_counts().sort("waiting_reason")
    print("waiting reasons:", dict(reasons.iter_rows()))
    raised = int((caps.cap > caps.base_cap).sum())
    print(f"caps above the base: {raised:,} of {caps.cap.size:,}; "
          f"financed rows {financed.height:,}, owed {financed['owed'].sum() / 100:,.2f} yuan")


if __name__ == "__main__":
    main()
