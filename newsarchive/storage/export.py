"""`export`: the articles table as CSV, JSON Lines or Parquet, streamed (constant memory)."""

from __future__ import annotations

import contextlib
import csv
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from newsarchive.errors import GarbledValue, NewsarchiveError
from newsarchive.storage.records import decode_row, parse_stored_time, read_stored_time

FORMATS = ("csv", "jsonl", "parquet")


@contextlib.contextmanager
def whole_file(output: Path) -> Iterator[Path]:
    """A temporary path beside `output` to write the export at, renamed to `output` once the
    block ends well: an export that fails or is stopped (a full disk, Ctrl-C) leaves no half
    file under the name, and a file there before as it was. OSError is one line naming
    `output`."""
    partial = output.with_name(f".{output.name}.partial")
    try:
        yield partial
        os.replace(partial, output)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            partial.unlink()
        if isinstance(exc, OSError):
            raise NewsarchiveError(f"{output}: cannot write: {exc.strerror or exc}") from None
        raise


PARQUET_BATCH_ROWS = 1000
# Integer columns of `articles`; every other column is text (JSON columns: lists or JSON text).
INTEGER_COLUMNS = frozenset({"id", "word_count", "page_id", "fetch_count"})
# Parquet types: lists of strings are list<string>; contributors and removed are lists of
# structs, sources and raw map<string, string>; times are timestamps (below); the rest is text.
STRING_LIST_COLUMNS = frozenset({"authors", "tags", "captions", "notes"})
# Times newsarchive stores in UTC (...Z).
TIME_COLUMNS = frozenset(
    {"published_utc", "first_seen", "last_seen", "content_since", "gone_since"}
)
# Times stored with the offset the article stated (+07:00 for WIB). A Parquet timestamp column has
# one zone for all its rows, so the instant is kept as UTC and the stated offset goes to a
# `<name>_offset` text column next to it: local wall time = instant + offset.
OFFSET_TIME_COLUMNS = ("published", "modified")
PARQUET_ZONE_NOTE = (
    "Timestamps are UTC instants. published and modified were stated by the article with an "
    "offset, kept in published_offset and modified_offset (+07:00 = WIB): local time = instant "
    "+ offset. published_date is the date printed on the article, in its own zone. When the "
    "article stated no zone, the timestamp and its offset are NULL (no instant is known) and "
    "published_local / modified_local keep the local time or bare date as the page wrote it; "
    "those columns hold every row's local wall time (YYYY-MM-DDTHH:MM:SS, or YYYY-MM-DD)."
)


def write_csv(
    rows: Iterable[dict[str, Any]], out: IO[str], columns: list[str] | None = None
) -> int:
    """JSON columns stay JSON text in CSV. Returns the number of rows written. With `columns`
    the header is written even when there are no rows (a program reading the file still finds
    the columns it expects)."""
    writer = None
    if columns is not None:
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
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


def _parquet_types() -> dict[str, Any]:
    """The Arrow type of each `articles` column that is not plain text."""
    import pyarrow as pa

    utc = pa.timestamp("us", tz="UTC")
    strings = pa.list_(pa.string())
    return {
        **dict.fromkeys(INTEGER_COLUMNS, pa.int64()),
        **dict.fromkeys(STRING_LIST_COLUMNS, strings),
        **dict.fromkeys(TIME_COLUMNS, utc),
        **dict.fromkeys(OFFSET_TIME_COLUMNS, utc),
        "published_date": pa.date32(),
        "contributors": pa.list_(pa.struct([("name", pa.string()), ("role", pa.string())])),
        "removed": pa.list_(pa.struct([("kind", pa.string()), ("text", pa.string())])),
        "sources": pa.map_(pa.string(), pa.string()),
        "raw": pa.map_(pa.string(), pa.string()),
    }


