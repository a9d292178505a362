"""The database-specific bulk-write layer: many rows in one statement, upserts, and ids drawn before inserting, on
PostgreSQL and SQLite.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Result, String, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite


def upsert(connection: Connection, row_type: type[Any]) -> Any:
    """The dialect's INSERT, which has on_conflict_do_update / on_conflict_do_nothing."""
    dialect_insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    return dialect_insert(row_type)


def new_ids(connection: Connection, row_type: type[Any], count: int) -> Sequence[int]:
    """`count` ids for new rows of `row_type`, so that rows referring to them are built before any is inserted.

    PostgreSQL draws them from the table's sequence, which concurrent transactions share safely. SQLite takes
    those after the largest id, as it would itself: a SQLite transaction that writes is the only writer, and one
    whose snapshot another has written since is refused at its first write (busy, retried)."""
    if not count:
        return []
    table = row_type.__table__
    if connection.dialect.name == "postgresql":
        sequence = func.pg_get_serial_sequence(table.name, table.c.id.name)
        series = func.generate_series(1, count)
        return sorted(connection.scalars(select(func.nextval(sequence)).select_from(series)))
    largest = connection.scalar(select(func.coalesce(func.max(table.c.id), 0)))
    return range(largest + 1, largest + 1 + count)


def insert_rows(
    connection: Connection,
    row_type: type[Any],
    rows: Sequence[dict[str, Any]],
    finish: Callable[[Any], Any] = lambda statement: statement,
) -> Result[Any] | None:
    """Insert rows, each with the same columns, in one statement per table: the dialect's INSERT, which `finish`
    may give an ON CONFLICT clause or RETURNING. None when there are no rows.

    On PostgreSQL, the rows go as one array per column into `INSERT … SELECT … FROM unnest(…)`, in their order:
    one short statement to parse and one round trip, where psycopg's executemany pays both per row and
    insertmanyvalues sends a statement of thousands of parameters. SQLAlchemy binds each array as its column's
    type, so a TypeDecorator still applies; a string column's array has no length, as a cast to varchar(n)[]
    would cut longer values short where inserting them fails.

    On SQLite, the statement is compiled once and run by the driver's executemany on the rows as tuples, each
    value through its column type's bind processor as Core would: Core's executemany spends most of its time
    building a new dict of parameters per row. A statement returning rows goes through Core (insertmanyvalues)."""
    if not rows:
        return None
    table = row_type.__table__
    columns = list(rows[0])
    dialect = connection.dialect
    if dialect.name == "postgresql":
        arrays = [bindparam(None, [row[name] for row in rows], type_=_array_of(table.c[name].type)) for name in columns]
        source = func.unnest(*arrays).table_valued(*columns).render_derived()
        return connection.execute(finish(postgresql.insert(row_type).from_select(columns, select(*source.c))))
    statement = finish(sqlite.insert(row_type))
    compiled = statement.compile(dialect=dialect, column_keys=columns)
    if compiled.effective_returning:
        return connection.execute(statement, rows)
    keys = compiled.positiontup or []
    processors = [(i, table.c[key].type.dialect_impl(dialect).bind_processor(dialect)) for i, key in enumerate(keys)]
    converted = [(i, processor) for i, processor in processors if processor is not None]
    values_of = itemgetter(*keys) if len(keys) > 1 else lambda row: (row[keys[0]],)
    parameters = [values_of(row) for row in rows]  # tuples built in C: no list per row to convert
    if converted:
        parameters = [_processed(values, converted) for values in parameters]
    connection.exec_driver_sql(compiled.string, parameters)
    return None


def _processed(values: tuple[Any, ...], processors: list[tuple[int, Callable[[Any], Any]]]) -> tuple[Any, ...]:
    processed = list(values)
    for i, processor in processors:
        processed[i] = processor(processed[i])
    return tuple(processed)


def _array_of(column_type: Any) -> postgresql.ARRAY:
    return postgresql.ARRAY(String() if isinstance(column_type, String) else column_type)
