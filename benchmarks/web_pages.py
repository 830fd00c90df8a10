"""Console page times on a store (default: the demo city, ``make demo``): each page requested
``--repeat`` times in-process (FastAPI TestClient, so no network), median and worst in ms.

    python benchmarks/web_pages.py --database-url sqlite:///demo/yibao.db

Adds the users ``bench-admin`` and ``bench-clerk`` (at the facility with the most claims) if
missing; times the pages of the facility's latest settled inpatient claim (``make demo`` posts
the year with ``yibao post``, so its page shows the breakdown and explanation). Nothing is
settled or reversed: the store is left as it was, but for the two users.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
import warnings

from sqlalchemy import exists, func, select

from yibao.api import create_app
from yibao.api.app import warm_up
from yibao.store.auth import add_user
from yibao.store.models import Claim, Person, Posting, User

warnings.filterwarnings("ignore")
from fastapi.testclient import TestClient  # noqa: E402

SECRET = "bench-secret-1"
CSRF = re.compile(r'name="csrf" value="([^"]*)"')


def logged_in(app: object, username: str) -> TestClient:
    client = TestClient(app)  # type: ignore[arg-type]
    page = client.get("/console/login")
    token = CSRF.search(page.text)
    assert token is not None
    r = client.post("/console/login", data={"username": username, "secret": SECRET,
                                            "csrf": token.group(1)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return client


def timed(client: TestClient, method: str, path: str, repeat: int,
          data: dict[str, str] | None = None) -> tuple[float, float, int]:
    times = []
    status = 0
    for _ in range(repeat):
        start = time.perf_counter()
        r = client.request(method, path, data=data, follow_redirects=False)
        times.append((time.perf_counter() - start) * 1000)
        status = r.status_code
    return statistics.median(times), max(times), status


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="sqlite:///demo/yibao.db")
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    app = create_app(args.database_url, "360400")
    state = app.state.yibao
    warm_up(state)  # as the server's start-up does, before it listens
    with state.sessions.begin() as s:
        facility = s.execute(select(Claim.facility_id, func.count()).group_by(Claim.facility_id)
                             .order_by(func.count().desc()).limit(1)).one()[0]
        if s.get(User, "bench-admin") is None:
            add_user(s, "bench-admin", "admin", SECRET)
            add_user(s, "bench-clerk", "clerk", SECRET, facility)
        claim = s.scalars(select(Claim).where(Claim.facility_id == facility,
                                              Claim.visit_type == "inpatient",
                                              exists().where(Posting.claim_id == Claim.claim_id))
                          .order_by(Claim.settle_date.desc())).first()
        assert claim is not None
        person = s.get(Person, claim.person_id)
        assert person is not None
        n_persons = s.scalar(select(func.count()).select_from(Person))
        n_claims = s.scalar(select(func.count()).select_from(Claim))
    admin, clerk = logged_in(app, "bench-admin"), logged_in(app, "bench-clerk")
    masked = (person.id_number or "")[:6] + "********" + (person.id_number or "")[-4:]
    csrf = CSRF.search(clerk.get("/console/").text)
    assert csrf is not None
    form = {"csrf": csrf.group(1)}
    pages = [
        (admin, "GET", "/console/", None),
        (clerk, "GET", "/console/", None),
        (admin, "GET", f"/console/persons?q={person.person_id[:-2]}", None),
        (admin, "GET", f"/console/persons?q={masked}", None),
        (admin, "GET", f"/console/persons?q={person.id_number}", None),
        (admin, "GET", f"/console/persons/{person.person_id}", None),
        (clerk, "GET", "/console/settlements", None),
        (admin, "GET", "/console/settlements?status=settled", None),
        (clerk, "GET", f"/console/settlements/{claim.claim_id}", None),
        (clerk, "POST", f"/console/settlements/{claim.claim_id}/preview", form),
        (admin, "GET", "/console/policy", None),
        (admin, "GET", "/console/policy?region=360400&date=2023-06-30&region_b=150000", None),
        (admin, "GET", "/console/import", None),
    ]
    fund = "year=2023&opening_balance=35000000"
    whatif = "&key=major.cap&value=500000&start=2023-01-01"
    start = time.perf_counter()
    while True:
        page = admin.get(f"/console/dashboard?{fund}").text
        if "正在计算" not in page and "重新计算" not in page:
            break
        time.sleep(0.05)
    computed = time.perf_counter() - start
    pages += [(admin, "GET", f"/console/dashboard?{fund}", None),
              (admin, "GET", f"/console/reports?{fund}", None),
              (admin, "GET", f"/console/reports?{fund}{whatif}", None)]
    print(f"fund figures computed in the background in {computed:.2f} s (first dashboard visit)")
    print(f"store: {n_persons:,} persons, {n_claims:,} claims; {args.repeat} requests each")
    print(f"{'page':<72} {'median ms':>9} {'max ms':>8} status")
    for client, method, path, data in pages:
        median, worst, status = timed(client, method, path, args.repeat, data)
        shown = path.replace(person.id_number or "-", "<身份证号>")
        print(f"{(method + ' ' + shown)[:72]:<72} {median:9.1f} {worst:8.1f} {status}")
    state.engine.dispose()


if __name__ == "__main__":
    main()
