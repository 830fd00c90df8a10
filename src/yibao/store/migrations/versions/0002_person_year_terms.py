"""person-year terms kept for online settlement, and the years settled

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 18:40:00

``person_year_terms`` holds each person-year's benefit start and effective major-illness cap
as the engine worked them out, so that online settlement reads them with the accumulators
instead of rebuilding the person's history for every claim. Triggers forget (delete) a row
whenever what it was worked out from changes: the person, any of their enrolments or a posting
of an earlier year of theirs. ``settled_years`` lists the years the store holds postings for
(a settled year counts as a zero-claim year for everyone): a row also records how many years
before its own were settled when it was worked out, and is taken only while that still holds.

On PostgreSQL the forgetting and the working-out exclude each other through advisory locks
(see ``yibao.store.terms``): a row worked out from data that a concurrent transaction was
changing would otherwise outlive the change.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

#: Advisory lock keys (two int4 keys): (PERSON_LOCK, hashtext(person_id)) for one person's
#: terms, (ALL_LOCK, 0) for everyone's. Mirrored in yibao.store.terms.
PERSON_LOCK, ALL_LOCK = 0x79620001, 0x79620002

_PG_FUNCTIONS = f"""
CREATE FUNCTION yibao_forget_terms_of_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock({ALL_LOCK}, 0);
    DELETE FROM person_year_terms AS t USING (SELECT DISTINCT person_id FROM changed) AS c
     WHERE t.person_id = c.person_id;
    RETURN NULL;
END $$;
CREATE FUNCTION yibao_posting_forgets_terms() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock({PERSON_LOCK}, hashtext(NEW.person_id));
    IF NOT EXISTS (SELECT 1 FROM settled_years WHERE year = NEW.year) THEN
        INSERT INTO settled_years (year) VALUES (NEW.year) ON CONFLICT DO NOTHING;
    END IF;
    DELETE FROM person_year_terms WHERE person_id = NEW.person_id AND year > NEW.year;
    RETURN NULL;
END $$;
"""

# (table, event, transition table) of the statement-level triggers on PostgreSQL
_PG_TRIGGERS = [("persons", "UPDATE", "OLD"), ("persons", "DELETE", "OLD"),
                ("enrollments", "INSERT", "NEW"), ("enrollments", "UPDATE", "OLD"),
                ("enrollments", "UPDATE", "NEW"), ("enrollments", "DELETE", "OLD")]

_SQLITE_TRIGGERS = {
    "persons_update_forgets_terms": "AFTER UPDATE ON persons BEGIN DELETE FROM "
    "person_year_terms WHERE person_id IN (OLD.person_id, NEW.person_id); END",
    "persons_delete_forgets_terms": "AFTER DELETE ON persons BEGIN DELETE FROM "
    "person_year_terms WHERE person_id = OLD.person_id; END",
    "enrollments_insert_forgets_terms": "AFTER INSERT ON enrollments BEGIN DELETE FROM "
    "person_year_terms WHERE person_id = NEW.person_id; END",
    "enrollments_update_forgets_terms": "AFTER UPDATE ON enrollments BEGIN DELETE FROM "
    "person_year_terms WHERE person_id IN (OLD.person_id, NEW.person_id); END",
    "enrollments_delete_forgets_terms": "AFTER DELETE ON enrollments BEGIN DELETE FROM "
    "person_year_terms WHERE person_id = OLD.person_id; END",
    "postings_insert_forgets_terms": "AFTER INSERT ON postings BEGIN "
    "INSERT OR IGNORE INTO settled_years (year) VALUES (NEW.year); "
    "DELETE FROM person_year_terms WHERE person_id = NEW.person_id AND year > NEW.year; END",
}


def _pg_trigger_name(table: str, event: str, which: str) -> str:
    return f"{table}_{event.lower()}_{which.lower()}_forgets_terms"


def upgrade() -> None:
    op.create_table(
        "person_year_terms",
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("policy", sa.String(length=64), nullable=False),
        sa.Column("benefit_start", sa.Date(), nullable=True),
        sa.Column("major_cap", sa.BigInteger(), nullable=True),
        sa.Column("settled_before", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("person_id", "year", "policy"),
    )
    op.create_table(
        "settled_years",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("year"),
    )
    op.execute("INSERT INTO settled_years (year) SELECT DISTINCT year FROM postings")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTIONS)
        for table, event, which in _PG_TRIGGERS:
            op.execute(
                f"CREATE TRIGGER {_pg_trigger_name(table, event, which)} AFTER {event} ON "
                f"{table} REFERENCING {which} TABLE AS changed FOR EACH STATEMENT "
                "EXECUTE FUNCTION yibao_forget_terms_of_changed()")
        op.execute("CREATE TRIGGER postings_insert_forgets_terms AFTER INSERT ON postings "
                   "FOR EACH ROW EXECUTE FUNCTION yibao_posting_forgets_terms()")
        return
    for name, body in _SQLITE_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, event, which in _PG_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {_pg_trigger_name(table, event, which)} "
                       f"ON {table}")
        op.execute("DROP TRIGGER IF EXISTS postings_insert_forgets_terms ON postings")
        op.execute("DROP FUNCTION IF EXISTS yibao_forget_terms_of_changed()")
        op.execute("DROP FUNCTION IF EXISTS yibao_posting_forgets_terms()")
    else:
        for name in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("settled_years")
    op.drop_table("person_year_terms")
