"""Top lists of common words: what lets a search of common words rank without reading every match.

FTS5 ranks a query by bm25 over every article that matches it, and its bm25() first counts the
articles holding each phrase by reading that phrase's whole list: a word in most articles costs
a full scan however few hits are wanted (seconds at a million articles). So, for every word in at
least TOP_MIN_DOCS articles, the archive keeps (schema v7):

* `search_words`: per word, the articles holding it (`docs`: for a word with a list, bm25's
  document count, exact, so its idf is known without a scan; for the others an estimate from a
  sample of articles, see COUNT_EVERY, that tells when a word has become common); a word with a
  list also has its list id and `floor`.
* `search_top`: per list, the TOP_SIZE articles with the highest impact of that word (keyed by
  list and article: a query reads whole lists, a change drops single entries), with what
  bm25 needs to score them exactly later (the word's column-weighted count `freq` and the
  article's length in tokens `length`). Impact is the word's bm25 term weight without idf,
  f(k1+1) / (f + k1(1 - b + b*length/avgdl)), with avgdl fixed when the first list was made
  (`search_stats.avgdl_ref`), so impacts stay comparable as the archive grows.
* `search_stats`: the indexed articles and their tokens (bm25's N and avgdl, as FTS5 counts them);
  `search_lengths`: each indexed article's length (bm25's D), about 10 bytes an article.

A list's invariant: an article holding the word whose impact is above the list's `floor` is in the
list. Adding an article inserts it where its impact beats the floor and trims the list back to
TOP_SIZE, raising the floor to the best impact trimmed; a changed or deleted article's entries go
(its new text is added again): the invariant holds through all three, so a list never names an
article that no longer holds the word, and an article missing from it scores at most the floor.

Everything is kept in step inside the transaction that writes the full-text index
(schema.index_queued), from the same text: the indexed text of an article is tokenized here the
way FTS5's unicode61 tokenizer (remove_diacritics 2) does it — letters and digits, case folded,
diacritics dropped — so counts agree with FTS5's own for ordinary text.
"""

from __future__ import annotations

import heapq
import re
import sqlite3
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import filterfalse
from typing import Any

# bm25 as FTS5 computes it (fts5_aux.c), with the column weights of queries.RANK.
K1, B = 1.2, 0.75
WEIGHTS = (10.0, 4.0, 1.0)  # title, description, body
# A word gets a top list once this many articles hold it: below it, ranking every match is cheap.
TOP_MIN_DOCS = 5_000
# Entries per list. Cost: about 28 bytes each in archive.db; at a million synthetic articles,
# 6,000 words have lists: 170 bytes an article, with search_lengths and search_words 182.
TOP_SIZE = 1000
# A word without a list is counted in one article in COUNT_EVERY (by id: the same ones in every
# process), each counting COUNT_EVERY: enough to see it near TOP_MIN_DOCS, when its list is made
# and its exact count read from the index. Counting every word of every article cost more than
# indexing it. Words with lists are counted exactly (bm25's idf).
COUNT_EVERY = 8

_TOKEN = re.compile(r"[^\W_]+")
# ASCII text (nearly all of it): every byte but a-z and 0-9 is a separator.
_ASCII_SEPARATORS = bytes(b if 48 <= b <= 57 or 97 <= b <= 122 else 32 for b in range(256))


def tokens(text: str | None) -> list[str]:
    """The tokens of `text` as unicode61 (remove_diacritics 2) makes them."""
    if not text:
        return []
    found = _TOKEN.findall(text.lower())
    if text.isascii():
        return found
    return [
        token
        if token.isascii()
        else "".join(c for c in unicodedata.normalize("NFD", token) if not unicodedata.combining(c))
        for token in found
    ]


def _counts(text: Any) -> Counter:
    """Each token's count in `text`, keyed by its UTF-8 bytes (tokens() for the rules; bytes let
    ASCII text, nearly all of it, be split by C code alone: five times faster)."""
    if not text:
        return Counter()
    lowered = str(text).lower()
    if lowered.isascii():
        return Counter(lowered.encode().translate(_ASCII_SEPARATORS).split())
    return Counter(token.encode() for token in tokens(str(text)))


