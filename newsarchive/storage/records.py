"""Between Article records and `articles` rows: column values, content hashes, UTC timestamps."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from newsarchive.errors import GarbledValue, NewsarchiveError
from newsarchive.items import Article, iso_date, plain_value
from newsarchive.storage.schema import CONTENT_COLUMNS, JSON_COLUMNS, RECORD_COLUMNS

# Every stored instant is UTC in this one spelling, so text order is time order.
UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# A stored time later than now by more than this was written under a clock set wrong (a new
# machine before its time sync), not by clocks that drift by seconds: what waits for it (a
# site's next run, an article's revisit) is due instead.
CLOCK_AHEAD_TOLERANCE = timedelta(minutes=10)


def utc_iso(moment: datetime | None) -> str | None:
    """`moment` as UTC ISO-8601 text ending in Z (a naive datetime is taken to be UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(UTC_FORMAT)


def utc_now() -> str:
    return datetime.now(UTC).strftime(UTC_FORMAT)


def parse_stored_time(text: str | None) -> datetime | None:
    """A stored ISO-8601 value (UTC `...Z` or with an offset) back as an aware datetime. A value
    without offset (a published time or bare date whose page named no zone) is taken as UTC: an
    approximation within a day, good enough for the ages a recrawl schedule compares."""
    moment = read_stored_time(text)
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_stored_time(text: str | None) -> datetime | None:
    """A stored ISO-8601 value as it was written (naive when it named no zone; a bare date is
    its midnight); GarbledValue for one that is no time."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise GarbledValue(f"a stored time is garbled: {text!r}") from None


def parse_since(value: str) -> str:
    """A `--since` value as text to compare stored values with: a date stays YYYY-MM-DD (compared
    with the date printed on the article), a time becomes stored UTC text."""
    try:
        if len(value) == 10:
            return date.fromisoformat(value).isoformat()
        return utc_iso(datetime.fromisoformat(value)) or ""
    except ValueError:
        raise NewsarchiveError(
            f"--since {value!r}: expected a date like 2024-01-31 or a time like 2024-01-31T08:00+07:00"
        ) from None


def _json(value: Any) -> str:
    return _JSON.encode(value)


def _plain(value: Any) -> Any:
    """JSON's fallback for the records nested in an Article (contributors, removed blocks)."""
    plain = plain_value(value)
    if plain is value:
        raise TypeError(f"{type(value).__name__} is not JSON serializable")
    return plain


# json.dumps with these options, made once: dumps builds an encoder on every call, and a record
# has nine values to encode. An empty list or dict skips the encoder (the same text).
_JSON_RECORD = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=_plain)
_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True)


def article_columns(article: Article) -> dict[str, Any]:
    """The `articles` columns that come from the record itself (not from when/where it was seen)."""
    # The same values as Article.to_dict() gives, read straight off the fields: to_dict() deep-
    # copies every list and dict first (dataclasses.asdict), measured a third of store()'s own
    # Python time, only for them to be turned into JSON text here.
    row = {}
    for column in RECORD_COLUMNS:
        value = getattr(article, column)
        if column in JSON_COLUMNS:
            if value == [] and type(value) is list:
                value = "[]"
            elif value == {} and type(value) is dict:
                value = "{}"
            else:
                value = _JSON_RECORD.encode(value)
        elif column in ("published", "modified") and value is not None:
            value = iso_date(value)
        row[column] = value
    # A published value without offset (the page named no zone) is no instant: published_utc stays
    # NULL rather than guessing one, while published keeps the page's local time and
    # published_date its calendar date, so day queries and --since dates still see the record.
    published = article.published
    row["published_utc"] = (
        utc_iso(published) if published is not None and published.tzinfo is not None else None
    )
    # The calendar date printed on the article, in the article's own zone.
    row["published_date"] = published.date().isoformat() if published else None
    row["word_count"] = len(article.body.split()) if article.body else None
    row["extractor_version"] = article.extractor_version
    row["content_hash"] = content_hash(row)
    return row


def content_hash(row: dict[str, Any]) -> str:
    """SHA-256 of the content columns: equal hashes mean no new version."""
    payload = _json([row.get(column) for column in CONTENT_COLUMNS])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def is_empty(value: Any) -> bool:
    """No value: NULL, blank text, or an empty JSON list/object."""
    return value is None or (isinstance(value, str) and value.strip() in ("", "[]", "{}"))


def decode_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row with its JSON columns decoded into lists and dicts (for JSON Lines and Parquet).
    A column that no longer reads as JSON (bytes garbled on disk inside a page SQLite still
    reads: it keeps no checksum) raises NewsarchiveError naming the article, in one line."""
    decoded = dict(row)
    for key, value in row.items():
        if key in JSON_COLUMNS and isinstance(value, str):
            try:
                decoded[key] = json.loads(value)
            except json.JSONDecodeError as exc:
                raise NewsarchiveError(
                    f"article {row.get('id')} ({row.get('url')}) is damaged: its {key} is no "
                    f"longer JSON ({exc.msg}), garbled on disk "
                    "or edited outside newsarchive; `newsarchive verify` lists the damage, "
                    "`newsarchive reextract` rebuilds the record from its raw page"
                ) from None
    return decoded
