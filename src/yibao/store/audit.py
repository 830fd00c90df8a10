"""The append-only audit log: who wrote what, and who saw an unmasked 身份证号."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from yibao.store.models import AuditEntry


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def entry(username: str, action: str, target: str,
          detail: dict[str, Any] | None = None) -> dict[str, Any]:
    """An audit log row's values, for an INSERT sent along with the write it logs."""
    return {"at": now(), "username": username, "action": action, "target": target,
            "detail": detail or {}}


def audit(session: Session, username: str, action: str, target: str,
          detail: dict[str, Any] | None = None) -> None:
    """Add an entry to the session's transaction (it lands or fails with the write it logs)."""
    session.add(AuditEntry(**entry(username, action, target, detail)))
