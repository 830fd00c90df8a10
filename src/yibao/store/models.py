"""The database schema (SQLAlchemy 2): registry, claims, immutable postings, accumulators,
users and an append-only audit log. Money columns are BIGINT fen, never floats.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from yibao.engine.kernel import ACCUMULATORS


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, int: BigInteger}


class Facility(Base):
    """定点医疗机构."""

    __tablename__ = "facilities"
    facility_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    level: Mapped[int] = mapped_column(Integer)
    region: Mapped[str] = mapped_column(String(6))


class Person(Base):
    """参保人. categories and chronic are ';'-joined codes, as in the files."""

    __tablename__ = "persons"
    person_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    id_number: Mapped[str | None] = mapped_column(String(18), index=True)
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    death_date: Mapped[dt.date | None] = mapped_column(Date)
    region: Mapped[str] = mapped_column(String(6))
    categories: Mapped[str] = mapped_column(String(200), default="")
    chronic: Mapped[str] = mapped_column(String(200), default="")


class Enrollment(Base):
    """参保登记: one row per person, year, region and scheme."""

    __tablename__ = "enrollments"
    __table_args__ = (UniqueConstraint("person_id", "year", "region", "scheme"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.person_id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    region: Mapped[str] = mapped_column(String(6))
    scheme: Mapped[str] = mapped_column(String(10))
    paid_date: Mapped[dt.date] = mapped_column(Date)
    contribution_paid: Mapped[int] = mapped_column(BigInteger)
    repaid_years: Mapped[int] = mapped_column(Integer, default=0)
    employee_end_date: Mapped[dt.date | None] = mapped_column(Date)


class Claim(Base):
    """医疗费用 as submitted (SPEC §4)."""

    __tablename__ = "claims"
    claim_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.person_id"), index=True)
    facility_id: Mapped[str] = mapped_column(String(64), index=True)
    facility_level: Mapped[int] = mapped_column(Integer)
    visit_type: Mapped[str] = mapped_column(String(12))
    chronic_disease: Mapped[str | None] = mapped_column(String(40))
    maternity_kind: Mapped[str | None] = mapped_column(String(40))
    admit_date: Mapped[dt.date] = mapped_column(Date)
    settle_date: Mapped[dt.date] = mapped_column(Date, index=True)
    total: Mapped[int] = mapped_column(BigInteger)
    self_pay: Mapped[int] = mapped_column(BigInteger)
    class_b_self_pay: Mapped[int] = mapped_column(BigInteger)
    out_of_region: Mapped[bool] = mapped_column(Boolean)
    diagnosis: Mapped[str] = mapped_column(String(40))
    procedure: Mapped[str | None] = mapped_column(String(40))
    procedure_kind: Mapped[str | None] = mapped_column(String(20))


class Posting(Base):
    """An immutable settlement posting: one per settled claim, one per reversal (冲销).

    A reversal carries the negated amounts and deltas of the settlement it undoes.
    """

    __tablename__ = "postings"
    __table_args__ = (UniqueConstraint("claim_id", "kind"),
                      Index("ix_postings_person_year", "person_id", "year"),
                      Index("ix_postings_year", "year"))
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.claim_id"))
    kind: Mapped[str] = mapped_column(String(10))  # settlement | reversal
    person_id: Mapped[str] = mapped_column(String(64))
    year: Mapped[int] = mapped_column(Integer)
    region: Mapped[str] = mapped_column(String(6))
    covered: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(20), default="")
    policy_scope: Mapped[int] = mapped_column(BigInteger)
    deductible: Mapped[int] = mapped_column(BigInteger)
    basic: Mapped[int] = mapped_column(BigInteger)
    major: Mapped[int] = mapped_column(BigInteger)
    assistance: Mapped[int] = mapped_column(BigInteger)
    oop: Mapped[int] = mapped_column(BigInteger)
    major_cap: Mapped[int | None] = mapped_column(BigInteger)
    deltas: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(64))


class Accumulator(Base):
    """A person-year's annual accumulators (the engine's ``closing`` row), locked per update."""

    __tablename__ = "accumulators"
    person_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    admissions: Mapped[int] = mapped_column(BigInteger, default=0)
    basic_raw: Mapped[int] = mapped_column(BigInteger, default=0)
    outpatient_raw: Mapped[int] = mapped_column(BigInteger, default=0)
    chronic_scope: Mapped[int] = mapped_column(BigInteger, default=0)
    major_burden: Mapped[int] = mapped_column(BigInteger, default=0)
    assist_first: Mapped[int] = mapped_column(BigInteger, default=0)
    assist_second: Mapped[int] = mapped_column(BigInteger, default=0)
    chronic_raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class PersonYearTerms(Base):
    """A person-year's benefit start and effective major-illness cap under one policy, as
    the engine worked them out (``yibao.store.terms``): the per person-year inputs of the
    kernel that depend on the whole enrolment and payment history. A cache: database
    triggers delete a row whenever the person, their enrolments or their earlier years'
    postings change, a row is taken only while ``settled_before`` (the settled years before
    ``year`` it was worked out with) still holds, and a missing row is worked out again.
    ``benefit_start`` is null when the person has no resident enrolment of the year in the
    policy's region."""

    __tablename__ = "person_year_terms"
    person_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy: Mapped[str] = mapped_column(String(64), primary_key=True)
    benefit_start: Mapped[dt.date | None] = mapped_column(Date)
    major_cap: Mapped[int | None] = mapped_column(BigInteger)
    settled_before: Mapped[int] = mapped_column(Integer)


class SettledYear(Base):
    """A year in which the store holds at least one posting (a settled year counts as a
    zero-claim year for whoever the basic fund paid nothing); kept by a trigger on postings."""

    __tablename__ = "settled_years"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class User(Base):
    """A console/API user with one role; a clerk belongs to one facility."""

    __tablename__ = "users"
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(10))  # admin | clerk | analyst | auditor
    facility_id: Mapped[str | None] = mapped_column(String(64))
    secret_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Token(Base):
    """A login token, stored only as its hash, with an expiry."""

    __tablename__ = "tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("users.username"), index=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """Append-only audit log: every write and every read of an unmasked 身份证号."""

    __tablename__ = "audit_log"
    #: a login looks up the username's latest entries (``store.auth.locked_out``)
    __table_args__ = (Index("ix_audit_log_target_id", "target", "id"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    username: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


assert tuple(c for c in ACCUMULATORS) == (
    "admissions", "basic_raw", "outpatient_raw", "chronic_scope", "major_burden",
    "assist_first", "assist_second"), "accumulator columns must follow the kernel"
