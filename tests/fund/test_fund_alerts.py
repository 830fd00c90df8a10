"""Alerts fire exactly as SPEC §7 words them: months payable ``< danger``, ``< warning``,
``> excess``; coverage ``<`` its target; the inpatient ratio further from 70% than the
tolerance (``>``). A figure exactly at a threshold fires nothing there. Thresholds are the
shipped 360400 ones: 3 / 6 / 12 months, coverage 95% (99% low-income), ratio 70% ± 5%."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import pytest
from fund_year import Y, claims, enrollments, persons, results, targets

from yibao.fund import Indicators, alerts, from_frames, indicators
from yibao.fund.alerts import months_payable_level
from yibao.fund.monitoring import CoverageRow, RatioRow
from yibao.policy import load_policy

POLICY = load_policy("360400")
F = Fraction
D, W, E = F(3), F(6), F(12)


@pytest.mark.parametrize(("months", "level"), [
    (F(29999, 10000), "danger"), (F(3), "warning"), (F(59999, 10000), "warning"),
    (F(6), None), (F(12), None), (F(120001, 10000), "excess"), (F(-1), "danger")])
def test_months_payable_at_and_around_thresholds(months: Fraction, level: str | None) -> None:
    assert months_payable_level(months, D, W, E) == level


@pytest.fixture(scope="module")
def ind() -> Indicators:
    return indicators(from_frames(POLICY, 2023, persons(), enrollments(), claims(), results(),
                                  targets=targets(), opening={"360400": 100000 * Y}))


def _only(ind: Indicators, **changes: object) -> Indicators:
    return replace(ind, monthly=[], **changes)  # type: ignore[arg-type]


def test_months_payable_alert_names_rule_and_source(ind: Indicators) -> None:
    month = [m for m in ind.monthly if m.region == "360400"][-1]
    exactly = [replace(month, months_payable=F(3))]
    [alert] = alerts(POLICY, replace(ind, monthly=exactly, coverage=[], ratios=[]))
    assert (alert.level, alert.figure, alert.threshold) == ("warning", F(3), F(6))
    assert alert.rule == "fund.alert" and alert.rule_region == "360400"
    assert "九府办发〔2023〕6号" in alert.source and alert.period == "2023-12"
    at_six = [replace(month, months_payable=F(6))]
    assert alerts(POLICY, replace(ind, monthly=at_six, coverage=[], ratios=[])) == []


def test_coverage_exactly_at_target_does_not_fire(ind: Indicators) -> None:
    rows = [CoverageRow("360400", "all", 95, 100, F(95, 100)),
            CoverageRow("360402", "all", 9499, 10000, F(9499, 10000)),
            CoverageRow("360403", "low_income", 99, 100, F(99, 100)),
            CoverageRow("360404", "low_income", 98, 100, F(98, 100))]
    found = alerts(POLICY, _only(ind, coverage=rows, ratios=[]))
    assert [(a.region, a.indicator, a.threshold) for a in found] == [
        ("360402", "coverage.all", F(95, 100)), ("360404", "coverage.low_income", F(99, 100))]
    assert all(a.rule == "fund.coverage_target" for a in found)


def test_ratio_exactly_at_tolerance_does_not_fire(ind: Indicators) -> None:
    def row(region: str, bp: int) -> RatioRow:
        return RatioRow(region, "inpatient", 0, 1, 10000, bp, F(bp, 10000))
    rows = [row("360401", 6500), row("360402", 7500), row("360403", 6499), row("360404", 7501),
            replace(row("360405", 5000), visit_type="outpatient")]
    found = alerts(POLICY, _only(ind, coverage=[], ratios=rows))
    assert [a.region for a in found] == ["360403", "360404"]
    assert found[0].rule == "fund.ratio_target" and "医保发〔2023〕24号" in found[0].source


def test_hand_worked_year_alerts(ind: Indicators) -> None:
    found = {(a.region, a.indicator, a.level) for a in alerts(POLICY, ind)}
    # coverage 3/4 and 1/2 are below 95%; 360402 (2/2) is not; low-income 1/1 is not
    assert ("360400", "coverage.all", "below_target") in found
    assert ("360403", "coverage.all", "below_target") in found
    assert not any(r == "360402" and i == "coverage.all" for r, i, _ in found)
    # inpatient ratio 25000/39000 = 64.1% is more than 5 points below 70%
    assert ("360400", "inpatient_ratio", "off_target") in found
