"""Results as files: a query's rows streamed to CSV, JSON or Parquet, and the main tables and views exported for
pandas, DuckDB or a BI tool (the `query --output` and `export` commands' library side)."""

from __future__ import annotations

import csv
import importlib.util
import json
from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

import pandas as pd
from sqlalchemy import Engine, MetaData, Select, Table, select

from etl.errors import InputError
from etl.models import ArticleRow, EventRow
from etl.query import QueryStream
from etl.stored_articles import published_in

# Tables and views `export` writes. Entities, reference tables and run records are written whole; the rest hold
# only the rows of articles published in the requested range.
WHOLE = ("runs", "rejected_files", "entities", "entity_aliases", "event_types", "countries", "actor_dyads")
BY_ARTICLE = ("articles", "mentions", "events", "counted_events", "article_overview", "event_facts")
BY_EVENT = ("event_participants",)
BY_CLUSTER = ("event_clusters", "event_cluster_facts")  # the clusters that an article in the range reports
BY_DAY = ("entity_daily_mentions",)


class FileFormat(StrEnum):
    csv = "csv"
    json = "json"
    parquet = "parquet"


def require_parquet() -> None:
    """Fail before any work when Parquet cannot be written."""
    if importlib.util.find_spec("pyarrow") is None:
        raise InputError("Parquet output needs the pyarrow package, which is not installed: use --format csv")


def json_value(value: Any) -> Any:
    """JSON for the values SQL returns beyond str, int, float and None: dates, times, decimals, bytes."""
    if isinstance(value, date | datetime | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot write a {type(value).__name__} as JSON")


def write_csv(stream: QueryStream, file: IO[str]) -> int:
    """Write a header and the rows, chunk by chunk; null is an empty field. Returns the rows written."""
    writer = csv.writer(file, lineterminator="\n")
    writer.writerow(stream.columns)
    written = 0
    for chunk in stream.chunks:
        writer.writerows(chunk)
        written += len(chunk)
    return written


def write_json(stream: QueryStream, file: IO[str]) -> int:
    """Write one JSON array of objects, one object at a time. Returns the rows written."""
    file.write("[")
    written = 0
    for chunk in stream.chunks:
        for row in chunk:
            record = dict(zip(stream.columns, row, strict=True))
            file.write((", " if written else "") + json.dumps(record, ensure_ascii=False, default=json_value))
            written += 1
    file.write("]\n")
    return written


def write_parquet(stream: QueryStream, path: Path) -> int:
    """Write a Parquet file one row group per chunk (needs pyarrow). Returns the rows written."""
    require_parquet()
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer: Any = None
    written = 0
    try:
        for chunk in stream.chunks:
            batch = pa.Table.from_pylist([dict(zip(stream.columns, row, strict=True)) for row in chunk])
            if writer is None:
                writer = pq.ParquetWriter(path, batch.schema)
            writer.write_table(batch.cast(writer.schema))
            written += len(chunk)
        if writer is None:  # no rows: the columns alone
            pq.write_table(pa.table({name: pa.array([], pa.null()) for name in stream.columns}), path)
    finally:
        if writer is not None:
            writer.close()
    return written


def export_tables(
    engine: Engine,
    output_dir: Path,
    file_format: FileFormat,
    since: date | None = None,
    until: date | None = None,
    chunk_rows: int = 50_000,
) -> dict[str, Path]:
    """Write each main table and view to `<output_dir>/<name>.<format>`, limited to articles published from
    `since` to `until` (both included) where a row belongs to an article. Returns the files by name."""
    if file_format is FileFormat.json:
        raise InputError("export writes csv or parquet")
    if file_format is FileFormat.parquet:
        require_parquet()
    output_dir.mkdir(parents=True, exist_ok=True)
    metadata = MetaData()
    written: dict[str, Path] = {}
    with engine.connect() as connection:
        for name in (*WHOLE, *BY_ARTICLE, *BY_EVENT, *BY_CLUSTER, *BY_DAY):
            table = Table(name, metadata, autoload_with=connection)
            path = output_dir / f"{name}.{file_format}"
            frames = pd.read_sql(
                _rows_in_range(table, since, until), connection, chunksize=chunk_rows, dtype_backend="numpy_nullable"
            )
            _write_frames(frames, path, file_format)
            written[name] = path
    return written


def _rows_in_range(table: Table, since: date | None, until: date | None) -> Select[Any]:
    articles = select(ArticleRow.id).where(*published_in(since, until))
    query = select(table)
    if (since is None and until is None) or table.name in WHOLE:
        return query
    if table.name == "articles":
        return query.where(table.c.id.in_(articles))
    if table.name in BY_ARTICLE:
        return query.where(table.c.article_id.in_(articles))
    if table.name in BY_EVENT:
        return query.where(table.c.event_id.in_(select(EventRow.id).where(EventRow.article_id.in_(articles))))
    if table.name in BY_CLUSTER:
        cluster = table.c.id if table.name == "event_clusters" else table.c.cluster_id
        return query.where(cluster.in_(select(EventRow.cluster_id).where(EventRow.article_id.in_(articles))))
    if since is not None:
        query = query.where(table.c.day >= since)
    return query.where(table.c.day <= until) if until is not None else query


def _write_frames(frames: Iterator[pd.DataFrame], path: Path, file_format: FileFormat) -> None:
    """Append chunk after chunk to one file; a table with no rows still gets its header."""
    if file_format is FileFormat.csv:
        with path.open("w", encoding="utf-8", newline="") as file:
            for index, frame in enumerate(frames):
                frame.to_csv(file, index=False, header=index == 0)
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer: Any = None
    try:
        for frame in frames:
            batch = pa.Table.from_pandas(frame, preserve_index=False)
            writer = writer or pq.ParquetWriter(path, batch.schema)
            writer.write_table(batch.cast(writer.schema))
    finally:
        if writer is not None:
            writer.close()
