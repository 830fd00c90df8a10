"""The shapes of policy parameters (SPEC §3): one typed schema per key.

Yuan become integer fen and ratios integer basis points as they are read, so
nothing downstream ever sees a float amount. Every model forbids unknown
fields, so a misspelt sub-key is an error at load time.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    TypeAdapter,
    model_validator,
)

from yibao.money import to_bp, to_fen

Fen = Annotated[int, BeforeValidator(to_fen)]
BasisPoints = Annotated[int, BeforeValidator(to_bp)]
Level = Literal[1, 2, 3]
VisitType = Literal["inpatient", "outpatient", "chronic", "maternity"]
Category = Literal[
    "tekun", "dibao", "fanpin", "monitor", "dibao_edge", "illness_poverty",
    "student", "newborn", "residence_permit",
]
CATEGORIES: tuple[str, ...] = Category.__args__  # type: ignore[attr-defined]
VISIT_TYPES: tuple[str, ...] = VisitType.__args__  # type: ignore[attr-defined]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OutOfRegion(Strict):
    """异地就医: the deductible used instead, and how far the ratio is lowered."""

    deductible: Fen
    ratio_delta: BasisPoints


class OutpatientGeneral(Strict):
    """普通门诊统筹. Levels left out get no general-outpatient benefit."""

    deductible: dict[Level, Fen]
    ratio: dict[Level, BasisPoints]
    annual_limit: Fen


class ChronicDisease(Strict):
    """One 门诊慢特病 with its ICD-10 prefixes, annual limit and ratio."""

    name: str
    icd10: list[str]
    annual_limit: Fen
    ratio: BasisPoints


class Bracket(Strict):
    """One 分段 of the major-illness schedule; the last one has no upper bound."""

    upto: Fen | None = None
    ratio: BasisPoints


class Tilt(Strict):
    """困难群体倾斜 of major-illness insurance."""

    deductible_factor: BasisPoints
    ratio_delta: BasisPoints
    no_cap: bool = False


class Incentives(Strict):
    """国办发〔2024〕38号 continuity and zero-claim incentives (SPEC §5.4)."""

    count_from: int
    after_years: int
    continuity_step: Fen
    zero_claim_step: Fen
    max_fraction: BasisPoints
    break_penalty: Fen
    zero_claim_reset_on_break: bool = False


class AssistanceLayer(Strict):
    """One layer of 医疗救助: deductible, ratio and cap (None = no cap)."""

    deductible: Fen
    ratio: BasisPoints
    cap: Fen | None


class AssistanceCategory(AssistanceLayer):
    """A category's 医疗救助 terms, with an optional 倾斜/二次救助 layer."""

    second: AssistanceLayer | None = None


class SubsidyRule(Strict):
    """分类资助参保: a ratio of the standard contribution, or a fixed amount."""

    ratio: BasisPoints | None = None
    amount: Fen | None = None

    @model_validator(mode="after")
    def _one_of(self) -> SubsidyRule:
        if (self.ratio is None) == (self.amount is None):
            raise ValueError("give exactly one of ratio or amount")
        return self


class FundAlert(Strict):
    """基金运行 alert thresholds (SPEC §7)."""

    high_cost_fraction: BasisPoints
    months_danger: float
    months_warning: float
    months_excess: float


class CoverageTarget(Strict):
    """参保率 targets (SPEC §7): all residents, and the low-income groups of
    ``fund.low_income_categories`` (农村低收入人口和脱贫人口)."""

    total: BasisPoints
    low_income: BasisPoints


class RatioTarget(Strict):
    """住院政策范围内基金支付比例 target (about 70%) and how far from it counts as far."""

    target: BasisPoints
    tolerance: BasisPoints


def _month_day(value: object) -> str:
    text = str(value)
    parts = text.split("-")
    if len(parts) != 2 or not all(p.isdigit() and len(p) == 2 for p in parts):
        raise ValueError(f"expected MM-DD, got {value!r}")
    month, day = int(parts[0]), int(parts[1])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        raise ValueError(f"not a month-day: {value!r}")
    return text


