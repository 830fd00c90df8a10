"""Finding persons by person id or 身份证号, the full number or a masked one (``*`` hides a digit).

There is no name in the registry (SPEC §4 persons have none), so a search names a person id
(exact, or its beginning) or a 身份证号: exactly, or a pattern such as ``360402********123X``
as printed on a masked page. Every query walks an index: the person id's primary key, or the
``id_number`` index over the range of the pattern's leading digits; the rest of a pattern is
then matched on that range only.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from yibao.store.models import Person

LIMIT = 50
_ID = re.compile(r"^[0-9]{17}[0-9Xx]$")
_PATTERN = re.compile(r"^[0-9Xx*?]{4,18}$")


def _range(column: InstrumentedAttribute[Any], prefix: str) -> list[ColumnElement[bool]]:
    """``column`` starts with ``prefix``, as an index range (LIKE may not use the index)."""
    return [column >= prefix, column < prefix + "\U0010ffff"]


def _like(pattern: str) -> str:
    """An 18-character pattern: each ``*`` one hidden character; a shorter one: ``*`` any run."""
    escaped = pattern.upper().replace("?", "_")
    return escaped.replace("*", "_") if len(pattern) == 18 else escaped.replace("*", "%")


def search_persons(session: Session, query: str) -> list[Person]:
    """Up to LIMIT persons whose id or 身份证号 matches ``query`` (see the module's text)."""
    q = query.strip()
    if not q or len(q) > 64:
        return []
    by_id = select(Person).where(*_range(Person.person_id, q)).order_by(Person.person_id)
    found = {p.person_id: p for p in session.scalars(by_id.limit(LIMIT))}
    if _ID.match(q):
        found.update((p.person_id, p) for p in session.scalars(
            select(Person).where(or_(Person.id_number == q.upper(),
                                     Person.id_number == q.lower())).limit(LIMIT)))
    elif _PATTERN.match(q) and ("*" in q or "?" in q):
        prefix = re.split(r"[*?]", q, maxsplit=1)[0].upper()
        query_ = select(Person).where(Person.id_number.like(_like(q)))
        if prefix:
            query_ = query_.where(*_range(Person.id_number, prefix))
        found.update((p.person_id, p) for p in session.scalars(
            query_.order_by(Person.id_number).limit(LIMIT)))
    return sorted(found.values(), key=lambda p: p.person_id)[:LIMIT]
