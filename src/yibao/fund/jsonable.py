"""Fund figures as JSON: money (fen) as yuan strings with two decimals, exact ratios and
months as decimal strings with four places (rounded half-up here, at the edge, only)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from fractions import Fraction
from typing import Any

from yibao.money import fen_to_yuan

#: Fields (and dict fields whose values) are money in fen.
MONEY = frozenset({
    "income", "income_total", "basic_paid", "major_transfer", "expenditure", "current_balance",
    "accumulated_balance", "total", "policy_scope", "deductible", "basic", "major",
    "assistance", "oop", "out_of_scope", "in_scope_oop", "uncovered_oop", "oop_by_visit",
    "balance", "base", "changed", "difference", "high_cost_threshold", "individual",
    "assisted", "subsidy_central", "subsidy_provincial", "subsidy_local",
    "contribution_step", "subsidy_step",
})
PLACES = 4


def decimal_text(x: Fraction, places: int = PLACES) -> str:
    """An exact Fraction as a decimal string, rounded half-up (away from zero on ties)."""
    scale = 10**places
    sign = -1 if x < 0 else 1
    n = abs(x) * scale
    units = int((2 * n.numerator + n.denominator) // (2 * n.denominator)) * sign
    whole, frac = divmod(abs(units), scale)
    return f"{'-' if units < 0 else ''}{whole}.{frac:0{places}d}"


def to_json(value: Any, key: str = "") -> Any:
    """Any fund result (dataclasses, lists, dicts, Fractions, fen) as JSON-able data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: to_json(getattr(value, f.name), f.name)
               for f in dataclasses.fields(value) if _shown(getattr(value, f.name))}
        derived = getattr(value, "difference", None)  # PayerChange's property
        if derived is not None:
            out["difference"] = to_json(derived, "difference")
        return out
    if isinstance(value, dict):
        return {str(k): to_json(v, key if key in MONEY else str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v, key) for v in value]
    if isinstance(value, Fraction):
        return decimal_text(value)
    if isinstance(value, bool) or value is None or isinstance(value, str | float):
        return value
    if isinstance(value, int):
        return fen_to_yuan(value) if key in MONEY else value
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _shown(value: Any) -> bool:
    """numpy arrays and frames are working data, not figures."""
    return type(value).__module__.split(".")[0] not in ("numpy", "polars")