def _article_counts(title: Any, description: Any, body: Any) -> tuple[Counter, int]:
    """article_terms with the words as UTF-8 bytes (decoded once a batch, not once a token)."""
    freq = _counts(body)
    length = sum(freq.values())
    weight_title, weight_description, weight_body = WEIGHTS
    if weight_body != 1:
        freq = Counter({word: weight_body * n for word, n in freq.items()})
    for weight, text in ((weight_title, title), (weight_description, description)):
        counts = _counts(text)
        length += sum(counts.values())
        for word, n in counts.items():
            freq[word] += weight * n
    return freq, length


def article_terms(title: Any, description: Any, body: Any) -> tuple[dict[str, float], int]:
    """An article's words with their column-weighted counts (bm25's f), and its length (D)."""
    freq, length = _article_counts(title, description, body)
    return {word.decode(): n for word, n in freq.items()}, length


def impact(freq: float, length: int, avgdl: float) -> float:
    return freq * (K1 + 1) / (freq + K1 * (1 - B + B * length / avgdl))


def idf(docs: int, articles: int) -> float:
    """bm25's idf as FTS5 clamps it (a word in over half of the articles weighs 1e-6)."""
    import math

    value = math.log((articles - docs + 0.5) / (docs + 0.5)) if articles > 0 else 0.0
    return value if value > 0 else 1e-6


def create_tables(conn: sqlite3.Connection) -> None:
    conn.executescript(
        """
        CREATE TABLE IF NOT EXISTS search_stats (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            docs INTEGER NOT NULL,
            tokens INTEGER NOT NULL,
            avgdl_ref REAL
        );
        CREATE TABLE IF NOT EXISTS search_words (
            word TEXT PRIMARY KEY,
            docs INTEGER NOT NULL,
            list INTEGER UNIQUE,
            floor REAL
        ) WITHOUT ROWID;
        -- Every indexed article's length in tokens (bm25's D), for the rare words of a
        -- search, whose counts come from FTS5's own instance list (see queries.py).
        CREATE TABLE IF NOT EXISTS search_lengths (
            id INTEGER PRIMARY KEY,
            length INTEGER NOT NULL
        );
        -- Keyed by (list, id): a query reads whole lists, a change drops (list, id) pairs.
        CREATE TABLE IF NOT EXISTS search_top (
            list INTEGER NOT NULL,
            id INTEGER NOT NULL,
            impact REAL NOT NULL,
            freq REAL NOT NULL,
            length INTEGER NOT NULL,
            PRIMARY KEY (list, id)
        ) WITHOUT ROWID;
        """
    )


def active(conn: sqlite3.Connection) -> bool:
    try:
        return conn.execute("SELECT 1 FROM search_stats").fetchone() is not None
    except sqlite3.OperationalError:
        return False


def build(conn: sqlite3.Connection) -> None:
    """Count and list from scratch what the full-text index holds now (its queue written out
    first): two passes over the articles' text, counting words, then keeping each common word's
    best TOP_SIZE articles. Minutes at a million articles; run once, by migration v7."""
    conn.execute("DELETE FROM search_top")
    conn.execute("DELETE FROM search_words")
    conn.execute("DELETE FROM search_stats")
    conn.execute("DELETE FROM search_lengths")
    select = "SELECT id, title, description, body FROM articles ORDER BY id"
    docs: Counter = Counter()
    articles = total = 0
    lengths = []
    for article_id, title, description, body in conn.execute(select):
        freq, length = _article_counts(title, description, body)
        docs.update(freq.keys())
        lengths.append((article_id, length))
        articles += 1
        total += length
    conn.executemany("INSERT INTO search_lengths(id, length) VALUES (?, ?)", lengths)
    avgdl = total / articles if articles else None
    conn.execute(
        "INSERT INTO search_stats(id, docs, tokens, avgdl_ref) VALUES (1, ?, ?, ?)",
        [articles, total, avgdl if articles >= TOP_MIN_DOCS else None],
    )
    common = {
        word: n for n, word in enumerate(sorted(w for w, c in docs.items() if c >= TOP_MIN_DOCS))
    }
    heaps: dict[str, list] = {word: [] for word in common}
    floors = dict.fromkeys(common, 0.0)
    if common:
        for article_id, title, description, body in conn.execute(select):
            freq, length = _article_counts(title, description, body)
            for word in common.keys() & freq.keys():
                entry = (impact(freq[word], length, avgdl), article_id, freq[word], length)
                heap = heaps[word]
                if len(heap) < TOP_SIZE:
                    heapq.heappush(heap, entry)
                else:
                    dropped = heapq.heappushpop(heap, entry)
                    floors[word] = max(floors[word], dropped[0])
    conn.executemany(
        "INSERT INTO search_words(word, docs, list, floor) VALUES (?, ?, ?, ?)",
        (
            (word.decode(), count, common.get(word), floors.get(word))
            for word, count in docs.items()
        ),
    )
    conn.executemany(
        "INSERT INTO search_top(list, impact, id, freq, length) VALUES (?, ?, ?, ?, ?)",
        ((common[word], *entry) for word, heap in heaps.items() for entry in heap),
    )


