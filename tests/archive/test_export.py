"""`newsarchive export` types: Parquet with timestamps, lists and structs; empty selections keep
their columns. Real archives, real files, read back with pyarrow."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from archive_fixtures import make_article, make_raw
from click.testing import CliRunner

from newsarchive.cli import cli
from newsarchive.items import Contributor
from newsarchive.storage import Archive

WITA = timezone(timedelta(hours=8))


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def archive_path(tmp_path):
    path = tmp_path / "archive.db"
    with Archive(path) as archive:
        first = make_article(
            "https://warta.example.id/1",
            authors=("Sari Wulandari", "Budi Santoso"),
            tags=("banjir", "pesisir"),
            published=datetime(2024, 3, 5, 23, 30, tzinfo=WITA),
        )
        first.contributors.append(Contributor("Andi", "photographer"))
        archive.store(make_raw(first.url), first, site="warta")
        second = make_article(
            "https://warta.example.id/2", authors=(), tags=(), published=None, category=None
        )
        archive.store(make_raw(second.url), second, site="warta")
    return path


def test_parquet_has_real_types(archive_path, tmp_path):
    out = tmp_path / "a.parquet"
    result = invoke("export", "--format", "parquet", "-o", str(out), "--db", str(archive_path))
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    schema = table.schema
    utc = pa.timestamp("us", tz="UTC")
    for name in ("published", "modified", "published_utc", "first_seen", "last_seen"):
        assert schema.field(name).type == utc, name
    assert schema.field("published_date").type == pa.date32()
    assert schema.field("authors").type == pa.list_(pa.string())
    assert schema.field("tags").type == pa.list_(pa.string())
    assert schema.field("contributors").type == pa.list_(
        pa.struct([("name", pa.string()), ("role", pa.string())])
    )
    assert schema.field("sources").type == pa.map_(pa.string(), pa.string())
    assert schema.field("id").type == pa.int64()
    # The zone rule travels with the file.
    assert b"published_offset" in schema.metadata[b"newsarchive"]
    rows = {row["url"]: row for row in table.to_pylist()}
    first = rows["https://warta.example.id/1"]
    # 23:30 WITA on 5 March is 15:30 UTC: the instant is kept, the stated offset beside it,
    # and the date printed on the article stays the 5th.
    assert first["published"] == datetime(2024, 3, 5, 15, 30, tzinfo=UTC)
    assert first["published_offset"] == "+08:00"
    assert first["published_date"].isoformat() == "2024-03-05"
    assert first["authors"] == ["Sari Wulandari", "Budi Santoso"]
    assert {"name": "Andi", "role": "photographer"} in first["contributors"]
    assert dict(first["sources"]) == {"title": "meta"}
    second = rows["https://warta.example.id/2"]
    assert second["published"] is None and second["published_offset"] is None
    assert second["authors"] == [] and second["tags"] == []


def test_empty_selection_keeps_the_columns(archive_path, tmp_path):
    out = tmp_path / "empty.parquet"
    args = ["--since", "2030-01-01", "--db", str(archive_path)]
    assert invoke("export", "--format", "parquet", "-o", str(out), *args).exit_code == 0
    table = pq.read_table(out)
    assert table.num_rows == 0
    assert table.schema.field("published").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("authors").type == pa.list_(pa.string())
    header = invoke("export", "--format", "csv", *args).stdout
    columns = next(csv.reader(io.StringIO(header)))
    assert columns[:4] == ["id", "url", "site", "published_date"] and "body" in columns
    assert invoke("export", "--format", "jsonl", *args).stdout == ""


def test_csv_and_jsonl_as_before(archive_path):
    rows = list(
        csv.DictReader(
            io.StringIO(invoke("export", "--format", "csv", "--db", str(archive_path)).stdout)
        )
    )
    first = next(row for row in rows if row["url"].endswith("/1"))
    assert json.loads(first["authors"]) == ["Sari Wulandari", "Budi Santoso"]
    assert first["published"] == "2024-03-05T23:30:00+08:00"
    records = [
        json.loads(line) for line in invoke("export", "--db", str(archive_path)).stdout.splitlines()
    ]
    first = next(record for record in records if record["url"].endswith("/1"))
    assert first["authors"] == ["Sari Wulandari", "Budi Santoso"]
    assert first["published"] == "2024-03-05T23:30:00+08:00"


@pytest.fixture
def zone_less_path(tmp_path):
    """An archive holding records whose page named no zone: a local time and a bare date."""
    path = tmp_path / "zoneless.db"
    with Archive(path) as archive:
        for n, published in enumerate((datetime(2018, 6, 27, 9, 54), datetime(2018, 6, 28))):
            article = make_article(f"https://seite.example.de/{n}", published=published)
            archive.store(make_raw(article.url), article, site="seite")
    return path


def test_zone_less_published_survives_storage_and_every_format(zone_less_path, tmp_path):
    db = ["--db", str(zone_less_path)]
    records = {
        json.loads(line)["url"]: json.loads(line)
        for line in invoke("export", *db).stdout.splitlines()
    }
    # Written back exactly as the page wrote it: no offset invented, no shift to UTC.
    assert records["https://seite.example.de/0"]["published"] == "2018-06-27T09:54:00"
    assert records["https://seite.example.de/1"]["published"] == "2018-06-28"
    rows = list(csv.DictReader(io.StringIO(invoke("export", "--format", "csv", *db).stdout)))
    assert {row["url"]: row["published"] for row in rows} == {
        "https://seite.example.de/0": "2018-06-27T09:54:00",
        "https://seite.example.de/1": "2018-06-28",
    }
    out = tmp_path / "z.parquet"
    assert invoke("export", "--format", "parquet", "-o", str(out), *db).exit_code == 0
    table = {row["url"]: row for row in pq.read_table(out).to_pylist()}
    first = table["https://seite.example.de/0"]
    # No instant is known: the timestamp and its offset are NULL, the local reading is kept.
    assert first["published"] is None and first["published_offset"] is None
    assert first["published_local"] == "2018-06-27T09:54:00"
    assert first["published_date"].isoformat() == "2018-06-27"
    assert table["https://seite.example.de/1"]["published_local"] == "2018-06-28"


def test_since_reads_the_date_of_a_zone_less_record(zone_less_path):
    def urls(*args: str) -> set[str]:
        result = invoke("export", *args, "--db", str(zone_less_path))
        assert result.exit_code == 0, result.output
        return {json.loads(line)["url"] for line in result.stdout.splitlines()}

    assert urls("--since", "2018-06-27") == {
        "https://seite.example.de/0",
        "https://seite.example.de/1",
    }
    assert urls("--since", "2018-06-28") == {"https://seite.example.de/1"}
    assert urls("--since", "2018-06-29") == set()
