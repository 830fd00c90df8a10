"""政策参数 page: a region's parameters in force on a date, with the region each was inherited
from, its start and its source; optionally side by side with another region or date, the
differing parameters marked. The figures are the API's (``GET /v1/policies/{region}``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from yibao.api.models import Parameter, PolicyOut
from yibao.api.policies import policy as api_policy
from yibao.policy.loader import shipped_regions
from yibao.web.render import render
from yibao.web.session import ConsoleUser

router = APIRouter()
Region = Annotated[str, Query(pattern=r"^\d{6}$")]


def compare(a: PolicyOut, b: PolicyOut | None) -> list[dict[str, Any]]:
    """One row per parameter key of either side; ``differs`` when the values are not equal
    (a parameter present on one side only differs too)."""
    left = {p.key: p for p in a.parameters}
    right: dict[str, Parameter] = {p.key: p for p in b.parameters} if b is not None else {}
    keys = sorted(left.keys() | right.keys())
    rows = []
    for key in keys:
        pa, pb = left.get(key), right.get(key)
        differs = b is not None and (pa is None or pb is None or pa.value != pb.value)
        rows.append({"key": key, "a": pa, "b": pb, "differs": differs})
    return rows


@router.get("/policy")
def policy_page(request: Request, user: ConsoleUser, region: Region | None = None,
                date: dt.date | None = None, region_b: Region | None = None,
                date_b: dt.date | None = None) -> Response:
    default = request.app.state.yibao.policy.region
    on = date or dt.date.today()
    a = api_policy(region or default, user, on)
    b = None
    if region_b or date_b:
        b = api_policy(region_b or a.region, user, date_b or on)
    return render(request, "policy.html", {
        "a": a, "b": b, "rows": compare(a, b), "regions": shipped_regions(),
        "form": {"region": a.region, "date": on.isoformat(),
                 "region_b": region_b or "", "date_b": date_b.isoformat() if date_b else ""},
        "n_diff": sum(r["differs"] for r in compare(a, b))})
