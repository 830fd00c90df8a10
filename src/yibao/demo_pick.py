"""Pick an interesting claim of a demo run to explain: the largest major-illness payment."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl


def main(demo_dir: str) -> None:
    results = pl.read_parquet(Path(demo_dir) / "results.parquet")
    best = results.sort(["major", "assistance"], descending=True).head(1)
    if best.height:
        print(best["claim_id"][0])


if __name__ == "__main__":
    main(sys.argv[1])
