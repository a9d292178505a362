"""Alembic migrations for newsetl's schema; `etl.database` runs them programmatically (no alembic.ini)."""
