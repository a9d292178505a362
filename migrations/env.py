"""Alembic environment: migrate the connection handed over by `etl.database`, or the configured URL.

SQLite cannot alter most of a table in place, so it migrates in batch mode (copy and rebuild), which the
naming convention on `Base.metadata` makes reliable.
"""

from alembic import context
from sqlalchemy import Connection

from etl.database import create_engine_for
from etl.models import Base


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    engine = create_engine_for(context.config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as connection:
            run_migrations(connection)
    finally:
        engine.dispose()


run_migrations_online()