def _stats(conn: sqlite3.Connection) -> tuple[int, int, float | None]:
    return conn.execute("SELECT docs, tokens, avgdl_ref FROM search_stats").fetchone()


def _chunks(items: Sequence, size: int = 500) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def remove(conn: sqlite3.Connection, rows: list[tuple]) -> None:
    """Before index entries made from `rows` (id, title, description, body) are dropped: their
    counts out, every list entry of those articles out (a changed article is added again)."""
    if not rows:
        return
    docs: Counter = Counter()
    articles, total = 0, 0
    row_words = []
    for _, title, description, body in rows:
        freq, length = article_terms(title, description, body)
        docs.update(freq.keys())
        row_words.append(freq.keys())
        articles += 1
        total += length
    conn.execute("UPDATE search_stats SET docs = docs - ?, tokens = tokens - ?", [articles, total])
    conn.executemany("DELETE FROM search_lengths WHERE id = ?", ((row[0],) for row in rows))
    # The entries these texts made: one per listed word in them (the same text made them).
    pairs = []
    listed: dict[str, int] = {}
    for chunk in _chunks(list(docs)):
        listed.update(
            conn.execute(
                f"SELECT word, list FROM search_words WHERE list IS NOT NULL "
                f"AND word IN ({','.join('?' * len(chunk))})",
                chunk,
            ).fetchall()
        )
    for row, words_in_row in zip(rows, row_words, strict=True):
        pairs.extend((listed[word], row[0]) for word in words_in_row & listed.keys())
    sampled: Counter = Counter()
    for row, words_in_row in zip(rows, row_words, strict=True):
        if row[0] % COUNT_EVERY == 0:
            sampled.update(word for word in words_in_row if word not in listed)
    conn.executemany(
        "UPDATE search_words SET docs = docs - ? WHERE word = ?",
        [(docs[word], word) for word in listed]
        + [(COUNT_EVERY * n, word) for word, n in sampled.items()],
    )
    conn.executemany("DELETE FROM search_top WHERE list = ? AND id = ?", pairs)


