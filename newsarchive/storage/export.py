"""`export`: the articles table as CSV, JSON Lines or Parquet, streamed (constant memory)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import IO, Any

from newsarchive.errors import NewsarchiveError
from newsarchive.storage.records import decode_row

FORMATS = ("csv", "jsonl", "parquet")
PARQUET_BATCH_ROWS = 1000
# Integer columns of `articles`; every other column is text (JSON columns: lists or JSON text).
INTEGER_COLUMNS = frozenset({"id", "word_count", "page_id", "fetch_count"})
# JSON columns that are plain lists of strings become Parquet list<string>; the nested ones
# (contributors, removed, sources, raw) stay JSON text there.
STRING_LIST_COLUMNS = frozenset({"authors", "tags", "captions", "notes"})


def write_csv(rows: Iterable[dict[str, Any]], out: IO[str]) -> int:
    """JSON columns stay JSON text in CSV. Returns the number of rows written."""
    writer = None
    count = 0
    for row in rows:
        if writer is None:
            writer = csv.DictWriter(out, fieldnames=list(row))
            writer.writeheader()
        writer.writerow(row)
        count += 1
    return count


def write_jsonl(rows: Iterable[dict[str, Any]], out: IO[str]) -> int:
    count = 0
    for row in rows:
        out.write(json.dumps(decode_row(row), ensure_ascii=False) + "\n")
        count += 1
    return count


def _parquet_schema(columns: list[str]):
    import pyarrow as pa

    def column_type(name: str):
        if name in INTEGER_COLUMNS:
            return pa.int64()
        if name in STRING_LIST_COLUMNS:
            return pa.list_(pa.string())
        return pa.string()

    return pa.schema([(name, column_type(name)) for name in columns])


def _parquet_value(name: str, value: Any) -> Any:
    if name in STRING_LIST_COLUMNS and isinstance(value, str):
        return [str(item) for item in json.loads(value)]
    return value


def write_parquet(rows: Iterable[dict[str, Any]], path: str) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    schema = None
    buffer: list[dict[str, Any]] = []
    count = 0

    def flush() -> None:
        nonlocal writer
        if not buffer:
            return
        table = pa.Table.from_pylist(buffer, schema=schema)
        if writer is None:
            writer = pq.ParquetWriter(path, schema)
        writer.write_table(table)
        buffer.clear()

    try:
        for row in rows:
            if schema is None:
                schema = _parquet_schema(list(row))
            buffer.append({name: _parquet_value(name, value) for name, value in row.items()})
            count += 1
            if len(buffer) >= PARQUET_BATCH_ROWS:
                flush()
        flush()
        if writer is None:  # no rows: still write a valid, empty file
            pq.write_table(pa.table({}), path)
    except OSError as exc:
        raise NewsarchiveError(f"{path}: cannot write: {exc}") from None
    finally:
        if writer is not None:
            writer.close()
    return count
