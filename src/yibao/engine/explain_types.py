"""The shape of an explanation step, shared by the claim and enrolment explainers."""

from __future__ import annotations

from dataclasses import dataclass, field

from yibao.policy import Provenance


@dataclass
class Step:
    """One step of a settlement: what was computed, the figure, and the parameters used."""

    title: str
    formula: str
    amount: int | None = None
    params: list[Provenance] = field(default_factory=list)
