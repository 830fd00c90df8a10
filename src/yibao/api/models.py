"""Request and response bodies of the REST API (SPEC §11): the field names of §4, the
columns of §5 and §6.1; money as a yuan string with two decimals in responses.

The claim body types each field as JSON sees it and documents its rule; the rules themselves
(amounts with at most two decimals, real dates, ICD-10, self_pay + class_b_self_pay ≤ total …)
are checked by ``yibao.io.records_frame`` exactly as a file's rows are, so the API and an
import accept and reject the same records with the same codes.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

Yuan = Annotated[str, Field(description="yuan with two decimals", examples=["1234.50"],
                            pattern=r"^-?\d+\.\d{2}$")]


def _json_amount(value: object) -> str | int | float:
    """An amount as JSON sent it; its value is checked with the claim (``records_frame``)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise PydanticCustomError("amount_type",
                                  'an amount is a string such as "1234.50" or a number')
    return value


MoneyIn = Annotated[str | int | float, PlainValidator(_json_amount), WithJsonSchema({
    "anyOf": [{"type": "string"}, {"type": "number"}], "examples": ["1234.50"],
    "description": "yuan: a string or a number with at most two decimals, not negative"})]
Day = Annotated[str, Field(description="a date YYYY-MM-DD", examples=["2023-03-01"],
                           json_schema_extra={"format": "date"})]


def _printable(value: str) -> str:
    # PostgreSQL cannot store NUL; no identifier or code has control characters
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise PydanticCustomError("control_characters", "text may not contain control characters")
    return value


Text = Annotated[str, AfterValidator(_printable), Field(
    description="an identifier or code (at most 64 bytes)", examples=["C0001"])]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClaimIn(Strict):
    """医疗费用 (SPEC §4 claim)."""

    claim_id: Text
    person_id: Text
    facility_id: Text
    facility_level: Annotated[int, Field(description="1 primary, 2 secondary, 3 tertiary")]
    visit_type: Literal["inpatient", "outpatient", "chronic", "maternity"]
    chronic_disease: Text | None = None
    maternity_kind: Text | None = None
    admit_date: Day
    settle_date: Day
    total: MoneyIn
    self_pay: MoneyIn
    class_b_self_pay: MoneyIn
    out_of_region: bool
    diagnosis: Annotated[str, AfterValidator(_printable),
                         Field(description="ICD-10 principal diagnosis", examples=["K35.8"])]
    procedure: Text | None = None
    procedure_kind: Literal["conservative", "diagnostic", "therapeutic", "surgery"] | None = None


class SettlementRequest(Strict):
    claim: ClaimIn


class Parameter(BaseModel):
    """A policy parameter as resolved: value, the region that set it, from when, its source."""

    model_config = ConfigDict(populate_by_name=True)
    key: str
    value: Any
    region: str
    region_name: str
    from_: dt.date = Field(alias="from")
    source: str


class Step(BaseModel):
    title: str
    formula: str
    amount: Yuan | None
    parameters: list[Parameter]


class Explanation(BaseModel):
    """How each payer's amount came about, step by step, with the parameters used."""

    claim_id: str
    steps: list[Step]


class SettlementOut(BaseModel):
    """A settlement result row (SPEC §5 columns)."""

    claim_id: str
    person_id: str
    year: int
    covered: bool
    reason: str
    policy_scope: Yuan
    deductible: Yuan
    basic: Yuan
    major: Yuan
    assistance: Yuan
    oop: Yuan
    major_cap: Yuan | None = Field(description="effective 大病 cap; null when none applies")
    explanation: Explanation | None = Field(
        None, description="only with ?explain=true")


class SettlementRecord(SettlementOut):
    """A stored settlement and whether it has been reversed (冲销)."""

    facility_id: str
    reversed: bool


class PersonOut(BaseModel):
    person_id: str
    id_number: str | None = Field(description="身份证号, masked unless the role may see it "
                                  "and ?unmasked=true was asked")
    id_number_masked: bool
    sex: str
    birth_date: dt.date
    death_date: dt.date | None
    region: str
    categories: list[str]
    chronic: list[str]


class EnrollmentOut(BaseModel):
    """A 参保登记 with its benefit start (SPEC §6.2; null outside the service's region)."""

    person_id: str
    year: int
    region: str
    scheme: str
    paid_date: dt.date
    contribution_paid: Yuan
    repaid_years: int
    employee_end_date: dt.date | None
    benefit_start: dt.date | None
    waiting_months: int | None
    waiting_reason: str | None


class AccumulatorsOut(BaseModel):
    """A person-year's annual accumulators (what the year's settlements have consumed)."""

    person_id: str
    year: int
    admissions: int
    basic_raw: Yuan
    outpatient_raw: Yuan
    chronic_scope: Yuan
    major_burden: Yuan
    assist_first: Yuan
    assist_second: Yuan
    chronic_raw: dict[str, Yuan]


class FinancingOut(BaseModel):
    """Contribution and subsidy of one resident enrolment (SPEC §6.1 columns)."""

    person_id: str
    year: int
    region: str
    standard: Yuan
    assisted: Yuan
    assisted_category: str | None
    due: Yuan
    paid: Yuan
    owed: Yuan
    subsidy: Yuan
    subsidy_central: Yuan
    subsidy_provincial: Yuan
    subsidy_local: Yuan
    benefit_start: dt.date | None
    waiting_months: int | None
    waiting_reason: str | None


class RegionRef(BaseModel):
    region: str
    name: str


class PolicyOut(BaseModel):
    """A region's parameters in force on a date, each with its region, start and source."""

    region: str
    name: str
    date: dt.date
    chain: list[RegionRef]
    parameters: list[Parameter]


class TokenRequest(Strict):
    username: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+$")]
    secret: Annotated[str, Field(min_length=1, max_length=1024)]


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: dt.datetime
    username: str
    role: str
    facility_id: str | None


class Health(BaseModel):
    status: Literal["ok"]
    database: str
    policy: str


class ProblemOut(BaseModel):
    code: str
    message: str
    field: str
    record: str


class ErrorDetail(ProblemOut):
    problems: list[ProblemOut]


class ErrorOut(BaseModel):
    """Every error: the first problem at the top, every problem found in ``problems``."""

    error: ErrorDetail


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for error statuses, all in the one error shape (422 always:
    it replaces FastAPI's own validation-error schema, which this API never sends)."""
    return {s: {"model": ErrorOut} for s in sorted({*statuses, 422})}
