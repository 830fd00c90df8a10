"""Fund monitoring, alerts and projection (基金运行监测、预警与精算预测, SPEC §7).

The stable interface a dashboard calls — every result is a dataclass of fen and exact
Fractions; ``to_json`` turns any of them into JSON (yuan strings, 4-place decimals):

- ``from_frames(policy, year, persons, enrollments, claims, results, targets=, opening=)``
  → ``FundInputs`` (batch files); ``store_inputs(session, policy, year)`` (the database).
- ``indicators(inputs)`` → ``Indicators``: monthly accounts per region and county,
  spending by payer and visit type, ratios by visit type and level, coverage, high-cost list.
- ``alerts(policy, indicators)`` → ``list[Alert]``.
- ``base_of(indicators, inputs)`` and ``project(base, Assumptions(...))`` → ``Projection``.
- ``load_change(policy, path)`` and ``what_if(...)`` → ``WhatIf``.
- ``render_report(...)`` → the HTML page.
"""

from yibao.fund.alerts import Alert, alerts
from yibao.fund.inputs import FundInputs, from_frames, read_targets
from yibao.fund.jsonable import to_json
from yibao.fund.monitoring import Indicators, indicators
from yibao.fund.projection import Assumptions, Projection, base_of, project
from yibao.fund.whatif import WhatIf, load_change, what_if

__all__ = [
    "Alert",
    "Assumptions",
    "FundInputs",
    "Indicators",
    "Projection",
    "WhatIf",
    "alerts",
    "base_of",
    "from_frames",
    "indicators",
    "load_change",
    "project",
    "read_targets",
    "to_json",
    "what_if",
]