def parquet_schema(columns: list[str]):
    """The Parquet schema of an export with these `articles` columns (in this order): each of
    published and modified is followed by its `_offset` column, and the zone rule is recorded in
    the file's metadata so a reader of the file alone can tell."""
    import pyarrow as pa

    types = _parquet_types()
    fields = []
    for name in columns:
        fields.append(pa.field(name, types.get(name, pa.string())))
        if name in OFFSET_TIME_COLUMNS:
            fields.append(
                pa.field(
                    f"{name}_offset",
                    pa.string(),
                    metadata={"description": f"UTC offset {name} was stated in, e.g. +07:00"},
                )
            )
            fields.append(
                pa.field(
                    f"{name}_local",
                    pa.string(),
                    metadata={
                        "description": f"{name} as the page's local wall time, without offset "
                        "(the only value when the page stated no zone)"
                    },
                )
            )
    return pa.schema(fields, metadata={"newsarchive": PARQUET_ZONE_NOTE})


def _offset(text: str | None) -> str | None:
    """The offset an ISO-8601 time was written with: "+07:00", "+00:00" for Z, None without."""
    moment = read_stored_time(text)
    if moment is None or moment.utcoffset() is None:
        return None
    seconds = int(moment.utcoffset().total_seconds())
    sign, seconds = ("-" if seconds < 0 else "+"), abs(seconds)
    return f"{sign}{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def _local(text: str | None) -> str | None:
    """The local wall time of a stored ISO-8601 value, without offset; a bare date stays one."""
    if not text:
        return None
    moment = read_stored_time(text)
    return text if len(text) == 10 else moment.replace(tzinfo=None).isoformat()


def _strings_map(value: Any) -> list[tuple[str, str]] | None:
    if not isinstance(value, dict):
        return None
    return [
        (str(key), item if isinstance(item, str) else json.dumps(item, ensure_ascii=False))
        for key, item in value.items()
    ]


def _structs(value: Any, keys: tuple[str, str]) -> list[dict[str, str | None]]:
    """A JSON list of objects as structs with exactly `keys` (a bare string is the first key)."""
    items = []
    for item in value or []:
        if isinstance(item, dict):
            items.append({key: _text(item.get(key)) for key in keys})
        else:
            items.append({keys[0]: _text(item), keys[1]: None})
    return items


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def parquet_row(row: dict[str, Any]) -> dict[str, Any]:
    """One `articles` row as Python values of the Parquet schema's types."""
    try:
        return _parquet_values(decode_row(row))
    except GarbledValue as exc:
        raise GarbledValue(f"article {row.get('id')} ({row.get('url')}): {exc}") from None


def _parquet_values(decoded: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in decoded.items():
        if name in OFFSET_TIME_COLUMNS:
            offset = _offset(value)
            # A value without offset is no instant: reading it as UTC would invent one.
            out[name] = parse_stored_time(value) if offset is not None else None
            out[f"{name}_offset"] = offset
            out[f"{name}_local"] = _local(value)
        elif name in TIME_COLUMNS:
            out[name] = parse_stored_time(value)
        elif name == "published_date":
            out[name] = read_stored_time(value).date() if value else None
        elif name in STRING_LIST_COLUMNS:
            out[name] = [str(item) for item in value or []]
        elif name == "contributors":
            out[name] = _structs(value, ("name", "role"))
        elif name == "removed":
            out[name] = _structs(value, ("kind", "text"))
        elif name in ("sources", "raw"):
            out[name] = _strings_map(value)
        else:
            out[name] = value
    return out


def write_parquet(
    rows: Iterable[dict[str, Any]], path: str, columns: list[str] | None = None
) -> int:
    """Typed Parquet (see parquet_schema), written in batches. `columns` gives the schema when
    `rows` may be empty: an empty export is then still a file with every column, which pandas,
    DuckDB and R read as zero rows of the right types."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    schema = parquet_schema(columns) if columns is not None else None
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
                schema = parquet_schema(list(row))
            buffer.append(parquet_row(row))
            count += 1
            if len(buffer) >= PARQUET_BATCH_ROWS:
                flush()
        flush()
        if writer is None:  # no rows: still a valid file, with the schema when it is known
            pq.write_table((schema or pa.schema([])).empty_table(), path)
    finally:
        if writer is not None:
            writer.close()
    return count
