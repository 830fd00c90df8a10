"""Persistence: SQLAlchemy models, migrations, import and the online settlement service."""
