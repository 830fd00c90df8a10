"""Money and ratios as integers: fen (分) and basis points (1/10000).

SPEC §2: amounts are integer fen, ratios integer basis points, and a product
amount × ratio is computed exactly and rounded half-up to the fen once.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

FEN_PER_YUAN = 100
BP_ONE = 10_000
#: Largest amount accepted anywhere (1e9 yuan): keeps every fen × bp product far inside int64.
MAX_FEN = 100_000_000_000


def _decimal(value: object) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    if isinstance(value, float):
        # repr gives the shortest string that round-trips: 2875.3 -> '2875.3'
        value = repr(value)
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"not a number: {value!r}") from exc
    if not d.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return d


def _scaled(value: object, places: int, what: str) -> int:
    d = _decimal(value)
    scaled = d.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{what} has more than {places} decimal places: {value!r}")
    return int(scaled)


def to_fen(value: object) -> int:
    """Yuan (str, int, Decimal or float with at most 2 decimals) to integer fen, ≥ 0."""
    fen = _scaled(value, 2, "amount")
    if fen < 0:
        raise ValueError(f"amount is negative: {value!r}")
    if fen > MAX_FEN:
        raise ValueError(f"amount exceeds {MAX_FEN // FEN_PER_YUAN} yuan: {value!r}")
    return fen


def to_bp(value: object) -> int:
    """A ratio in [0, 1] with at most 4 decimals to integer basis points."""
    bp = _scaled(value, 4, "ratio")
    if not 0 <= bp <= BP_ONE:
        raise ValueError(f"ratio must lie between 0 and 1: {value!r}")
    return bp


def fen_to_yuan(fen: int) -> str:
    """Integer fen as a yuan string with two decimals: 123450 -> '1234.50'."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{whole}.{cents:02d}"


def bp_to_ratio(bp: int) -> str:
    """Basis points as a decimal ratio string: 6500 -> '0.65'."""
    return format(Decimal(bp).scaleb(-4).normalize(), "f")


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half-up (toward +∞ on ties), exactly."""
    return (2 * numerator + denominator) // (2 * denominator)


def mul_bp(fen: int, bp: int) -> int:
    """fen × ratio, rounded half-up once: mul_bp(30, 1500) == 5 (4.5 fen rounds up)."""
    return round_half_up(fen * bp, BP_ONE)
