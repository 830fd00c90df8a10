"""Online settlement over HTTP on PostgreSQL: settlements/s and p50/p99 latency at 1, 8, 32 clients.

    .venv/bin/python benchmarks/online.py [--claims-per-level 2000] [--workers 2]
        [--clients 1,8,32] [--warm-up 300]

Creates its own PostgreSQL database on 127.0.0.1, imports a synthetic 九江 population,
starts `yibao serve --workers N` (uvicorn; it works out the person-year terms before it
listens) on a loopback port, and settles distinct claims through `POST /v1/settlements`
from 1, 8 and 32 client threads (each client its own persons, so the figures measure the
service, not lock waits), after a warm-up level that is not counted. Each level sends a
bounded number of requests and reports, besides throughput and latency, the CPU per
settlement of the server's processes, of this database's PostgreSQL backends and of the
client (`http.client`, bodies serialised beforehand). Then `resettle`
re-runs the settled claims in batch and the differences are counted (online = batch: 0).
The server is stopped and the database dropped at the end.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import polars as pl
import psycopg

from yibao.io import read_claims
from yibao.policy import load_policy
from yibao.store.auth import add_user
from yibao.store.db import make_engine, sessions, upgrade
from yibao.store.importer import import_file
from yibao.store.resettle import resettle
from yibao.synth import write_synth

PG = "postgresql://postgres@127.0.0.1:5432/"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bodies(claims: pl.DataFrame) -> list[dict[str, object]]:
    out = []
    for r in claims.iter_rows(named=True):
        body = {k: v for k, v in r.items() if v is not None}
        for k in ("total", "self_pay", "class_b_self_pay"):
            body[k] = f"{r[k] // 100}.{r[k] % 100:02d}"
        for k in ("admit_date", "settle_date"):
            body[k] = r[k].isoformat()
        out.append(body)
    return out


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _processes() -> list[tuple[int, int, str]]:
    """(pid, parent pid, command line) of every process."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                    errors="replace")
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            out.append((int(entry.name), ppid, cmd))
    return out


class CpuMeter:
    """CPU seconds of the server (its process and uvicorn's workers), of this database's
    PostgreSQL backends and of this client process, between two readings."""

    def __init__(self, server: int, database: str):
        self.server, self.database = server, database

    def read(self) -> dict[str, float]:
        processes = _processes()
        server = [pid for pid, ppid, _ in processes if self.server in (pid, ppid)]
        backends = [pid for pid, _, cmd in processes
                    if cmd.startswith("postgres: ") and f" {self.database} " in cmd]
        me = resource.getrusage(resource.RUSAGE_SELF)
        return {"server": sum(_proc_cpu(p) for p in server),
                "postgres": sum(_proc_cpu(p) for p in backends),
                "client": me.ru_utime + me.ru_stime}


def _run(port: int, token: str,
         work: list[list[bytes]]) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Each client a thread with one keep-alive connection (``http.client``, TCP_NODELAY as
    a desk system would set it), the request bodies serialised beforehand: the client's own
    CPU per request is a few tens of microseconds, so it takes little from the server."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def client(bodies: list[bytes]) -> list[tuple[float, float]]:
        lat = []
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            for body in bodies:
                t = time.perf_counter()
                conn.request("POST", "/v1/settlements", body, headers)
                r = conn.getresponse()
                text = r.read()
                lat.append((t, time.perf_counter() - t))
                if r.status not in (200, 201):
                    raise RuntimeError(f"{r.status} {text[:300]!r}")
        finally:
            conn.close()
        return lat

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(work)) as pool:
        parts = list(pool.map(client, work))
    sent = np.array([t - start for part in parts for t, _ in part])
    lats = np.array([x for part in parts for _, x in part])
    who = np.repeat(np.arange(len(parts)), [len(part) for part in parts])
    return time.perf_counter() - start, lats, sent, who


def _work(claims: pl.DataFrame, persons: list[str], clients: int,
          budget: int) -> tuple[list[list[bytes]], int]:
    """About ``budget`` request bodies of the first persons, all of a person's claims to one
    client, in date order; and how many persons they took."""
    per_client: list[list[bytes]] = [[] for _ in range(clients)]
    groups = claims.filter(pl.col("person_id").is_in(persons[:budget])).partition_by(
        "person_id", maintain_order=True, as_dict=True)
    taken = 0
    for part in groups.values():
        if budget <= 0:
            break
        take = part.head(budget)
        per_client[taken % clients].extend(json.dumps({"claim": b}).encode()
                                           for b in _bodies(take))
        budget -= take.height
        taken += 1
    return [w for w in per_client if w], taken