def add(conn: sqlite3.Connection, rows: list[tuple]) -> list[str]:
    """When `rows` (id, title, description, body) go into the index: their counts in, and an
    entry in each list whose floor their impact beats (lists trimmed back to TOP_SIZE). Returns
    the words that have just become common and need a list (see make_lists: the index must hold
    the rows first)."""
    if not rows:
        return []
    terms = []
    total = 0
    for article_id, title, description, body in rows:
        freq, length = _article_counts(title, description, body)
        terms.append((article_id, freq, length))
        total += length
    conn.execute("UPDATE search_stats SET docs = docs + ?, tokens = tokens + ?", [len(rows), total])
    conn.executemany(
        "INSERT OR REPLACE INTO search_lengths(id, length) VALUES (?, ?)",
        ((article_id, length) for article_id, _, length in terms),
    )
    # Listed words: exact counts. The others: counted from sampled articles (COUNT_EVERY), and
    # back what each is now, to see which have become common.
    listed = _listed_words(conn)
    is_listed = listed.__contains__
    sampled: Counter = Counter()
    for article_id, freq, _ in terms:
        if article_id % COUNT_EVERY == 0:
            # In the article's word order (filterfalse keeps it): the order words come back
            # from the upsert is the order make_lists numbers their lists in.
            sampled.update(filterfalse(is_listed, freq))
    newly: list[str] = []
    # Decoded in one call, not one a word (a token holds no newline), and bound as one flat list.
    words = b"\n".join(sampled).decode().split("\n") if sampled else []
    counts = [COUNT_EVERY * n for n in sampled.values()]
    for start in range(0, len(words), 5000):
        chunk = words[start : start + 5000]
        values: list[Any] = [None] * (2 * len(chunk))
        values[0::2] = chunk
        values[1::2] = counts[start : start + 5000]
        # Only the words now common come back with their name (the rest as NULL): most rows
        # are words still rare, and the RETURNING order is the VALUES order either way.
        for (word,) in conn.execute(
            "INSERT INTO search_words(word, docs) VALUES "
            + ",".join(["(?, ?)"] * len(chunk))
            + " ON CONFLICT(word) DO UPDATE SET docs = docs + excluded.docs "
            f"RETURNING CASE WHEN docs >= {TOP_MIN_DOCS} THEN word END",
            values,
        ).fetchall():
            if word is not None:
                newly.append(word)
    if listed:
        avgdl = _stats(conn)[2]
        # Only listed words need an article count here (the others are sampled above): counted
        # from the words each article shares with the lists, which the entries need anyway.
        docs: Counter = Counter()
        entries = []
        added: Counter = Counter()
        scale = K1 + 1
        for article_id, freq, length in terms:
            shared = listed.keys() & freq.keys()
            docs.update(shared)
            # impact() inlined, its length term once an article: the same operations in the same
            # order, so the same floats.
            norm = K1 * (1 - B + B * length / avgdl)
            for word in shared:
                list_id, floor = listed[word]
                f = freq[word]
                score = f * scale / (f + norm)
                if score > floor:
                    entries.append((list_id, score, article_id, f, length))
                    added[list_id] += 1
        conn.executemany(
            "UPDATE search_words SET docs = docs + ? WHERE word = ?",
            [(n, word.decode()) for word, n in docs.items()],
        )
        conn.executemany(
            "INSERT OR REPLACE INTO search_top(list, impact, id, freq, length) "
            "VALUES (?, ?, ?, ?, ?)",
            entries,
        )
        _trim(conn, added)
    return newly


# Per connection: the listed words (UTF-8) with their list and floor, and the highest list id
# when read (a list made by another process shows as a higher one; a floor raised by another is
# only ever higher than the one cached, which lets an entry in that _trim takes out again).
_LISTED: dict[int, tuple[sqlite3.Connection, int, dict[bytes, tuple[int, float]]]] = {}


def _listed_words(conn: sqlite3.Connection) -> dict[bytes, tuple[int, float]]:
    newest = conn.execute("SELECT max(list) FROM search_words").fetchone()[0]
    cached = _LISTED.get(id(conn))
    if cached and cached[0] is conn and cached[1] == newest:
        return cached[2]
    words = {
        word.encode(): (list_id, floor or 0.0)
        for word, list_id, floor in conn.execute(
            "SELECT word, list, floor FROM search_words WHERE list IS NOT NULL"
        )
    }
    for key in [key for key, value in _LISTED.items() if value[0] is conn or key == id(conn)]:
        del _LISTED[key]
    if len(_LISTED) > 16:  # connections long closed
        _LISTED.clear()
    _LISTED[id(conn)] = (conn, newest, words)
    return words


