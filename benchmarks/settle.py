"""Benchmark: settle N synthetic claims from Parquet, end to end, three ways.

    .venv/bin/python benchmarks/settle.py 20000000
    .venv/bin/python benchmarks/settle.py --scale 1000000 5000000 10000000 20000000

For N claims (all visit types, all payers; ``yibao.synth`` data under policy 360400, year
2023, N/10 persons, cached in /tmp/yibao-bench/<N>/) it runs, each in its own process so
that peak memory (the RSS high-water mark, ``getrusage``) belongs to one form:

1. yibao: ``yibao.io`` readers (read + validate) → ``engine.settlement.settle`` →
   ``io.write_frame`` to Parquet; phase times, claims/s, peak RSS against the input's
   in-memory size (``estimated_size`` of claims + persons + enrollments);
2. DuckDB: the same rules as one SQL statement of window stages (``settle_sql.py``),
   Parquet in → ``COPY … TO`` Parquet out;
3. the obvious per-row Python loop (``settle_loop.py``) on the claims of a sample of
   persons (complete person-years, so its results are comparable), extrapolated per claim;

then checks DuckDB and the loop against yibao to the fen on every claim they settled, and
prints a table. ``--scale`` prints yibao's phase times (and DuckDB's, within a time limit)
at each size. Figures land in /tmp/yibao-bench/results-*.json as well.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = Path(os.environ.get("YIBAO_BENCH_DIR", "/tmp/yibao-bench"))
RESULT_COLUMNS = ["claim_id", "person_id", "year", "covered", "reason", "policy_scope",
                  "deductible", "basic", "major", "assistance", "oop", "major_cap"]
MONEY = ["policy_scope", "deductible", "basic", "major", "assistance", "oop", "major_cap"]
CLAIM_MONEY = ["total", "self_pay", "class_b_self_pay"]


def peak_rss() -> int:
    """This process's RSS high-water mark in bytes (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def cpu_seconds() -> float:
    """User + system CPU time of this process (all its threads)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def current_rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Phases:
    """Wall time per phase, and the RSS high-water mark at the end of each."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.peak_after: dict[str, int] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        t = time.perf_counter()
        yield
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t
        self.peak_after[name] = peak_rss()


def data_dir(n: int, region: str) -> Path:
    return ROOT / (str(n) if region == "360400" else f"{region}-{n}")


def out_dir(d: Path, policy: str) -> Path:
    """Results go to out/ for a shipped region's policy, out-<file stem>/ for a YAML file."""
    out = d / ("out" if policy.isdigit() else f"out-{Path(policy).stem}")
    out.mkdir(exist_ok=True)
    return out


# ---------------------------------------------------------------- workers (one process each)

def worker_generate(d: Path, n: int, region: str, year: int, persons: int,
                    seed: int) -> dict[str, Any]:
    import numpy as np
    import polars as pl

    from yibao.io import write_frame
    from yibao.synth import synth_frames

    t = time.perf_counter()
    per_person = 1.03 * n / persons
    p, e, c = synth_frames(region, year, persons, seed=seed, claims_per_person=per_person)
    if c.height < n:
        raise SystemExit(f"synth gave {c.height} claims, fewer than {n}; raise claims_per_person")
    # exactly n claims: drop a uniform random few, keeping the rows' order
    keep = np.sort(np.random.default_rng(seed).choice(c.height, size=n, replace=False))
    c = c[pl.Series(keep)]
    d.mkdir(parents=True, exist_ok=True)
    write_frame(p, d / "persons.parquet", [])
    write_frame(e, d / "enrollments.parquet", ["contribution_paid"])
    write_frame(c, d / "claims.parquet", CLAIM_MONEY)
    meta = {"claims": c.height, "persons": p.height, "enrollments": e.height, "region": region,
            "year": year, "seed": seed, "claims_per_person_asked": per_person,
            "visit_types": dict(c["visit_type"].value_counts().iter_rows()),
            "seconds": time.perf_counter() - t}
    (d / "meta.json").write_text(json.dumps(meta, indent=1))
    return meta


def _warm_up(region: str, policy: str) -> None:
    """Load the Numba kernels from their cache (or compile them) outside the timings."""
    from yibao.engine.settlement import settle
    from yibao.policy import load_policy
    from yibao.synth import synth_frames

    p, e, c = synth_frames(region, 2023, 200, seed=1)
    settle(load_policy(policy), p, e, c)


