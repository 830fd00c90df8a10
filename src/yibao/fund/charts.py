"""Plotly figures of the fund report, as plain figure dicts (data + layout) for plotly.js.

Money is charted in 万元 (10 000 yuan) — a chart's scale, not a stored figure; tables show the
exact yuan. Alert bands are shapes on the months-payable axis: below months_danger red,
below months_warning amber, above months_excess blue.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from yibao.fund.alerts import Alert
from yibao.fund.monitoring import Indicators
from yibao.fund.projection import Projection

Figure = dict[str, Any]
VISIT_NAMES = {"inpatient": "住院", "outpatient": "普通门诊", "chronic": "门诊慢特病",
               "maternity": "生育", "all": "合计"}
PAYER_NAMES = {"basic": "基本医保统筹基金", "major": "大病保险", "assistance": "医疗救助",
               "oop": "个人自付", "total": "医疗总费用"}
_FONT = {"family": "Noto Sans CJK SC, Microsoft YaHei, sans-serif", "size": 13}


def wan(fen: int) -> float:
    return round(fen / 1_000_000, 2)


def _f(x: Fraction | None, digits: int = 2) -> float | None:
    return None if x is None else round(float(x), digits)


def _layout(title: str, **more: Any) -> dict[str, Any]:
    return {"title": {"text": title}, "font": _FONT, "margin": {"t": 50, "l": 60, "r": 60},
            "legend": {"orientation": "h"}, **more}


def bands(danger: float, warning: float, excess: float, top: float, bottom: float,
          yref: str = "y2") -> list[dict[str, Any]]:
    """Shaded alert bands on the months-payable axis."""
    def band(y0: float, y1: float, color: str) -> dict[str, Any]:
        return {"type": "rect", "xref": "paper", "x0": 0, "x1": 1, "yref": yref, "y0": y0,
                "y1": y1, "fillcolor": color, "opacity": 0.12, "line": {"width": 0},
                "layer": "below"}
    return [band(min(bottom, 0), danger, "red"), band(danger, warning, "orange"),
            band(excess, max(top, excess + 1), "blue")]


def balance_figure(ind: Indicators, thresholds: tuple[float, float, float]) -> Figure:
    rows = [m for m in ind.monthly if m.region == ind.region]
    x = [f"{ind.year}-{m.month:02d}" for m in rows]
    months = [_f(m.months_payable) for m in rows]
    shown = [v for v in months if v is not None] or [0.0]
    data = [
        {"type": "bar", "name": "当期结余 (万元)", "x": x,
         "y": [wan(m.current_balance) for m in rows], "marker": {"color": "#9ecae1"}},
        {"type": "scatter", "mode": "lines+markers", "name": "累计结余 (万元)", "x": x,
         "y": [None if m.accumulated_balance is None else wan(m.accumulated_balance)
               for m in rows], "line": {"color": "#3182bd"}},
        {"type": "scatter", "mode": "lines+markers", "name": "可支付月数", "x": x, "y": months,
         "yaxis": "y2", "line": {"color": "#d62728", "dash": "dot"}},
    ]
    return {"data": data, "layout": _layout(
        "基金收支、累计结余与可支付月数 (按月)",
        yaxis={"title": {"text": "万元"}},
        yaxis2={"title": {"text": "可支付月数"}, "overlaying": "y", "side": "right"},
        shapes=bands(*thresholds, top=max(shown) + 1, bottom=min(shown) - 1))}


def projection_figure(projections: dict[str, Projection],
                      thresholds: tuple[float, float, float]) -> Figure:
    data: list[dict[str, Any]] = []
    everything: list[float] = []
    colors = ["#d62728", "#2ca02c"]
    for (name, p), color in zip(projections.items(), colors, strict=False):
        x = [str(y.year) for y in p.years]
        central = [_f(y.months_payable) for y in p.years]
        low = [_f(y.months_low) for y in p.years]
        high = [_f(y.months_high) for y in p.years]
        everything += [v for v in central + low + high if v is not None]
        data += [
            {"type": "scatter", "mode": "lines", "x": x, "y": high, "line": {"width": 0},
             "showlegend": False, "hoverinfo": "skip"},
            {"type": "scatter", "mode": "lines", "x": x, "y": low, "fill": "tonexty",
             "fillcolor": "rgba(120,120,120,0.2)", "line": {"width": 0},
             "name": f"{name} 区间 (重抽样)"},
            {"type": "scatter", "mode": "lines+markers", "x": x, "y": central,
             "name": f"{name} 可支付月数", "line": {"color": color}},
        ]
    everything = everything or [0.0]
    return {"data": data, "layout": _layout(
        "可支付月数预测 (年末)", yaxis={"title": {"text": "可支付月数"}},
        shapes=bands(*thresholds, top=max(everything) + 1, bottom=min(everything) - 1,
                     yref="y"))}


def spending_figure(ind: Indicators) -> Figure:
    rows = [r for r in ind.spending if r.region == ind.region and r.visit_type != "all"]
    x = [VISIT_NAMES.get(r.visit_type, r.visit_type) for r in rows]
    data = [{"type": "bar", "name": PAYER_NAMES[p], "x": x,
             "y": [wan(getattr(r, p)) for r in rows]}
            for p in ("basic", "major", "assistance", "oop")]
    return {"data": data, "layout": _layout("支出结构: 按支付方与就诊类型 (万元)",
                                            barmode="stack", yaxis={"title": {"text": "万元"}})}


def ratio_figure(ind: Indicators, target: float, tolerance: float) -> Figure:
    rows = [r for r in ind.ratios if r.region == ind.region and r.visit_type != "all"]
    data = []
    for level in (0, 1, 2, 3):
        of_level = [r for r in rows if r.facility_level == level]
        data.append({"type": "bar", "name": "全部机构" if level == 0 else f"{level}级机构",
                     "x": [VISIT_NAMES.get(r.visit_type, r.visit_type) for r in of_level],
                     "y": [_f(r.ratio, 4) for r in of_level]})
    shapes = [
        {"type": "rect", "xref": "paper", "x0": 0, "x1": 1, "y0": target - tolerance,
         "y1": target + tolerance, "fillcolor": "green", "opacity": 0.1, "line": {"width": 0}},
        {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": target, "y1": target,
         "line": {"color": "green", "dash": "dash"}},
    ]
    return {"data": data, "layout": _layout(
        f"政策范围内报销比例 (目标 {target:.0%} ± {tolerance:.0%})", barmode="group",
        yaxis={"tickformat": ".0%", "range": [0, 1]}, shapes=shapes)}


def coverage_figure(ind: Indicators, targets: dict[str, float]) -> Figure:
    rows = [r for r in ind.coverage if r.region == ind.region and r.rate is not None]
    data: list[dict[str, Any]] = [
        {"type": "bar", "name": "参保率", "x": [r.category for r in rows],
         "y": [_f(r.rate, 4) for r in rows], "marker": {"color": "#6baed6"}},
        {"type": "scatter", "mode": "markers", "name": "目标",
         "x": [r.category for r in rows if r.category in targets],
         "y": [targets[r.category] for r in rows if r.category in targets],
         "marker": {"symbol": "line-ew-open", "size": 30, "color": "red"}},
    ]
    return {"data": data, "layout": _layout("参保率: 按人员类别 (对照目标人口)",
                                            yaxis={"tickformat": ".0%", "range": [0.8, 1.02]})}


def whatif_figure(changes: list[tuple[str, int, int]]) -> Figure:
    """(payer, base, changed) of all visit types."""
    x = [PAYER_NAMES.get(p, p) for p, _, _ in changes]
    data = [{"type": "bar", "name": "现行政策", "x": x, "y": [wan(b) for _, b, _ in changes]},
            {"type": "bar", "name": "调整后", "x": x, "y": [wan(c) for _, _, c in changes]}]
    return {"data": data, "layout": _layout("政策调整前后: 各支付方金额 (万元)",
                                            barmode="group")}


def alert_count(alerts: list[Alert]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for a in alerts:
        counts[a.level] = counts.get(a.level, 0) + 1
    return counts
