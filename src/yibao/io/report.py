"""Collecting every problem of a file into one InputError (SPEC §4: report all, land nothing).

Rules hand in boolean masks over the whole frame; only the failing rows are located
(`file:line` or `file:row N`) and only the first `MAX_PROBLEMS` of them, in file order, are
written out, followed by a count of the rest. Every message is bilingual (SPEC §11) and goes
through `scrub`, so no unmasked 身份证号 can reach a log or a screen.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import polars as pl

from yibao.errors import InputError, Problem
from yibao.io.idcard import mask_id_number

MAX_PROBLEMS = 50
#: Longest value quoted in a message.
_SHOW_CHARS = 40

#: 0-based frame rows -> record labels ("claims.csv:12", "claims.parquet:row 11").
Locate = Callable[[npt.NDArray[np.int64]], list[str]]

ZH: dict[str, str] = {
    "FILE_NOT_FOUND": "文件不存在",
    "FILE_UNREADABLE": "文件无法读取",
    "FILE_UNWRITABLE": "文件无法写入",
    "BAD_FORMAT": "不支持的文件格式",
    "EMPTY_FILE": "文件为空",
    "BAD_ENCODING": "文件不是 UTF-8 编码",
    "BAD_CSV": "CSV 格式错误",
    "BAD_JSON": "JSON 格式错误",
    "MISSING_HEADER": "缺少表头",
    "MISSING_COLUMN": "缺少必需的列",
    "UNKNOWN_COLUMN": "未知的列",
    "DUPLICATE_COLUMN": "列名重复",
    "BAD_TYPE": "列的数据类型不符",
    "REQUIRED": "必填项为空",
    "TOO_LONG": "值过长",
    "BAD_ENUM": "取值不在允许范围内",
    "BAD_REGION": "行政区划代码应为6位数字",
    "BAD_DATE": "日期无效",
    "BAD_INTEGER": "不是整数",
    "OUT_OF_RANGE": "数值超出范围",
    "BAD_BOOL": "不是布尔值",
    "BAD_MONEY": "金额格式错误",
    "MONEY_DECIMALS": "金额超过两位小数",
    "NEGATIVE": "金额为负",
    "MONEY_TOO_LARGE": "金额过大",
    "BAD_ID_NUMBER": "身份证号无效",
    "ID_BIRTH_MISMATCH": "身份证号中的出生日期与出生日期不符",
    "BAD_ICD10": "诊断编码不是有效的 ICD-10 编码",
    "SELF_PAY_EXCEEDS_TOTAL": "全自费与乙类先行自付之和超过总费用",
    "DATE_ORDER": "日期先后顺序错误",
    "DUPLICATE": "记录重复",
    "UNKNOWN_PERSON": "人员不存在",
    "TOO_MANY_PROBLEMS": "问题过多，仅列出前若干条",
}

# An 18-character 身份证号 (or the old 15-digit form) anywhere in a text, even glued to letters
# ("P11010519491231002X"), but not a window of a longer run of digits.
_ID_LIKE = re.compile(r"(?<!\d)(\d{17}[\dXx]|\d{15})(?![\dXx])")


def scrub(text: str) -> str:
    """Mask anything that looks like a 身份证号: messages may quote person_id and the like."""
    return _ID_LIKE.sub(lambda m: mask_id_number(m.group(1)), text)


def show(value: object) -> str:
    """A value as quoted in a message: repr (control characters escaped), shortened; dates ISO."""
    if isinstance(value, dt.date):
        value = value.isoformat()
    if isinstance(value, str) and len(value) > _SHOW_CHARS:
        value = value[: _SHOW_CHARS - 1] + "…"
    return repr(value)


def message(code: str, en: str) -> str:
    zh = ZH.get(code)
    return scrub(f"{zh} / {en}" if zh else en)


@dataclass
class _Pending:
    row: int  # -1 for a problem of the whole file
    code: str
    field: str
    message: str


@dataclass
class Problems:
    """Problems found in one file; `raise_if_any` turns them into one InputError."""

    label: str  # the file as named in records
    locate: Locate
    _pending: list[_Pending] = field(default_factory=list)
    _total: int = 0

    def __bool__(self) -> bool:
        return self._total > 0

    def fork(self) -> Problems:
        """An empty collector for the same file, for one worker thread."""
        return Problems(self.label, self.locate)

    def merge(self, other: Problems) -> None:
        self._pending.extend(other._pending)
        self._total += other._total

    def file(self, code: str, en: str, field: str = "") -> None:
        """A problem of the whole file (a missing column, an unreadable file)."""
        self._pending.append(_Pending(-1, code, field, en))
        self._total += 1

    def rows(
        self,
        code: str,
        field: str,
        mask: pl.Series,
        en: str,
        values: pl.Series | pl.DataFrame | None = None,
        shown: Callable[[object], str] = show,
    ) -> None:
        """One problem per row where ``mask`` is true (null counts as false).

        ``values``, when given, is quoted after the message for each failing row (a frame's
        row as a tuple).
        """
        if not mask.any():  # the common case: one pass, no copy
            return
        mask = mask.fill_null(False)
        count = int(mask.sum())
        self._total += count
        rows = mask.arg_true().head(MAX_PROBLEMS)
        quoted: Sequence[object] | None = None
        if isinstance(values, pl.Series):
            quoted = values.gather(rows).to_list()
        elif isinstance(values, pl.DataFrame):
            quoted = values[rows].rows()
        for i, row in enumerate(rows.to_list()):
            text = en if quoted is None else f"{en}: {shown(quoted[i])}"
            self._pending.append(_Pending(int(row), code, field, text))

    def at(
        self, code: str, field: str, rows: Sequence[int], texts: Sequence[str], total: int
    ) -> None:
        """Problems at given rows with their own texts; ``total`` counts any not passed."""
        self._total += total
        for row, text in zip(rows, texts, strict=True):
            self._pending.append(_Pending(int(row), code, field, text))

    def problems(self) -> list[Problem]:
        shown = sorted(self._pending, key=lambda p: p.row)[:MAX_PROBLEMS]
        rows = np.array([p.row for p in shown if p.row >= 0], dtype=np.int64)
        records = iter(self.locate(rows)) if len(rows) else iter(())
        out = [
            Problem(
                p.code,
                message(p.code, p.message),
                self.label if p.row < 0 else next(records),
                p.field,
            )
            for p in shown
        ]
        if self._total > len(out):
            more = self._total - len(out)
            out.append(
                Problem(
                    "TOO_MANY_PROBLEMS",
                    message("TOO_MANY_PROBLEMS", f"{more} more problems not shown"),
                    self.label,
                )
            )
        return out

    def raise_if_any(self) -> None:
        if self:
            raise InputError(self.problems())


def file_error(code: str, en: str, label: str, field: str = "") -> InputError:
    """An InputError with one problem about a whole file."""
    return InputError([Problem(code, message(code, en), label, field)])
