"""基金运行 dashboard and 报表 (the fund report and the what-if form), over ``yibao.fund``.

Figures come from ``yibao.fund`` (indicators, alerts, projection, what-if, the report page
and its Plotly figures) on the store's live postings, through ``fundcache`` so that a page
never waits for the register to be read. Roles: admin, analyst and auditor (the financing
roles, as ``/v1/fund``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import func, select
from starlette.responses import HTMLResponse, Response

from yibao.errors import YibaoError
from yibao.fund import Assumptions, Projection, base_of, project, what_if
from yibao.fund import charts as fund_charts
from yibao.fund.report import render_report
from yibao.fund.whatif import one_change
from yibao.money import BP_ONE, fen_to_yuan, to_fen
from yibao.policy import Policy
from yibao.store.auth import FINANCE_ROLES, require_role
from yibao.store.models import Enrollment
from yibao.web.fundcache import Figures, cache_of
from yibao.web.render import render
from yibao.web.session import ConsoleUser, reader

router = APIRouter()
Year = Annotated[int | None, Query(ge=2000, le=2100)]
Opening = Annotated[str, Query(pattern=r"^(-?\d{1,9}(\.\d{1,2})?)?$")]  # to_fen: ≤ 1e9 yuan
REPLICATES = 200


def _opening(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    return -to_fen(text[1:]) if text.startswith("-") else to_fen(text)


def _figures(request: Request, year: int | None,
             opening: str) -> tuple[int, Figures | None, bool, str]:
    state = request.app.state.yibao
    read = reader(request)
    if year is None:
        with read() as session:
            year = session.scalar(select(func.max(Enrollment.year))) or dt.date.today().year
    figures, current, error = cache_of(request.app.state, state.policy).get(
        read, year, _opening(opening))
    return year, figures, current, error


def thresholds(policy: Policy, year: int) -> tuple[float, float, float]:
    """The months-payable alert bands in force at the end of the year (for the charts)."""
    t = policy.resolve(dt.date(year, 12, 31)).get("fund.alert")
    return float(t.months_danger), float(t.months_warning), float(t.months_excess)


def _summary(f: Figures) -> dict[str, str]:
    ind = f.indicators
    months = [m for m in ind.monthly if m.region == ind.region]
    last = months[-1] if months else None
    total = next((c for c in ind.coverage if c.region == ind.region and c.category == "all"),
                 None)
    return {
        "收入合计": fen_to_yuan(sum(m.income_total for m in months)),
        "支出合计": fen_to_yuan(sum(m.expenditure for m in months)),
        "当期结余": fen_to_yuan(sum(m.current_balance for m in months)),
        "累计结余": "—" if last is None or last.accumulated_balance is None
        else fen_to_yuan(last.accumulated_balance),
        "可支付月数": "—" if last is None or last.months_payable is None
        else f"{float(last.months_payable):.2f}",
        "参保率": "—" if total is None or total.rate is None else f"{float(total.rate):.2%}",
    }


@router.get("/dashboard")
def dashboard(request: Request, user: ConsoleUser, year: Year = None,
              opening_balance: Opening = "") -> Response:
    require_role(user, FINANCE_ROLES, "read fund figures")
    year, f, current, error = _figures(request, year, opening_balance)
    context: dict[str, Any] = {"year": year, "opening": opening_balance, "figures": f,
                               "current": current, "error": error}
    if f is not None:
        policy = request.app.state.yibao.policy
        end = policy.resolve(dt.date(year, 12, 31))
        target, cov = end.get("fund.ratio_target"), end.get("fund.coverage_target")
        ind = f.indicators
        context.update(summary=_summary(f), alerts=f.alerts, charts={
            "balance": fund_charts.balance_figure(ind, thresholds(policy, year)),
            "spending": fund_charts.spending_figure(ind),
            "ratio": fund_charts.ratio_figure(ind, target.target / BP_ONE,
                                              target.tolerance / BP_ONE),
            "coverage": fund_charts.coverage_figure(ind, {"all": cov.total / BP_ONE,
                                                          "low_income": cov.low_income / BP_ONE}),
        }, spending=[r for r in ind.spending if r.region == ind.region],
            ratios=[r for r in ind.ratios if r.region == ind.region and r.facility_level == 0])
    return render(request, "dashboard.html", context)


@router.get("/reports")
def reports(request: Request, user: ConsoleUser, year: Year = None,
            opening_balance: Opening = "",
            key: Annotated[str, Query(max_length=100)] = "",
            value: Annotated[str, Query(max_length=2000)] = "",
            start: dt.date | None = None) -> Response:
    require_role(user, FINANCE_ROLES, "read fund figures")
    year, f, current, error = _figures(request, year, opening_balance)
    policy: Policy = request.app.state.yibao.policy
    keys = [p.key for p in policy.resolve(dt.date(year, 1, 1)).all()]
    context: dict[str, Any] = {"year": year, "opening": opening_balance, "figures": f,
                               "current": current, "error": error, "keys": keys,
                               "form": {"key": key, "value": value,
                                        "start": (start or dt.date(year, 1, 1)).isoformat()},
                               "problems": [], "whatif": None}
    if f is None:
        return render(request, "reports.html", context)
    band = thresholds(policy, year)
    context.update(high_cost=f.indicators.high_cost[:50])
    projections: dict[str, Projection] = {}
    if key and value:
        try:
            changed = one_change(policy, key, value, start or dt.date(year, 1, 1),
                                 "控制台政策调整测算 what-if entered in the console")
            persons, enrollments, claims, _results = f.frames
            w = what_if(f.inputs, f.indicators, changed, persons, enrollments, claims,
                        replicates=REPLICATES, seed=0, baseline=f.baseline)
        except (YibaoError, ValueError) as exc:
            problems = exc.problems if isinstance(exc, YibaoError) else []
            context["problems"] = [{"code": p.code, "message": p.message, "field": p.field,
                                    "record": "what-if"} for p in problems] or [
                {"code": "BAD_VALUE", "message": str(exc), "field": "value", "record": ""}]
        else:
            projections = {"现行政策": w.base_projection, "调整后": w.changed_projection}
            context.update(whatif=w, payer_names=fund_charts.PAYER_NAMES,
                           payers=[c for c in w.payers if c.visit_type == "all"],
                           whatif_chart=fund_charts.whatif_figure(
                               [(c.payer, c.base, c.changed) for c in w.payers
                                if c.visit_type == "all"]))
    if not projections:  # no what-if, or a refused one: the current policy's projection
        projections = {"现行政策": project(base_of(f.indicators, f.inputs), Assumptions(),
                                           replicates=REPLICATES, seed=0)}
    context["projection"] = projections["现行政策"]
    context["projection_chart"] = fund_charts.projection_figure(projections, band)
    return render(request, "reports.html", context)


@router.get("/reports/fund.html")
def fund_report(request: Request, user: ConsoleUser, year: Year = None,
                opening_balance: Opening = "") -> Response:
    """The full fund report (``yibao report fund``'s page, plotly.js inlined) as a download:
    it opens from disk without the console, and its inline scripts stay out of the console's
    Content-Security-Policy."""
    require_role(user, FINANCE_ROLES, "read fund figures")
    year, _f, _current, _error = _figures(request, year, opening_balance)
    # a download waits for the current figures rather than serving stale ones
    f = cache_of(request.app.state, request.app.state.yibao.policy).wait(
        reader(request), year, _opening(opening_balance))
    policy = request.app.state.yibao.policy
    projection = project(base_of(f.indicators, f.inputs), Assumptions(),
                         replicates=REPLICATES, seed=0)
    page = render_report(policy, f.indicators, f.alerts, projection)
    return HTMLResponse(page, headers={
        "Content-Disposition": f'attachment; filename="fund-report-{policy.region}-{year}.html"',
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


__all__ = ["router"]
