"""an index on the audit log by target, for the login lockout

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 04:50:00

A login reads the username's latest login entries of the audit log
(``yibao.store.auth.locked_out``); the log also holds one entry per settlement, so without an
index by target that read would scan it.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_log_target_id", "audit_log", ["target", "id"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_target_id", table_name="audit_log")
