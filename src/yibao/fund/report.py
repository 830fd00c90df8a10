"""The fund report (基金运行监测报告): one self-contained HTML page in Chinese — Jinja2
templates under ``templates/``, Plotly charts drawn by the plotly.js bundled in the
``plotly`` package, inlined, so the page needs no network (内网可用).
"""

from __future__ import annotations

import datetime as dt
import json
from fractions import Fraction
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from yibao.fund import charts
from yibao.fund.alerts import Alert
from yibao.fund.jsonable import decimal_text
from yibao.fund.monitoring import Indicators
from yibao.fund.projection import Projection
from yibao.fund.whatif import WhatIf
from yibao.money import BP_ONE
from yibao.policy import Policy

LEVEL_NAMES = {"danger": "危险", "warning": "预警", "excess": "结余过多",
               "below_target": "低于目标", "off_target": "偏离目标"}
CATEGORY_NAMES = {
    "all": "全体", "low_income": "低收入人口", "tekun": "特困", "dibao": "低保",
    "fanpin": "返贫致贫", "monitor": "防返贫监测", "dibao_edge": "低保边缘",
    "illness_poverty": "因病致贫", "student": "学生", "newborn": "新生儿",
    "residence_permit": "持居住证",
}


def yuan(fen: int | None) -> str:
    """Fen as yuan with thousands separators: 123456789 → '1,234,567.89'."""
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def percent(x: Fraction | None) -> str:
    return "—" if x is None else decimal_text(x * 100, 2) + "%"


def months(x: Fraction | None) -> str:
    return "—" if x is None else decimal_text(x, 2)


@cache
def _env() -> Environment:
    env = Environment(loader=PackageLoader("yibao.fund", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=True,
                      lstrip_blocks=True)
    env.filters.update(yuan=yuan, percent=percent, months=months,
                       visit=lambda v: charts.VISIT_NAMES.get(v, v),
                       payer=lambda p: charts.PAYER_NAMES.get(p, p),
                       level=lambda v: LEVEL_NAMES.get(v, v),
                       category=lambda c: CATEGORY_NAMES.get(c, c),
                       bp=lambda bp: percent(Fraction(bp, BP_ONE)))
    env.globals["zip"] = zip
    return env


@cache
def plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    js: str = get_plotlyjs()
    return js


def _script_json(figure: dict[str, Any]) -> str:
    """JSON safe inside a <script> element."""
    return (json.dumps(figure, ensure_ascii=False).replace("</", "<\\/")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def render_report(policy: Policy, ind: Indicators, alerts: list[Alert],
                  projection: Projection, whatif: WhatIf | None = None, *,
                  generated: dt.datetime | None = None) -> str:
    """The report page as a string (write it with ``encoding='utf-8'``)."""
    end = policy.resolve(dt.date(ind.year, 12, 31))
    t = end.get("fund.alert")
    thresholds = (float(t.months_danger), float(t.months_warning), float(t.months_excess))
    ratio_target = end.get("fund.ratio_target")
    cov = end.get("fund.coverage_target")
    figures = {
        "balance": charts.balance_figure(ind, thresholds),
        "spending": charts.spending_figure(ind),
        "ratio": charts.ratio_figure(ind, ratio_target.target / BP_ONE,
                                     ratio_target.tolerance / BP_ONE),
        "coverage": charts.coverage_figure(ind, {"all": cov.total / BP_ONE,
                                                 "low_income": cov.low_income / BP_ONE}),
    }
    projections = {"现行政策": projection}
    if whatif is not None:
        projections = {"现行政策": whatif.base_projection, "调整后": whatif.changed_projection}
        figures["whatif"] = charts.whatif_figure([
            (c.payer, c.base, c.changed) for c in whatif.payers if c.visit_type == "all"])
    figures["projection"] = charts.projection_figure(projections, thresholds)
    fraction, income = end.get("fund.alert").high_cost_fraction, end.get(
        "region.disposable_income")
    return _env().get_template("report.html.j2").render(
        policy=policy, ind=ind, alerts=alerts, projection=projection, whatif=whatif,
        thresholds=thresholds, ratio_target=ratio_target, coverage_target=cov,
        high_cost_fraction=Fraction(fraction, BP_ONE), disposable_income=income,
        counts=charts.alert_count(alerts), region_months=[
            m for m in ind.monthly if m.region == ind.region],
        county_last=[m for m in ind.monthly if m.region != ind.region and m.month == 12],
        plotly_js=plotly_js(), figures={k: _script_json(v) for k, v in figures.items()},
        generated=(generated or dt.datetime.now()).strftime("%Y-%m-%d %H:%M"),
        provenance=[end.provenance(k) for k in ("fund.alert", "fund.coverage_target",
                                                "fund.ratio_target", "region.disposable_income")])