def _print_tails(tails: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]) -> None:
    """The slow end of each level's latencies; whether the slowest 1 % came together (a
    stall that every request in flight waits out) or spread over the run (queueing); and
    each client's median (clients whose connections one server worker holds wait longer)."""
    print(f"{'clients':>8} {'p90 ms':>8} {'p99 ms':>8} {'p99.9 ms':>9} {'max ms':>8}  "
          "slowest 1 %: sent in how many 50 ms windows; median ms of each client")
    for label, lat, sent, who in tails:
        slow = sent[lat >= np.percentile(lat, 99)]
        windows = np.unique((slow / 0.05).astype(np.int64)).size
        print(f"{label:>8} {np.percentile(lat, 90) * 1e3:>8.1f} "
              f"{np.percentile(lat, 99) * 1e3:>8.1f} {np.percentile(lat, 99.9) * 1e3:>9.1f} "
              f"{lat.max() * 1e3:>8.1f}  {slow.size} requests in {windows}; "
              + " ".join(f"{np.median(lat[who == c]) * 1e3:.1f}" for c in np.unique(who)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--claims-per-level", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=2, help="yibao serve --workers")
    ap.add_argument("--clients", default="1,8,32", help="client counts, comma-separated")
    ap.add_argument("--warm-up", type=int, default=300,
                    help="claims settled first (8 clients, not counted): the workers load the "
                         "compiled kernel and the ICD-10 list on their first claims")
    ap.add_argument("--tail", action="store_true",
                    help="also print each level's latency tail: p90, p99.9, max, and when "
                         "the slowest 1 %% of requests were sent")
    args = ap.parse_args()
    name = f"yibao_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG + "test", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = PG + name
    server = None
    try:
        upgrade(url)
        engine = make_engine(url)
        tmp = Path(tempfile.mkdtemp())
        paths = write_synth(tmp, "360400", 2023, persons=20000, seed=7)
        for kind in ("persons", "enrollments"):
            import_file(engine, kind, paths[kind])
        with sessions(engine).begin() as s:
            add_user(s, "bench", "admin", "bench-secret")
        claims = read_claims(paths["claims"]).sort("settle_date", "claim_id")
        port = _free_port()
        env = {**os.environ, "YIBAO_DATABASE_URL": url, "YIBAO_POLICY": "360400"}
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "yibao"), "serve", "--port", str(port),
             "--workers", str(args.workers)], env=env,
            stdout=subprocess.DEVNULL, stderr=(tmp / "server.log").open("w"))
        print(f"server log: {tmp / 'server.log'}")
        base = f"http://127.0.0.1:{port}"
        for _ in range(1200):
            try:
                if httpx.get(base + "/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        token = httpx.post(base + "/v1/auth/token",
                           json={"username": "bench", "secret": "bench-secret"}).json()[
            "access_token"]
        persons = claims["person_id"].unique(maintain_order=True).to_list()
        used = 0
        print(f"workers {args.workers}, load average {os.getloadavg()[0]:.2f} at the start")
        meter = CpuMeter(server.pid, name)
        print("CPU ms per settlement: the server's processes, this database's PostgreSQL "
              "backends, this client")
        print(f"{'clients':>8} {'claims':>8} {'seconds':>8} {'claims/s':>9} {'p50 ms':>8} "
              f"{'p99 ms':>8} {'server':>9} {'postgres':>8} {'client':>8}")
        tails: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []
        levels = [(f"{c}", c, args.claims_per_level) for c in
                  (int(c) for c in args.clients.split(","))]
        if args.warm_up:
            levels.insert(0, ("warm-up", 8, args.warm_up))
        for label, clients, budget in levels:
            work, taken = _work(claims, persons[used:], clients, budget)
            used += taken
            before = meter.read()
            seconds, lat, sent, who = _run(port, token, work)
            after = meter.read()
            cpu = {k: (after[k] - before[k]) / lat.size * 1e3 for k in after}
            print(f"{label:>8} {lat.size:>8} {seconds:>8.2f} {lat.size / seconds:>9.0f} "
                  f"{np.percentile(lat, 50) * 1000:>8.1f} {np.percentile(lat, 99) * 1000:>8.1f} "
                  f"{cpu['server']:>9.2f} {cpu['postgres']:>8.2f} {cpu['client']:>8.2f}")
            tails.append((label, lat, sent, who))
        print(f"load average {os.getloadavg()[0]:.2f} at the end")
        if args.tail:
            _print_tails(tails)
        results, differences = resettle(engine, load_policy("360400"), 2023)
        print(f"resettle 2023: {results.height} claims re-settled in batch, "
              f"{differences.height} differences")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        with psycopg.connect(PG + "test", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
