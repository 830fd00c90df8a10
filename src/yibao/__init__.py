"""yibao (医保): 城乡居民基本医疗保险 — policy as code and one-stop settlement."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

    from yibao.engine.settlement import Settlement
    from yibao.policy import Policy

__version__ = "0.1.0"


def settle(policy: Policy | str | Path, persons: pl.DataFrame | str | Path,
           enrollments: pl.DataFrame | str | Path, claims: pl.DataFrame | str | Path,
           **options: object) -> Settlement:
    """一站式结算 of ``claims`` under ``policy`` (a region code, a YAML path or a Policy).

    Frames may be given as files (CSV, Parquet, JSON Lines), which are read and
    validated first. Options are those of ``yibao.engine.settlement.settle``.
    """
    from yibao.engine.settlement import CLAIM_COLUMNS
    from yibao.engine.settlement import settle as run
    from yibao.io import (
        check_references,
        read_claims,
        read_enrollments,
        read_inputs,
        read_persons,
    )
    from yibao.policy import Policy, load_policy

    pol = policy if isinstance(policy, Policy) else load_policy(policy)
    files = (persons, enrollments, claims)
    if all(isinstance(f, str | Path) for f in files):
        # all checked; the claims' columns no settlement rule reads are let go at once, and
        # visit_type, chronic_disease and maternity_kind are held as codes (Enums)
        p, e, c = read_inputs(*files, claim_columns=CLAIM_COLUMNS,  # type: ignore[arg-type]
                              claim_codes=True)
    else:
        p = read_persons(persons) if isinstance(persons, str | Path) else persons
        e = read_enrollments(enrollments) if isinstance(enrollments, str | Path) else enrollments
        c = read_claims(claims) if isinstance(claims, str | Path) else claims
    check_references(p, e, c)
    return run(pol, p, e, c, **options)  # type: ignore[arg-type]
