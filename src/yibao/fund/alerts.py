"""Alerts (基金运行预警, SPEC §7): each with its figure, threshold, rule key and source.

Months payable: ``< fund.alert.months_danger`` danger, else ``< months_warning`` warning,
``> months_excess`` excess reserve — a figure exactly at a threshold does not fire it.
Coverage: below ``fund.coverage_target`` (total, and low_income for the low-income groups).
Inpatient policy-scope ratio: further from ``fund.ratio_target.target`` than its tolerance.
Thresholds are those in force at the end of the period measured (the month for months
payable, the year for the rest). Comparisons are exact (Fractions against integers).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

from yibao.fund.inputs import LOW_INCOME, TOTAL
from yibao.fund.monitoring import ALL, Indicators
from yibao.money import BP_ONE
from yibao.policy import Policy, Provenance

DANGER, WARNING, EXCESS, BELOW_TARGET, OFF_TARGET = (
    "danger", "warning", "excess", "below_target", "off_target")


@dataclass(frozen=True)
class Alert:
    """One alert: where and when, the level, the figure against the threshold and the rule
    (parameter key, the region and date it was set, its cited source)."""

    region: str
    period: str  # YYYY-MM or YYYY
    indicator: str  # months_payable | coverage.<category> | inpatient_ratio
    level: str
    figure: Fraction
    threshold: Fraction
    comparison: str  # '<', '>' or '|x − target| >'
    rule: str
    rule_region: str
    rule_from: dt.date
    source: str
    message: str


def _rule(p: Provenance) -> tuple[str, str, dt.date, str]:
    return p.key, p.region, p.start, p.source


def months_payable_level(months: Fraction, danger: Fraction, warning: Fraction,
                         excess: Fraction) -> str | None:
    """SPEC §7 exactly: < danger → danger, < warning → warning, > excess → excess."""
    if months < danger:
        return DANGER
    if months < warning:
        return WARNING
    if months > excess:
        return EXCESS
    return None


def _months(value: float) -> Fraction:
    return Fraction(str(value))


def alerts(policy: Policy, ind: Indicators, *, months: str = "last") -> list[Alert]:
    """Every alert of ``ind``; months payable for each region's last month with a figure
    (``months='all'``: every month)."""
    found: list[Alert] = []
    for region in [ind.region, *ind.counties]:
        rows = [r for r in ind.monthly if r.region == region and r.months_payable is not None]
        for row in rows if months == "all" else rows[-1:]:
            assert row.months_payable is not None
            found += _months_alert(policy, ind.year, row.region, row.month, row.months_payable)
    found += _coverage_alerts(policy, ind)
    found += _ratio_alerts(policy, ind)
    return found


def _months_alert(policy: Policy, year: int, region: str, month: int,
                  figure: Fraction) -> list[Alert]:
    end = _month_end(year, month)
    p = policy.resolve(end).provenance("fund.alert")
    t = p.value
    danger, warning, excess = (_months(v) for v in (t.months_danger, t.months_warning,
                                                    t.months_excess))
    level = months_payable_level(figure, danger, warning, excess)
    if level is None:
        return []
    threshold, comparison, text = {
        DANGER: (danger, "<", "累计结余可支付月数低于危险线 months payable below danger"),
        WARNING: (warning, "<", "累计结余可支付月数低于预警线 months payable below warning"),
        EXCESS: (excess, ">", "累计结余过多 months payable above the excess line"),
    }[level]
    return [Alert(region, f"{year}-{month:02d}", "months_payable", level, figure, threshold,
                  comparison, *_rule(p), f"{text}: {float(figure):.2f} {comparison} "
                  f"{float(threshold):g}")]


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)


def _coverage_alerts(policy: Policy, ind: Indicators) -> list[Alert]:
    p = policy.resolve(dt.date(ind.year, 12, 31)).provenance("fund.coverage_target")
    targets = {TOTAL: p.value.total, LOW_INCOME: p.value.low_income}
    found = []
    for row in ind.coverage:
        bp = targets.get(row.category)
        if bp is None or row.rate is None:
            continue
        threshold = Fraction(bp, BP_ONE)
        if row.rate < threshold:
            name = "参保率" if row.category == TOTAL else "低收入人口参保率"
            found.append(Alert(
                row.region, str(ind.year), f"coverage.{row.category}", BELOW_TARGET, row.rate,
                threshold, "<", *_rule(p),
                f"{name}低于目标 coverage below target: {float(row.rate):.2%} < "
                f"{float(threshold):.0%} ({row.enrolled}/{row.target})"))
    return found


def _ratio_alerts(policy: Policy, ind: Indicators) -> list[Alert]:
    p = policy.resolve(dt.date(ind.year, 12, 31)).provenance("fund.ratio_target")
    target = Fraction(p.value.target, BP_ONE)
    tolerance = Fraction(p.value.tolerance, BP_ONE)
    found = []
    for row in ind.ratios:
        if row.visit_type != "inpatient" or row.facility_level != 0 or row.ratio is None:
            continue
        if abs(row.ratio - target) > tolerance:
            side = "低于" if row.ratio < target else "高于"
            found.append(Alert(
                row.region, str(ind.year), "inpatient_ratio", OFF_TARGET, row.ratio, tolerance,
                f"|x − {float(target):g}| >", *_rule(p),
                f"住院政策范围内报销比例{side}目标 inpatient ratio far from "
                f"{float(target):.0%}: {float(row.ratio):.2%} (± {float(tolerance):.0%})"))
    return found


__all__ = ["ALL", "Alert", "alerts", "months_payable_level"]
