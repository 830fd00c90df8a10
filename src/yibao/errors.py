"""Errors with a stable code, the record and the field (SPEC §11 error shape)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one record: where, which field, which rule."""

    code: str
    message: str
    record: str = ""
    field: str = ""

    def __str__(self) -> str:
        where = ": ".join(p for p in (self.record, self.field) if p)
        text = f"{self.message} [{self.code}]"
        return f"{where}: {text}" if where else text


@dataclass
class YibaoError(Exception):
    """Base of every error the project raises on purpose; carries one or more problems."""

    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    @property
    def code(self) -> str:
        return self.problems[0].code if self.problems else "ERROR"

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class PolicyError(YibaoError):
    """A parameter file is malformed, or a needed parameter is missing."""


class InputError(YibaoError):
    """Input records break a rule of SPEC §4; nothing was written."""


def fail(cls: type[YibaoError], code: str, message: str, record: str = "",
         field: str = "") -> YibaoError:
    """Build an error of class ``cls`` holding one problem."""
    return cls([Problem(code, message, record, field)])
