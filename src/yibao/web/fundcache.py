"""The fund figures behind the dashboard and reports, computed off the request and kept.

Reading the whole register to build a year's ``FundInputs`` takes seconds on a city (about
2 s on the 50 000-person demo), more than a page may take. So a page asks for the figures of
(year, opening balance): if the store has not changed since they were computed they are served
at once; otherwise the last figures are served, marked stale, while one background thread
computes them again from a read-only session (the page refreshes itself until they are there).
"Changed" is the store's fingerprint: the newest posting and the newest import in the audit
log — what the fund figures are made of.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from yibao.fund import Alert, FundInputs, Indicators, alerts, from_frames, indicators
from yibao.fund.baseline import Baseline, prepare
from yibao.fund.store_inputs import store_frames
from yibao.policy import Policy
from yibao.store.models import AuditEntry, Posting

Key = tuple[int, int | None]


@dataclass
class Figures:
    """One (year, opening) computed: the inputs, indicators and alerts, the frames the
    what-if re-settles and its baseline, prepared here so that the first what-if of the page
    pays only for the change (``fund.baseline``)."""

    fingerprint: tuple[Any, ...]
    inputs: FundInputs
    indicators: Indicators
    alerts: list[Alert]
    frames: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]
    baseline: Baseline
    computed_at: float
    seconds: float


@dataclass
class Entry:
    figures: Figures | None = None
    running: bool = False
    error: str = ""


@dataclass
class FundCache:
    """Figures per (year, opening fen) for one policy; thread-safe."""

    policy: Policy
    entries: dict[Key, Entry] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, read: sessionmaker[Session], year: int,
            opening: int | None) -> tuple[Figures | None, bool, str]:
        """(figures or None, whether they are current, the last error); starts a
        recomputation when they are missing or stale."""
        with read() as session:
            now = fingerprint(session)
        key = (year, opening)
        with self.lock:
            entry = self.entries.setdefault(key, Entry())
            current = entry.figures is not None and entry.figures.fingerprint == now
            if not current and not entry.running:
                entry.running = True
                threading.Thread(target=self._compute, args=(read, key, now, entry),
                                 name=f"fund-{year}", daemon=True).start()
            return entry.figures, current, entry.error

    def wait(self, read: sessionmaker[Session], year: int, opening: int | None,
             timeout: float = 60) -> Figures:
        """The current figures, computed here if need be (tests, scripts)."""
        deadline = time.monotonic() + timeout
        while True:
            figures, current, error = self.get(read, year, opening)
            if figures is not None and current:
                return figures
            if error or time.monotonic() > deadline:
                raise RuntimeError(error or "fund figures not ready")
            time.sleep(0.05)

    def _compute(self, read: sessionmaker[Session], key: Key, now: tuple[Any, ...],
                 entry: Entry) -> None:
        year, opening = key
        start = time.perf_counter()
        try:
            with read() as session:
                frames = store_frames(session, year)
            balances = {} if opening is None else {self.policy.region: opening}
            inputs = from_frames(self.policy, year, *frames, opening=balances)
            ind = indicators(inputs)
            persons, enrollments, claims, _results = frames
            baseline = prepare(inputs, ind, persons, enrollments, claims)
            figures = Figures(now, inputs, ind, alerts(self.policy, ind), frames, baseline,
                              time.time(), time.perf_counter() - start)
            with self.lock:
                entry.figures, entry.error = figures, ""
        except Exception as exc:  # shown on the page; the next request tries again
            with self.lock:
                entry.error = f"{type(exc).__name__}: {exc}"
        finally:
            with self.lock:
                entry.running = False


def fingerprint(session: Session) -> tuple[Any, ...]:
    """What the fund figures depend on: the newest posting and the newest import."""
    posting = session.scalar(select(func.max(Posting.id)))
    imported = session.scalar(select(func.max(AuditEntry.id)).where(
        AuditEntry.action.in_(("import_persons", "import_enrollments", "import_claims"))))
    return posting, imported


def cache_of(app_state: Any, policy: Policy) -> FundCache:
    made: FundCache | None = getattr(app_state, "fund_cache", None)
    if made is None:
        made = FundCache(policy)
        app_state.fund_cache = made
    return made


__all__ = ["Figures", "FundCache", "cache_of", "fingerprint"]