MonthDay = Annotated[str, BeforeValidator(_month_day)]


class ConcentratedPeriod(Strict):
    """集中参保期 as month-day strings; end ≤ start runs into the benefit year."""

    start: MonthDay
    end: MonthDay


def _brackets(value: list[Bracket]) -> list[Bracket]:
    if not value:
        raise ValueError("at least one bracket")
    uppers = [b.upto for b in value]
    if any(u is None for u in uppers[:-1]):
        raise ValueError("only the last bracket may have no 'upto'")
    bounded = [u for u in uppers if u is not None]
    if bounded != sorted(set(bounded)):
        raise ValueError("bracket 'upto' values must increase")
    return value


def _levels(value: dict[int, Any]) -> dict[int, Any]:
    if set(value) != {1, 2, 3}:
        raise ValueError("give a value for each facility level 1, 2 and 3")
    return value


def _non_empty(value: list[Any]) -> list[Any]:
    if not value:
        raise ValueError("must not be empty")
    return value


def _non_negative(value: int) -> int:
    if value < 0:
        raise ValueError("must not be negative")
    return value


Months = Annotated[int, AfterValidator(_non_negative)]
ByLevelFen = Annotated[dict[Level, Fen], AfterValidator(_levels)]
ByLevelRatio = Annotated[dict[Level, BasisPoints], AfterValidator(_levels)]

#: key -> the schema of its value. An unknown key is an error at load time.
PARAMETERS: dict[str, Any] = {
    "financing.individual_contribution": Fen,
    "financing.fiscal_subsidy": Fen,
    "financing.central_share": BasisPoints,
    "financing.provincial_share": dict[str, BasisPoints],
    "financing.region_class": str,
    "financing.major_illness_funding": Fen,
    "financing.assistance_subsidy": dict[Category, SubsidyRule],
    "enrollment.concentrated_period": ConcentratedPeriod,
    "enrollment.waiting.fixed_months": Months,
    "enrollment.waiting.per_break_year_months": Months,
    "enrollment.waiting.free_break_years": Months,
    "enrollment.waiting.long_break_years": Months,
    "enrollment.waiting.long_break_min_months": Months,
    "enrollment.waiting.exempt_categories": list[Category],
    "enrollment.waiting.employee_grace_months": Months,
    "basic.inpatient.deductible": ByLevelFen,
    "basic.inpatient.repeat_factor": Annotated[list[BasisPoints], AfterValidator(_non_empty)],
    "basic.inpatient.ratio": ByLevelRatio,
    "basic.inpatient.out_of_region": OutOfRegion,
    "basic.annual_cap": Fen,
    "outpatient.general": OutpatientGeneral,
    "outpatient.chronic.diseases": dict[str, ChronicDisease],
    "outpatient.chronic.deductible": Fen,
    "maternity.lump_sum": dict[str, Fen] | None,
    "major.deductible": Fen,
    "major.brackets": Annotated[list[Bracket], AfterValidator(_brackets)],
    "major.bracket_basis": Literal["above_deductible", "cumulative"],
    "major.include_basic_deductible": bool,
    "major.cap": Fen,
    "major.visit_types": list[VisitType],
    "major.tilt": dict[Category, Tilt],
    "major.incentives": Incentives,
    "assistance.categories": dict[Category, AssistanceCategory],
    "assistance.visit_types": list[VisitType],
    "region.disposable_income": Fen,
    "fund.alert": FundAlert,
    "fund.coverage_target": CoverageTarget,
    "fund.low_income_categories": Annotated[list[Category], AfterValidator(_non_empty)],
    "fund.ratio_target": RatioTarget,
}

_ADAPTERS: dict[str, TypeAdapter[Any]] = {k: TypeAdapter(s) for k, s in PARAMETERS.items()}


def parse_value(key: str, raw: object) -> Any:
    """Validate and convert a raw YAML value of ``key``; raises pydantic's ValidationError."""
    return _ADAPTERS[key].validate_python(raw)
