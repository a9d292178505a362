"""Reference tables loaded from `etl/reference_data/` the way dbt loads seeds, so that questions can join on them.

A table's rows are made to equal its CSV on every schema upgrade: rows the CSV added or changed are written,
rows it dropped are deleted, and an unchanged CSV writes nothing.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib.resources.abc import Traversable

from sqlalchemy import Connection, Table, delete, insert, select, tuple_, update

from etl.models import CountryRow, EventTypeRow
from etl.resources import REFERENCE_DIR


@dataclass(frozen=True, slots=True)
class Seed:
    """A CSV file and the table it fills; the table's columns are read from the CSV columns of the same name."""

    file_name: str
    table: Table


SEEDS = (
    Seed("event_types.csv", EventTypeRow.__table__),
    Seed("countries.csv", CountryRow.__table__),
)


@dataclass(frozen=True, slots=True)
class SeedChanges:
    table: str
    inserted: int
    updated: int
    deleted: int


def read_seed(seed: Seed, directory: Traversable = REFERENCE_DIR) -> dict[tuple[str, ...], dict[str, str]]:
    """The seed's rows by primary key; CSV columns the table lacks (e.g. `capital`) are left out."""
    columns = seed.table.columns.keys()
    key_columns = [column.name for column in seed.table.primary_key]
    with (directory / seed.file_name).open(encoding="utf-8", newline="") as handle:
        rows = [{name: record[name] for name in columns} for record in csv.DictReader(handle)]
    return {tuple(row[name] for name in key_columns): row for row in rows}


def sync_seed(connection: Connection, seed: Seed, directory: Traversable = REFERENCE_DIR) -> SeedChanges:
    """Make the table hold exactly the seed's rows, writing only the differences."""
    table = seed.table
    key_columns = [column for column in table.primary_key]
    wanted = read_seed(seed, directory)
    stored = {
        tuple(row[column.name] for column in key_columns): dict(row)
        for row in connection.execute(select(table)).mappings()
    }
    added = [row for key, row in wanted.items() if key not in stored]
    changed = [row for key, row in wanted.items() if key in stored and stored[key] != row]
    gone = [key for key in stored if key not in wanted]
    if added:
        connection.execute(insert(table), added)
    for row in changed:
        connection.execute(
            update(table)
            .where(*(column == row[column.name] for column in key_columns))
            .values({name: value for name, value in row.items()})
        )
    if gone:
        connection.execute(delete(table).where(tuple_(*key_columns).in_(gone)))
    return SeedChanges(table.name, len(added), len(changed), len(gone))


def sync_reference_tables(connection: Connection, directory: Traversable = REFERENCE_DIR) -> list[SeedChanges]:
    """Load every seed into its table, in the caller's transaction."""
    return [sync_seed(connection, seed, directory) for seed in SEEDS]