def _instrument(ph: Phases) -> Callable[[], None]:
    """Time the big steps inside settle() by wrapping the functions it looks up at call time."""
    from yibao.engine import kernel, order, settlement

    wrapped: list[tuple[Any, str, Any]] = []

    def wrap(module: Any, name: str, label: str) -> None:
        original = getattr(module, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            with ph(label):
                return original(*args, **kwargs)

        setattr(module, name, timed)
        wrapped.append((module, name, original))

    wrap(order.PersonRows, "__call__", "settle: person lookups (hash)")
    wrap(settlement, "sorted_claims", "settle: settlement order (sort)")
    wrap(kernel, "person_year_groups", "settle: person-years")
    wrap(settlement, "_enrolled", "settle: enrolment lookup")
    wrap(settlement, "list_mask", "settle: category/chronic masks")
    wrap(settlement, "text_codes", "settle: text codes")
    wrap(kernel, "settle_batch", "settle: kernel (Numba pass)")
    wrap(settlement, "code_text", "settle: reason text")

    def undo() -> None:
        for module, name, original in wrapped:
            setattr(module, name, original)

    return undo


def worker_yibao(d: Path, region: str, policy_spec: str, profile: bool) -> dict[str, Any]:
    t0 = time.perf_counter()
    from yibao.engine.settlement import CLAIM_COLUMNS, MONEY_COLUMNS, settle
    from yibao.io import check_references, read_claims, read_inputs, write_frame
    from yibao.policy import load_policy

    _warm_up(region, policy_spec)
    warm = time.perf_counter() - t0
    base_rss = current_rss()
    ph = Phases()
    undo = _instrument(ph) if profile else (lambda: None)
    cpu0 = cpu_seconds()
    t = time.perf_counter()
    with ph("policy"):
        policy = load_policy(policy_spec)
    with ph("read: persons, enrollments, claims"):
        # persons and enrolments on a second thread while the claims decode, as the CLI does
        # every column checked, those no settlement rule reads let go at once and the
        # low-cardinality text ones held as codes, as the CLI does
        persons, enrollments, claims = read_inputs(
            d / "persons.parquet", d / "enrollments.parquet", d / "claims.parquet",
            CLAIM_COLUMNS, claim_codes=True)
    with ph("read: check_references"):
        check_references(persons, enrollments, claims)
    with ph("settle"):
        result = settle(policy, persons, enrollments, claims)
    out = out_dir(d, policy_spec)
    with ph("write"):
        write_frame(result.results, out / "yibao.parquet", MONEY_COLUMNS)
    total = time.perf_counter() - t
    cpu = cpu_seconds() - cpu0
    undo()
    peak = peak_rss()
    # `yibao settle` (the CLI) goes through settle_claims, which first works out each
    # person-year's benefit start (waiting periods, SPEC §6.2) and incentive cap (§5.4); the
    # SQL and loop forms implement settle()'s defaults (1 January, base cap), so that step is
    # timed here, apart, after the peak above was taken.
    extra = None
    try:
        from yibao.engine.person_years import settle_claims
    except ImportError:
        pass
    else:
        t = time.perf_counter()
        settle_claims(policy, persons, enrollments, claims)
        extra = time.perf_counter() - t
    # the input's in-memory size is that of the whole files as read (taken after the peak)
    size = {"claims": read_claims(d / "claims.parquet").estimated_size(),
            "persons": persons.estimated_size(), "enrollments": enrollments.estimated_size()}
    return {"form": "yibao", "claims": claims.height, "seconds": total, "cpu_seconds": cpu,
            "load_after": os.getloadavg(), "phases": ph.seconds,
            "peak_after": ph.peak_after, "peak_rss": peak, "base_rss": base_rss,
            "settle_claims_seconds": extra,
            "input_bytes": size, "warm_up_seconds": warm,
            "results_bytes": result.results.estimated_size()}


def worker_duckdb(d: Path, policy: str, year: int, threads: int | None) -> dict[str, Any]:
    import duckdb

    from settle_rules import rules_for
    from settle_sql import settlement_sql
    from yibao.policy import load_policy

    rules = rules_for(load_policy(policy), year)
    sql = settlement_sql(rules, str(d / "persons.parquet"), str(d / "enrollments.parquet"),
                         str(d / "claims.parquet"))
    money = ", ".join(f"(CAST({c} AS DECIMAL(18, 2)) * 0.01)::DECIMAL(18, 2) AS {c}"
                      for c in MONEY)
    others = ", ".join(c for c in RESULT_COLUMNS if c not in MONEY)
    out = out_dir(d, policy)
    target = out / "duckdb.parquet"
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {threads}")
    t = time.perf_counter()
    con.execute(f"COPY (SELECT {others}, {money} FROM ({sql})) TO '{target}' (FORMAT parquet)")
    seconds = time.perf_counter() - t
    n = con.execute(f"SELECT count(*) FROM read_parquet('{target}')").fetchone()
    (out / "duckdb.sql").write_text(sql)
    return {"form": "duckdb", "claims": int(n[0]) if n else 0, "seconds": seconds,
            "peak_rss": peak_rss(), "threads": con.execute("SELECT current_setting('threads')")
            .fetchone()[0]}   # type: ignore[index]


def _fen(df: Any, columns: list[str]) -> Any:
    import polars as pl
    return df.with_columns((pl.col(c) * 100).cast(pl.Int64) for c in columns if c in df.columns)


def worker_loop(d: Path, policy: str, year: int, sample: int) -> dict[str, Any]:
    import polars as pl

    from settle_loop import settle_rows
    from settle_rules import rules_for
    from yibao.policy import load_policy

    rules = rules_for(load_policy(policy), year)
    meta = json.loads((d / "meta.json").read_text())
    k = max(1, round(meta["persons"] * sample / meta["claims"]))
    t = time.perf_counter()
    persons = pl.read_parquet(d / "persons.parquet").head(k)
    wanted = persons["person_id"].implode()
    claims = _fen(pl.read_parquet(d / "claims.parquet").filter(pl.col("person_id").is_in(wanted)),
                  CLAIM_MONEY)
    enrollments = pl.read_parquet(d / "enrollments.parquet").filter(
        pl.col("person_id").is_in(wanted))
    read = time.perf_counter() - t

    t = time.perf_counter()
    people = {pid: (death, frozenset(cats or ()), frozenset(chronic or ()))
              for pid, death, cats, chronic in persons.select(
                  "person_id", "death_date", "categories", "chronic").iter_rows()}
    enrolled = {(pid, y) for pid, y, scheme, reg in enrollments.select(
        "person_id", "year", "scheme", "region").iter_rows()
        if scheme == "resident" and reg.startswith(rules.region_prefix)}
    rows = list(claims.select(
        "claim_id", "person_id", "visit_type", "facility_level", "out_of_region",
        "chronic_disease", "maternity_kind", "admit_date", "settle_date", "total", "self_pay",
        "class_b_self_pay").iter_rows())
    to_rows = time.perf_counter() - t
    t = time.perf_counter()
    results = settle_rows(rules, people, enrolled, rows)
    loop = time.perf_counter() - t
    out = out_dir(d, policy)
    pl.DataFrame(results, schema=[
        ("claim_id", pl.String), ("person_id", pl.String), ("year", pl.Int32),
        ("covered", pl.Boolean), ("reason", pl.String), *((c, pl.Int64) for c in MONEY)],
        orient="row").write_parquet(out / "loop.parquet")
    return {"form": "python loop", "claims": len(rows), "persons": k,
            "seconds": to_rows + loop, "seconds_rows": to_rows, "seconds_loop": loop,
            "seconds_read": read, "peak_rss": peak_rss()}


def worker_compare(d: Path, policy: str, other: str) -> dict[str, Any]:
    """Compare <out>/<other>.parquet with <out>/yibao.parquet on the other's claims, to the fen."""
    import polars as pl

    out = out_dir(d, policy)
    yb = pl.read_parquet(out / "yibao.parquet")
    yb = _fen(yb, MONEY)
    theirs = pl.read_parquet(out / f"{other}.parquet")
    if theirs.schema["basic"] != pl.Int64:
        theirs = _fen(theirs, MONEY)
    theirs = theirs.with_columns(pl.col("year").cast(pl.Int32))
    # SPEC §2 invariant on yibao's own results
    claims = _fen(pl.read_parquet(d / "claims.parquet", columns=["claim_id", "total"]), ["total"])
    balance = yb.join(claims, on="claim_id").filter(
        pl.col("total") != pl.col("basic") + pl.col("major") + pl.col("assistance") + pl.col("oop"))
    joined = theirs.join(yb, on="claim_id", how="left", suffix="_yibao")
    missing = joined.filter(pl.col("person_id_yibao").is_null()).height
    per_column = {}
    bad = pl.lit(False)
    for c in RESULT_COLUMNS[1:]:
        differs = ~pl.col(c).eq_missing(pl.col(f"{c}_yibao"))
        per_column[c] = int(joined.select(differs.sum()).item())
        bad = bad | differs
    mismatched = joined.filter(bad)
    examples = [{k: (str(v) if isinstance(v, dt.date) else v) for k, v in row.items()}
                for row in mismatched.head(5).iter_rows(named=True)]
    return {"other": other, "compared": theirs.height, "yibao_rows": yb.height,
            "not_in_yibao": missing, "mismatched_claims": mismatched.height,
            "per_column": per_column, "examples": examples,
            "yibao_unbalanced": balance.height}


# ---------------------------------------------------------------- driver

def run_worker(args: list[str], timeout: float | None = None) -> dict[str, Any] | None:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", *args]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        print(f"  ! {args[0]} gave up after {timeout:.0f} s", flush=True)
        return None
    if done.returncode != 0:
        print(f"  ! {args[0]} failed:\n{done.stderr[-3000:]}", flush=True)
        return None
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def ensure_data(n: int, a: argparse.Namespace) -> Path:
    d = data_dir(n, a.region)
    if (d / "meta.json").exists():
        return d
    persons = a.persons or max(1, n // a.claims_per_person)
    print(f"generating {n:,} claims for {persons:,} persons into {d} …", flush=True)
    meta = run_worker(["generate", str(d), str(n), a.region, str(a.year), str(persons),
                       str(a.seed)])
    if meta is None:
        raise SystemExit("generation failed")
    print(f"  done in {meta['seconds']:.1f} s: {meta['visit_types']}", flush=True)
    return d


def _best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median total time (runs are separate processes)."""
    ordered = sorted(runs, key=lambda r: r["seconds"])
    best = dict(ordered[(len(ordered) - 1) // 2])
    best["all_seconds"] = [r["seconds"] for r in runs]
    best["runs"] = [{"seconds": r["seconds"], "cpu_seconds": r.get("cpu_seconds"),
                     "phases": r.get("phases"), "peak_rss": r.get("peak_rss")} for r in runs]
    return best


def run_yibao(d: Path, a: argparse.Namespace) -> dict[str, Any] | None:
    runs = []
    for _ in range(a.runs):
        git = _git_state()   # others commit while this runs: note the code each run saw
        r = run_worker(["yibao", str(d), a.region, a.policy, "1" if a.profile else "0"])
        if r is None:
            return None
        r["git"] = git
        runs.append(r)
    return _best(runs)


def run_duckdb(d: Path, a: argparse.Namespace) -> dict[str, Any] | None:
    runs = []
    for _ in range(a.duckdb_runs):
        r = run_worker(["duckdb", str(d), a.policy, str(a.year), str(a.threads or 0)],
                       timeout=a.duckdb_timeout)
        if r is None:
            return None
        runs.append(r)
    return _best(runs)


def mib(b: float) -> str:
    return f"{b / 2**20:,.0f} MiB"


def print_yibao(y: dict[str, Any]) -> None:
    n = y["claims"]
    size = sum(y["input_bytes"].values())
    print(f"\nyibao, {n:,} claims (median of {len(y['all_seconds'])} runs: "
          f"{', '.join(f'{s:.2f}' for s in y['all_seconds'])} s)")
    print(f"  {'phase':40s} {'seconds':>8s} {'share':>6s} {'peak RSS after':>15s}")
    for name, s in y["phases"].items():
        indent = "    " if name.startswith("settle: ") else "  "
        print(f"{indent}{name:{42 - len(indent)}s} {s:8.2f} {s / y['seconds']:6.0%} "
              f"{mib(y['peak_after'][name]):>15s}")
    print(f"  {'total':40s} {y['seconds']:8.2f}   → {n / y['seconds'] / 1e6:.2f} M claims/s")
    if y.get("cpu_seconds") is not None:
        print(f"  CPU {y['cpu_seconds']:.2f} s (user + system, all threads); load average at "
              f"the end {y['load_after'][0]:.2f}")
    if y.get("settle_claims_seconds"):
        print(f"  (settle_claims, the CLI's path with benefit starts and incentive caps, "
              f"took {y['settle_claims_seconds']:.2f} s against settle()'s "
              f"{y['phases']['settle']:.2f} s; not in the total)")
    parts = ", ".join(f"{k} {mib(v)}" for k, v in y["input_bytes"].items())
    print(f"  input in memory: {mib(size)} ({parts})")
    print(f"  peak RSS {mib(y['peak_rss'])} = {y['peak_rss'] / size:.2f}× input; "
          f"RSS before reading (interpreter, libraries, JIT) {mib(y['base_rss'])}; "
          f"(peak − that) = {(y['peak_rss'] - y['base_rss']) / size:.2f}× input")


def print_compare(c: dict[str, Any] | None, label: str) -> None:
    if c is None:
        return
    print(f"  {label} vs yibao: {c['compared']:,} claims compared, "
          f"{c['mismatched_claims']:,} mismatched, {c['not_in_yibao']} not in yibao's results; "
          f"yibao rows with total ≠ basic+major+assistance+oop: {c['yibao_unbalanced']}")
    if c["mismatched_claims"]:
        print(f"    per column: { {k: v for k, v in c['per_column'].items() if v} }")
        for ex in c["examples"][:3]:
            print(f"    e.g. {ex}")


def main_single(a: argparse.Namespace) -> dict[str, Any]:
    n = a.n
    d = ensure_data(n, a)
    report: dict[str, Any] = {"n": n, "meta": json.loads((d / "meta.json").read_text())}
    git = _git_state()
    print(f"load average {os.getloadavg()}; git {git['head']} ({git['subject']})", flush=True)
    if git["src_changes"]:
        print(f"uncommitted changes under src/:\n{git['src_changes']}", flush=True)
    y = run_yibao(d, a)
    if y is None:
        raise SystemExit("yibao run failed")
    report["yibao"] = y
    print_yibao(y)
    rows = [("yibao (Parquet → Parquet)", n, y["seconds"])]
    if not a.no_duckdb:
        print("\nDuckDB …", flush=True)
        dk = run_duckdb(d, a)
        report["duckdb"] = dk
        if dk is not None:
            rows.append((f"DuckDB SQL windows ({dk['threads']} threads)", dk["claims"],
                         dk["seconds"]))
            report["duckdb_check"] = run_worker(["compare", str(d), a.policy, "duckdb"])
            print_compare(report["duckdb_check"], "DuckDB")
    if a.loop_sample:
        print("\nPython loop …", flush=True)
        lp = run_worker(["loop", str(d), a.policy, str(a.year), str(a.loop_sample)])
        report["loop"] = lp
        if lp is not None:
            per = lp["seconds"] / lp["claims"]
            rows.append((f"Python loop ({lp['claims']:,} sample, ×{n / lp['claims']:.0f})", n,
                         per * n))
            report["loop_check"] = run_worker(["compare", str(d), a.policy, "loop"])
            print_compare(report["loop_check"], "Python loop")
            print(f"  loop: rows→tuples {lp['seconds_rows']:.2f} s + sort and loop "
                  f"{lp['seconds_loop']:.2f} s for {lp['claims']:,} claims "
                  f"({lp['claims'] / lp['seconds'] / 1e3:.0f} k claims/s)")
    print(f"\n{'form':46s} {'claims':>12s} {'seconds':>9s} {'claims/s':>12s} {'vs yibao':>9s}")
    for form, claims, seconds in rows:
        print(f"{form:46s} {claims:12,} {seconds:9.2f} {claims / seconds:12,.0f} "
              f"{seconds / y['seconds']:8.1f}×")
    size = sum(y["input_bytes"].values())
    print("\ntargets (issue): ≤ 8 s for 20 M claims (≥ 2.5 M claims/s); ≥ 2× DuckDB; "
          "peak memory ≤ 3× input in memory")
    rate = n / y["seconds"]
    print(f"  rate {rate / 1e6:.2f} M claims/s: {'met' if rate >= 2.5e6 else 'NOT met'}")
    if report.get("duckdb"):
        ratio = report["duckdb"]["seconds"] / y["seconds"]
        print(f"  DuckDB / yibao = {ratio:.2f}×: {'met' if ratio >= 2 else 'NOT met'}")
    print(f"  peak / input = {y['peak_rss'] / size:.2f}×: "
          f"{'met' if y['peak_rss'] <= 3 * size else 'NOT met'}")
    return report


def main_scale(a: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {"scale": {}}
    lines = []
    for n in a.scale:
        d = ensure_data(n, a)
        print(f"\n== {n:,} claims (load {os.getloadavg()[0]:.2f})", flush=True)
        y = run_yibao(d, a)
        if y is None:
            continue
        print_yibao(y)
        entry: dict[str, Any] = {"yibao": y}
        if not a.no_duckdb:
            dk = run_duckdb(d, a)
            entry["duckdb"] = dk
            if dk is not None:
                print(f"  DuckDB: {dk['seconds']:.2f} s, peak RSS {mib(dk['peak_rss'])}",
                      flush=True)
                if not a.no_check:
                    entry["duckdb_check"] = run_worker(["compare", str(d), a.policy, "duckdb"])
                    print_compare(entry["duckdb_check"], "DuckDB")
        report["scale"][n] = entry
        lines.append((n, y, entry.get("duckdb")))
    phases = [p for p in lines[0][1]["phases"] if not p.startswith("settle: ")] if lines else []
    short = {"read: persons, enrollments, claims": "read", "read: check_references": "refs"}
    print("\n" + f"{'claims':>11s} " + " ".join(f"{short.get(p, p):>9s}" for p in phases)
          + f" {'total':>8s} {'M cl/s':>7s} {'peak':>10s} {'×input':>6s} {'DuckDB':>8s}"
          + f" {'ratio':>6s}")
    for n, y, dk in lines:
        size = sum(y["input_bytes"].values())
        dks = f"{dk['seconds']:8.2f} {dk['seconds'] / y['seconds']:5.1f}×" if dk else f"{'—':>8s}"
        print(f"{n:11,} " + " ".join(f"{y['phases'][p]:9.2f}" for p in phases)
              + f" {y['seconds']:8.2f} {n / y['seconds'] / 1e6:7.2f} {mib(y['peak_rss']):>10s}"
              f" {y['peak_rss'] / size:6.2f} {dks}")
    return report


def _git_state() -> dict[str, str]:
    """The commit benchmarked, and which source files differed from it (others edit them)."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=HERE.parent, capture_output=True, text=True,
                              check=False)
        return done.stdout.strip()
    return {"head": git("rev-parse", "--short", "HEAD"), "subject": git("log", "-1", "--format=%s"),
            "src_changes": git("status", "--short", "--", "src")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("n", nargs="?", type=int, help="number of claims")
    ap.add_argument("--scale", nargs="+", type=int, help="sizes for the scaling table")
    ap.add_argument("--region", default="360400", help="synthetic data's region")
    ap.add_argument("--policy", help="region code or YAML file (default: --region)")
    ap.add_argument("--year", type=int, default=2023)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--persons", type=int, default=0, help="default: N / claims-per-person")
    ap.add_argument("--claims-per-person", type=int, default=10)
    ap.add_argument("--runs", type=int, default=3, help="yibao runs (median reported)")
    ap.add_argument("--duckdb-runs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0, help="DuckDB threads (default: its own)")
    ap.add_argument("--duckdb-timeout", type=float, default=900.0)
    ap.add_argument("--no-duckdb", action="store_true")
    ap.add_argument("--no-check", action="store_true", help="--scale: skip the fen comparison")
    ap.add_argument("--loop-sample", type=int, default=200_000, help="0 to skip the loop")
    ap.add_argument("--profile", action=argparse.BooleanOptionalAction, default=True,
                    help="time the steps inside settle() (default on)")
    ap.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args()

    if a.worker:
        sys.path.insert(0, str(HERE))
        kind, rest = a.worker[0], a.worker[1:]
        result: dict[str, Any]
        if kind == "generate":
            d, n, region, year, persons, seed = rest
            result = worker_generate(Path(d), int(n), region, int(year), int(persons), int(seed))
        elif kind == "yibao":
            result = worker_yibao(Path(rest[0]), rest[1], rest[2], rest[3] == "1")
        elif kind == "duckdb":
            result = worker_duckdb(Path(rest[0]), rest[1], int(rest[2]), int(rest[3]) or None)
        elif kind == "loop":
            result = worker_loop(Path(rest[0]), rest[1], int(rest[2]), int(rest[3]))
        elif kind == "compare":
            result = worker_compare(Path(rest[0]), rest[1], rest[2])
        else:
            raise SystemExit(f"unknown worker {kind}")
        print(json.dumps(result, default=str))
        return

    a.policy = str(Path(a.policy).resolve()) if a.policy and not a.policy.isdigit() else (
        a.policy or a.region)
    if not a.scale and not a.n:
        ap.error("give N or --scale N …")
    report = main_scale(a) if a.scale else main_single(a)
    report["argv"] = sys.argv
    report["git"] = _git_state()
    report["when"] = dt.datetime.now().isoformat(timespec="seconds")
    report["loadavg_end"] = os.getloadavg()
    ROOT.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = ROOT / f"results-{stamp}.json"
    path.write_text(json.dumps(report, indent=1, default=str))
    print(f"\nfigures saved to {path}")


if __name__ == "__main__":
    main()