def _trim(conn: sqlite3.Connection, lists: Iterable[int]) -> None:
    # Per list, one statement finds what is over TOP_SIZE: its lowest entries by (impact, id)
    # (a count and a sort bounded by the LIMIT, where a count, a sort and a DELETE scanning the
    # list were three statements); they go by primary key, all lists' at once, and the floor
    # rises to the best of them, as before.
    doomed = []
    floors = []
    for list_id in lists:
        cut = conn.execute(
            "SELECT impact, id FROM search_top WHERE list = ?1 ORDER BY impact, id "
            "LIMIT max(0, (SELECT count(*) FROM search_top WHERE list = ?1) - ?2)",
            [list_id, TOP_SIZE],
        ).fetchall()
        if cut:
            doomed.extend((list_id, article_id) for _, article_id in cut)
            floors.append((cut[-1][0], list_id))
    if not doomed:
        return
    conn.executemany("DELETE FROM search_top WHERE list = ? AND id = ?", doomed)
    conn.executemany(
        "UPDATE search_words SET floor = max(coalesce(floor, 0), ?) WHERE list = ?", floors
    )
    cached = _LISTED.get(id(conn))
    if cached and cached[0] is conn:
        raised = {list_id: floor for floor, list_id in floors}
        words = cached[2]
        for word, (list_id, floor) in words.items():
            if list_id in raised:
                words[word] = (list_id, max(floor, raised[list_id]))


def _varints(blob: bytes) -> list[int]:
    values, value = [], 0
    for byte in blob:
        # FTS5's docsize record: SQLite varints, 7 bits a byte, high bit first (sizes are small:
        # the 9-byte form never occurs).
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            values.append(value)
            value = 0
    return values


def make_lists(conn: sqlite3.Connection, words: list[str]) -> None:
    """Lists for words that have just become common, read from the full-text index (which now
    holds every article with them): FTS5's bm25 for the word alone is idf times its impact at
    the current avgdl, from which, with the article's length, its count comes back."""
    if not words:
        return
    articles, total, avgdl_ref = _stats(conn)
    if not articles:
        return
    avgdl_now = total / articles
    if avgdl_ref is None:
        avgdl_ref = avgdl_now
        conn.execute("UPDATE search_stats SET avgdl_ref = ?", [avgdl_ref])
    next_list = conn.execute("SELECT coalesce(max(list), -1) + 1 FROM search_words").fetchone()[0]
    weights = ", ".join(str(w) for w in WEIGHTS)
    for word in words:
        # Its exact count (it was counted from a sample), read from the index: a short list.
        count = conn.execute(
            "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH ?", ['"' + word + '"']
        ).fetchone()[0]
        weight = idf(count, articles)
        # In SQL, so Python sees only the best: each match's count from its bm25 and length,
        # its impact at avgdl_ref, the best TOP_SIZE (and the next one: the floor).
        best = conn.execute(
            f"""
            WITH s AS (
                SELECT f.rowid AS id, l.length, -bm25(articles_fts, {weights}) / ? AS term
                FROM articles_fts f CROSS JOIN search_lengths l ON l.id = f.rowid
                WHERE articles_fts MATCH ?
            ),
            g AS (
                SELECT id, length, round(term * {K1} * ({1 - B} + {B} * length / ?)
                    / ({K1 + 1} - term)) AS freq
                FROM s WHERE term < {K1 + 1}
            )
            SELECT freq * {K1 + 1} / (freq + {K1} * ({1 - B} + {B} * length / ?)) AS impact,
                id, freq, length
            FROM g WHERE freq > 0 ORDER BY impact DESC, id DESC LIMIT ?
            """,
            [weight, '"' + word + '"', avgdl_now, avgdl_ref, TOP_SIZE + 1],
        ).fetchall()
        heap = best[:TOP_SIZE]
        floor = best[TOP_SIZE][0] if len(best) > TOP_SIZE else 0.0
        conn.execute(
            "UPDATE search_words SET list = ?, floor = ?, docs = ? WHERE word = ?",
            [next_list, floor, count, word],
        )
        conn.executemany(
            "INSERT OR REPLACE INTO search_top(list, impact, id, freq, length) "
            "VALUES (?, ?, ?, ?, ?)",
            ((next_list, *entry) for entry in heap),
        )
        next_list += 1
