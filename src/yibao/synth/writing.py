"""Writing synthetic frames to files the readers take back (``yibao synth --out DIR``)."""

from __future__ import annotations

from pathlib import Path

from yibao.synth.frames import synth_frames, synth_history
from yibao.synth.tables import MONEY_COLUMNS

FORMATS = ("parquet", "csv", "jsonl")


def write_synth(
    out_dir: Path, region: str, year: int, persons: int, seed: int = 0, fmt: str = "parquet",
    claims_per_person: float | None = None, first_year: int | None = None,
) -> dict[str, Path]:
    """Write persons.<fmt>, enrollments.<fmt> and claims.<fmt> into out_dir; return the paths.

    With ``first_year``, a history from first_year to ``year`` (``synth_history``): enrolments
    and claims of every year in the one file each.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be parquet, csv or jsonl: {fmt!r}")
    from yibao.io import write_frame  # money as yuan with two decimals, SPEC §5 conventions

    frames = (synth_frames(region, year, persons, seed, claims_per_person) if first_year is None
              else synth_history(region, first_year, year, persons, seed, claims_per_person))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, frame in zip(("persons", "enrollments", "claims"), frames, strict=True):
        paths[name] = out_dir / f"{name}.{fmt}"
        write_frame(frame, paths[name], [c for c in MONEY_COLUMNS if c in frame.columns])
    return paths
