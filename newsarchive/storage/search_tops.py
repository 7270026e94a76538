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
list. Adding an article inserts it where its impact beats the floor; the list is later trimmed
back to TOP_SIZE, raising the floor to the best impact trimmed; a changed or deleted article's
entries go (its new text is added again): the invariant holds through all three, so a list never
names an article that no longer holds the word, and an article missing from it scores at most the
floor. A list may hold more than TOP_SIZE entries between trims; readers only rely on the floor.

Entries are added fresh, under the complement of their list's id (`~list`, that is -1 - list: see
FRESH_PER_LIST for why), and merged into their lists, which are then trimmed, once FRESH_PER_LIST
times as many as there are lists are waiting (at most MERGE_LISTS lists at a time, those with the
most waiting): a list's entries are those under its id and under its complement (listed_in).

Everything is kept in step inside the transaction that writes the full-text index
(schema.index_queued), from the same text: the indexed text of an article is tokenized here the
way FTS5's unicode61 tokenizer (remove_diacritics 2) does it — letters and digits, case folded,
diacritics dropped — so counts agree with FTS5's own for ordinary text.
"""

from __future__ import annotations

import bisect
import operator
import re
import sqlite3
import unicodedata
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import compress, filterfalse, repeat
from typing import Any

# bm25 as FTS5 computes it (fts5_aux.c), with the column weights of queries.RANK.
K1, B = 1.2, 0.75
WEIGHTS = (10.0, 4.0, 1.0)  # title, description, body
# A word gets a top list once this many articles hold it: below it, ranking every match is cheap.
TOP_MIN_DOCS = 5_000
# Entries per list. Cost: about 28 bytes each in archive.db; at a million synthetic articles,
# 6,000 words have lists: 170 bytes an article, with search_lengths and search_words 182.
TOP_SIZE = 1000
# Fresh entries waiting, per list, when they are merged into their lists. At a million articles
# an article enters ~6 lists, and its entries and the trims after them went straight into the
# lists, spread over all of search_top (12,000 pages of 16 kB): a commit of 375 articles rewrote
# ~3,000 of its pages, 48 MB of WAL (over two thirds of all a commit wrote), and inserts ran at
# 550 a second. Kept fresh, a commit's entries land on the few pages at the start of the table
# (negative keys sort first), and a merge rewrites each list's pages once for ~FRESH_PER_LIST new
# entries of it, at any number of lists: at a million articles (6,000 lists) ~100,000 entries
# (~300 pages) wait at most, a merge (of MERGE_LISTS lists) every ~5,000 articles; on a small
# archive, whose few lists the cache holds, merges come about as often as commits, as the trims
# did before.
FRESH_PER_LIST = 16
# A merge takes the fresh entries of at most this many lists, those holding the most. It holds the
# write lock while it rewrites and trims each list it takes, ~0.35 ms a list at a million articles:
# all 6,000 lists at once took 2-3 s there, and a vocabulary with more common words would hold
# the lock longer still (another writer waits, a crawl's commit stalls). In portions, each
# merge is short, and the entries waiting stay about FRESH_PER_LIST a list: a merge comes again
# once they are that many, and the lists holding the most go first (the fewest pages rewritten
# for the entries merged).
MERGE_LISTS = 1000
# A word without a list is counted in one article in COUNT_EVERY (by id: the same ones in every
# process), each counting COUNT_EVERY: enough to see it near TOP_MIN_DOCS, when its list is made
# and its exact count read from the index. Counting every word of every article cost more than
# indexing it. Words with lists are counted exactly (bm25's idf).
COUNT_EVERY = 8

_TOKEN = re.compile(r"[^\W_]+")
# ASCII text (nearly all of it): every byte but a-z and 0-9 is a separator.
ASCII_SEPARATORS = bytes(b if 48 <= b <= 57 or 97 <= b <= 122 else 32 for b in range(256))


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
        return Counter(lowered.encode().translate(ASCII_SEPARATORS).split())
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


def listed_in(column: str, list_id: str) -> str:
    """SQL that is true where `column`, a search_top.list, is the list `list_id` (an SQL
    expression): its merged entries or its fresh ones."""
    return f"{column} IN ({list_id}, ~{list_id})"


def _impacts(
    freq: Any, shared: list, length: int, avgdl: float, limits: dict
) -> tuple[Sequence[float], list[float], Sequence[float]]:
    """The counts and impacts of an article's `shared` words, and each word's value in `limits`
    (a floor or a bar), in the same order. impact() inlined, its length term once an article:
    the same operations in the same order, so the same floats; scores made in C (map,
    itemgetter), for the callers to compare in C too (compress)."""
    norm = K1 * (1 - B + B * length / avgdl)
    if len(shared) > 1:
        pick = operator.itemgetter(*shared)
        counts, word_limits = pick(freq), pick(limits)
    else:  # itemgetter of one word returns it alone, not in a tuple; of none, fails
        counts, word_limits = [freq[w] for w in shared], [limits[w] for w in shared]
    scores = list(
        map(
            operator.truediv,
            map(operator.mul, counts, repeat(K1 + 1)),
            map(operator.add, counts, repeat(norm)),
        )
    )
    return counts, scores, word_limits


def idf(docs: int, articles: int) -> float:
    """bm25's idf as FTS5 clamps it (a word in over half of the articles weighs 1e-6)."""
    import math

    value = math.log((articles - docs + 0.5) / (docs + 0.5)) if articles > 0 else 0.0
    return value if value > 0 else 1e-6


# Only the listed words (a few thousand of the 100,000s): a word first seen, rare, must not write
# an index entry at a random place (schema v8; v7 had `list INTEGER UNIQUE`).
SEARCH_WORDS_LIST_INDEX = (
    "CREATE UNIQUE INDEX IF NOT EXISTS search_words_list ON search_words(list) "
    "WHERE list IS NOT NULL"
)


def create_tables(conn: sqlite3.Connection) -> None:
    # One statement at a time, inside the caller's transaction: sqlite3's executescript would
    # commit it first, and a migration step interrupted after that left its tables behind.
    for statement in (
        """CREATE TABLE IF NOT EXISTS search_stats (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            docs INTEGER NOT NULL,
            tokens INTEGER NOT NULL,
            avgdl_ref REAL
        )""",
        """CREATE TABLE IF NOT EXISTS search_words (
            word TEXT PRIMARY KEY,
            docs INTEGER NOT NULL,
            list INTEGER,
            floor REAL
        ) WITHOUT ROWID""",
        SEARCH_WORDS_LIST_INDEX,
        # Every indexed article's length in tokens (bm25's D), for the rare words of a
        # search, whose counts come from FTS5's own instance list (see queries.py).
        """CREATE TABLE IF NOT EXISTS search_lengths (
            id INTEGER PRIMARY KEY,
            length INTEGER NOT NULL
        )""",
        # Keyed by (list, id): a query reads whole lists, a change drops (list, id) pairs.
        """CREATE TABLE IF NOT EXISTS search_top (
            list INTEGER NOT NULL,
            id INTEGER NOT NULL,
            impact REAL NOT NULL,
            freq REAL NOT NULL,
            length INTEGER NOT NULL,
            PRIMARY KEY (list, id)
        ) WITHOUT ROWID""",
    ):
        conn.execute(statement)


def active(conn: sqlite3.Connection) -> bool:
    try:
        return conn.execute("SELECT 1 FROM search_stats").fetchone() is not None
    except sqlite3.OperationalError:
        return False


def build(conn: sqlite3.Connection) -> None:
    """Count and list from scratch what the full-text index holds now (its queue written out
    first): two passes over the articles' text, counting words (and writing each article's
    length), then finding each common word's best TOP_SIZE articles. Minutes at a million
    articles; run by migration v7 and by `repair`.

    The lists are not held in memory (6 million entries at a million articles, over 1 GB as
    Python tuples): the second pass writes the articles that may be among a word's best to a
    temporary table, and keeps only what tells which those are (_candidates)."""
    conn.execute("DELETE FROM search_top")
    conn.execute("DELETE FROM search_words")
    conn.execute("DELETE FROM search_stats")
    conn.execute("DELETE FROM search_lengths")
    select = "SELECT id, title, description, body FROM articles ORDER BY id"
    insert_lengths = "INSERT INTO search_lengths(id, length) VALUES (?, ?)"
    docs: Counter = Counter()
    articles = total = 0
    lengths = []
    for article_id, title, description, body in conn.execute(select):
        freq, length = _article_counts(title, description, body)
        docs.update(freq.keys())
        lengths.append((article_id, length))
        if len(lengths) == BUILD_BATCH:
            conn.executemany(insert_lengths, lengths)
            lengths.clear()
        articles += 1
        total += length
    conn.executemany(insert_lengths, lengths)
    avgdl = total / articles if articles else None
    conn.execute(
        "INSERT INTO search_stats(id, docs, tokens, avgdl_ref) VALUES (1, ?, ?, ?)",
        [articles, total, avgdl if articles >= TOP_MIN_DOCS else None],
    )
    common = {
        word: n for n, word in enumerate(sorted(w for w, c in docs.items() if c >= TOP_MIN_DOCS))
    }
    floors: dict[bytes, float] = {}
    if common:
        floors = _candidates(conn, select, common, total / articles)
        _list_candidates(conn, common, floors)
    conn.executemany(
        "INSERT INTO search_words(word, docs, list, floor) VALUES (?, ?, ?, ?)",
        (
            (word.decode(), count, common.get(word), floors.get(word))
            for word, count in docs.items()
        ),
    )


# Rows a build pass writes at a time (search_lengths, candidates).
BUILD_BATCH = 10_000
_CANDIDATES = "search_build_candidates"


def _candidates(
    conn: sqlite3.Connection, select: str, lists: dict[bytes, int], avgdl: float
) -> dict[bytes, float]:
    """Into the temporary table _CANDIDATES (list, impact, id, freq, length), every article that
    may be among its common words' best TOP_SIZE + 1 (the last gives the floor), with others;
    returns each listed word's floor: the impact of its (TOP_SIZE + 1)th best article, 0.0 if
    it has no more than TOP_SIZE.

    Per word, memory keeps a bar and the impacts of at least TOP_SIZE + 1 of the articles seen
    (all of them until there are that many): when a quarter more have come, the best TOP_SIZE + 1
    stay and the bar rises to the lowest of them. An article is written if its impact is at
    least the bar; one that is not weighs less than TOP_SIZE + 1 articles seen, so it is neither
    listed nor the floor. The impacts kept are then the best of all: the floor is the
    (TOP_SIZE + 1)th of them. A word in n articles gets about TOP_SIZE * (1 + ln(n / TOP_SIZE))
    written (at 200,000 synthetic articles, 3.9 times the lists' size), on disk: SQLite's
    temporary file."""
    # One a build stopped outside a transaction left on this connection would be in the way.
    conn.execute(f"DROP TABLE IF EXISTS temp.{_CANDIDATES}")
    conn.execute(f"DROP TABLE IF EXISTS temp.{_CANDIDATES}_floors")
    conn.execute(
        f"CREATE TEMP TABLE {_CANDIDATES} (list INTEGER NOT NULL, impact REAL NOT NULL, "
        "id INTEGER NOT NULL, freq REAL NOT NULL, length INTEGER NOT NULL)"
    )
    insert = f"INSERT INTO temp.{_CANDIDATES} VALUES (?, ?, ?, ?, ?)"
    keep = TOP_SIZE + 1
    # A quarter: at 200,000 articles a sixth fewer written than with twice TOP_SIZE + 1 kept
    # (the bar lags less), for some 20 sorts of 1,250 floats a list.
    slack = keep // 4 + 1
    bars = dict.fromkeys(lists, float("-inf"))
    seen = {word: array("d") for word in lists}
    listed = lists.keys()
    rows: list[tuple] = []
    for article_id, title, description, body in conn.execute(select):
        freq, length = _article_counts(title, description, body)
        shared = list(listed & freq.keys())
        if not shared:
            continue
        # An article shares ~180 words with the lists at a million articles and passes few bars.
        counts, scores, word_bars = _impacts(freq, shared, length, avgdl, bars)
        for word, count, score in compress(
            zip(shared, counts, scores, strict=True), map(operator.ge, scores, word_bars)
        ):
            rows.append((lists[word], score, article_id, count, length))
            impacts = seen[word]
            impacts.append(score)
            if len(impacts) == keep + slack:
                best = sorted(impacts)[-keep:]
                bars[word] = best[0]
                seen[word] = array("d", best)
        if len(rows) >= BUILD_BATCH:
            conn.executemany(insert, rows)
            rows.clear()
    conn.executemany(insert, rows)
    return {
        word: sorted(impacts)[-keep] if len(impacts) >= keep else 0.0
        for word, impacts in seen.items()
    }


def _list_candidates(
    conn: sqlite3.Connection, lists: dict[bytes, int], floors: dict[bytes, float]
) -> None:
    """Each list's best TOP_SIZE candidates by (impact, id), as a heap of all its articles keeps
    them, into search_top: those above the floor (never more than TOP_SIZE), then of those at
    the floor the highest ids that fit. Two reads of the candidates, no sort of them."""
    conn.execute(f"CREATE TEMP TABLE {_CANDIDATES}_floors (list INTEGER PRIMARY KEY, floor REAL)")
    conn.executemany(
        f"INSERT INTO temp.{_CANDIDATES}_floors VALUES (?, ?)",
        ((lists[word], floor) for word, floor in floors.items()),
    )
    join = (
        f"FROM temp.{_CANDIDATES} c JOIN temp.{_CANDIDATES}_floors f ON f.list = c.list "
        "WHERE c.impact"
    )
    conn.execute(
        "INSERT INTO search_top(list, impact, id, freq, length) "
        f"SELECT c.list, c.impact, c.id, c.freq, c.length {join} > f.floor"
    )
    ties: dict[int, list[tuple]] = {}
    for row in conn.execute(f"SELECT c.list, c.impact, c.id, c.freq, c.length {join} = f.floor"):
        ties.setdefault(row[0], []).append(row)
    if ties:
        above: dict[int, int] = {}
        for chunk in _chunks(list(ties)):
            above.update(
                conn.execute(
                    "SELECT list, count(*) FROM search_top WHERE list IN "
                    f"({','.join('?' * len(chunk))}) GROUP BY list",
                    chunk,
                ).fetchall()
            )
        conn.executemany(
            "INSERT INTO search_top(list, impact, id, freq, length) VALUES (?, ?, ?, ?, ?)",
            (
                row
                for list_id, rows in ties.items()
                for row in sorted(rows, key=operator.itemgetter(2), reverse=True)[
                    : TOP_SIZE - above.get(list_id, 0)
                ]
            ),
        )
    conn.execute(f"DROP TABLE temp.{_CANDIDATES}")
    conn.execute(f"DROP TABLE temp.{_CANDIDATES}_floors")


def _stats(conn: sqlite3.Connection) -> tuple[int, int, float | None]:
    return conn.execute("SELECT docs, tokens, avgdl_ref FROM search_stats").fetchone()


def _chunks(items: Sequence, size: int = 500) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# What a writing connection knows of the lists between its transactions: the listed words (UTF-8)
# with their list and floor, each list's size, and its lowest entries. With them, trimming a list
# back to TOP_SIZE costs a few in-memory steps instead of a count and a sort of its 1,000 entries
# (the largest share of the upkeep at a million articles, where a commit touches about a thousand
# lists). They are only trusted while nothing else can have changed the lists: they are dropped
# when another connection committed since (PRAGMA data_version), and when the transaction that
# last changed them was not confirmed committed (committed(), called after the COMMIT: a rollback
# leaves them ahead of the file).
class Upkeep:
    """Per connection, valid for one write transaction at a time: see upkeep() and committed()."""

    def __init__(self, conn: sqlite3.Connection, version: int) -> None:
        self.conn = conn
        self.version = version
        self.pending = False
        # The listed words (UTF-8): their list, their floor, and each list's word (None: not
        # read yet in this state).
        self.lists: dict[bytes, int] | None = None
        self.floors: dict[bytes, float] = {}
        self.word_of: dict[int, bytes] = {}
        # Entries per list; and per list its lowest entries (impact, id), ascending, such that
        # every other entry of the list ranks above the last of them (lists absent: not known).
        self.sizes: dict[int, int] = {}
        self.bottoms: dict[int, list[tuple[float, int]]] = {}
        # Fresh entries waiting for the merge (None: not counted yet in this state).
        self.fresh: int | None = None

    def forget(self, lists: Iterable[int]) -> None:
        for list_id in lists:
            self.sizes.pop(list_id, None)
            self.bottoms.pop(list_id, None)


# Lowest entries kept in memory per list (at least; twice what a trim cut when it read them): a
# full list gets an entry or two per commit that touches it and loses as many of its lowest, so a
# bottom read once serves ~BOTTOM trims. About 120 bytes an entry: ~15 MB for 7,700 lists.
BOTTOM = 16
_UPKEEP: dict[int, Upkeep] = {}


def upkeep(conn: sqlite3.Connection) -> Upkeep:
    """The connection's list knowledge for the write transaction open now (call once in it, before
    remove/add/make_lists): as left by its last confirmed transaction, or empty."""
    version = conn.execute("PRAGMA data_version").fetchone()[0]
    state = _UPKEEP.get(id(conn))
    if state is None or state.conn is not conn or state.pending or state.version != version:
        for key in [key for key, value in _UPKEEP.items() if value.conn is conn]:
            del _UPKEEP[key]
        if len(_UPKEEP) > 16:  # connections long closed
            _UPKEEP.clear()
        state = _UPKEEP[id(conn)] = Upkeep(conn, version)
    state.pending = True
    return state


def committed(conn: sqlite3.Connection) -> None:
    """The transaction that last used upkeep(conn) is committed: what it learnt holds."""
    state = _UPKEEP.get(id(conn))
    if state is not None and state.conn is conn:
        state.pending = False


def _pairs(words: list[str], counts: list[int], size: int = 5000) -> Iterable[tuple[list, int]]:
    """(word, count) pairs bound as one flat list per `size` words, with how many it holds."""
    for start in range(0, len(words), size):
        chunk = words[start : start + size]
        values: list[Any] = [None] * (2 * len(chunk))
        values[0::2] = chunk
        values[1::2] = counts[start : start + size]
        yield values, len(chunk)


def remove(conn: sqlite3.Connection, rows: list[tuple], state: Upkeep | None = None) -> None:
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
    gone = conn.executemany(
        "DELETE FROM search_top WHERE list = ? AND id = ?",
        [(~list_id, article_id) for list_id, article_id in pairs],
    ).rowcount
    if state is not None:
        # Not every pair had an entry: these lists' sizes and bottoms are read again when needed.
        state.forget({list_id for list_id, _ in pairs})
        if state.fresh is not None:
            state.fresh -= max(gone, 0)


def add(conn: sqlite3.Connection, rows: list[tuple], state: Upkeep | None = None) -> list[str]:
    """When `rows` (id, title, description, body) go into the index: their counts in, and a
    fresh entry in each list whose floor their impact beats (merged into the lists, which are
    trimmed back to TOP_SIZE, once FRESH_PER_LIST a list are waiting). Returns
    the words that have just become common and need a list (see make_lists: the index must hold
    the rows first). `state`: upkeep(conn) of this transaction, if the caller keeps one."""
    if not rows:
        return []
    if state is None:
        state = Upkeep(conn, 0)
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
    lists = _listed_words(conn, state)
    # Listed words: exact counts, from the words each article shares with the lists, which the
    # entries need anyway. The others: counted from sampled articles (COUNT_EVERY).
    docs: Counter = Counter()
    entries = []
    if lists:
        avgdl = _stats(conn)[2]
        if not isinstance(avgdl, float):
            # Lists exist only once avgdl_ref is set: rows read as lists that are none (an index
            # page of search_words overwritten by another table's page) are damage.
            raise _damaged("search lists without their average length")
        floor_of = state.floors
        for article_id, freq, length in terms:
            shared = list(lists.keys() & freq.keys())
            docs.update(shared)
            # An article shares ~180 words with the lists at a million articles and enters a
            # few: only those that enter are made into entries in Python.
            counts, scores, floors = _impacts(freq, shared, length, avgdl, floor_of)
            for word, f, score in compress(
                zip(shared, counts, scores, strict=True), map(operator.gt, scores, floors)
            ):
                entries.append((~lists[word], score, article_id, f, length))
    is_listed = lists.__contains__
    sampled: Counter = Counter()
    for article_id, freq, _ in terms:
        if article_id % COUNT_EVERY == 0:
            # In the article's word order (filterfalse keeps it): the order words come back
            # from the upsert is the order make_lists numbers their lists in.
            sampled.update(filterfalse(is_listed, freq))
    newly: list[str] = []
    # Decoded in one call, not one a word (a token holds no newline), and bound as one flat list.
    words = b"\n".join(sampled).decode().split("\n") if sampled else []
    for values, size in _pairs(words, [COUNT_EVERY * n for n in sampled.values()]):
        # Only the words now common come back with their name (the rest as NULL): most rows
        # are words still rare, and the RETURNING order is the VALUES order either way.
        for (word,) in conn.execute(
            "INSERT INTO search_words(word, docs) VALUES "
            + ",".join(["(?, ?)"] * size)
            + " ON CONFLICT(word) DO UPDATE SET docs = docs + excluded.docs "
            f"RETURNING CASE WHEN docs >= {TOP_MIN_DOCS} THEN word END",
            values,
        ).fetchall():
            if word is not None:
                newly.append(word)
    # The listed words' counts: an upsert too (each row exists: an update), one statement for
    # thousands of words instead of one each. (Not in the statement above: SQLite 3.40 reads
    # `list IS NULL` wrongly in an upsert's RETURNING, which that one would then need.)
    words = b"\n".join(docs).decode().split("\n") if docs else []
    for values, size in _pairs(words, list(docs.values())):
        conn.execute(
            "INSERT INTO search_words(word, docs) VALUES "
            + ",".join(["(?, ?)"] * size)
            + " ON CONFLICT(word) DO UPDATE SET docs = docs + excluded.docs",
            values,
        )
    if entries:
        _insert_entries(conn, state, entries)
        if state.fresh is None:  # not counted yet in this state, or entries were replaced
            (state.fresh,) = conn.execute(
                "SELECT count(*) FROM search_top WHERE list < 0"
            ).fetchone()
        else:
            state.fresh += len(entries)
        if state.fresh >= FRESH_PER_LIST * len(lists):
            merge(conn, state)
    return newly


def _insert_entries(conn: sqlite3.Connection, state: Upkeep, entries: list[tuple]) -> None:
    try:
        # A plain INSERT: an entry already there (an article indexed again without its old
        # entries dropped, which the triggers never do) would leave a list's size unknown. (A
        # fresh entry beside a merged one of the same article is met at the merge instead.)
        conn.executemany(
            "INSERT INTO search_top(list, impact, id, freq, length) VALUES (?, ?, ?, ?, ?)",
            entries,
        )
    except sqlite3.IntegrityError:
        conn.executemany(
            "INSERT OR REPLACE INTO search_top(list, impact, id, freq, length) "
            "VALUES (?, ?, ?, ?, ?)",
            entries,
        )
        state.forget({entry[0] for entry in entries})
        state.fresh = None


def merge(conn: sqlite3.Connection, state: Upkeep | None = None, most: int | None = None) -> None:
    """The fresh entries of the `most` lists holding the most (MERGE_LISTS when None; ties: the
    lower list first) into their lists, in list order, and those lists trimmed back to TOP_SIZE
    (their floors raised), inside the caller's transaction; the others wait for a later merge."""
    if state is None:
        state = Upkeep(conn, 0)
    if most is None:
        most = MERGE_LISTS
    # Per list, in key order (~list: the lists in ascending order), read off the few pages the
    # fresh entries fill.
    waiting = conn.execute(
        "SELECT list, count(*) FROM search_top WHERE list < 0 GROUP BY list ORDER BY list DESC"
    ).fetchall()
    if len(waiting) <= most:
        entries = conn.execute(
            "SELECT ~list, impact, id, freq, length FROM search_top WHERE list < 0 "
            "ORDER BY list DESC, id"
        ).fetchall()
        state.fresh = 0
        if not entries:
            return
        conn.execute("DELETE FROM search_top WHERE list < 0")
    else:
        taken = sorted(waiting, key=lambda row: -row[1])[:most]  # stable: lower lists on ties
        keys = sorted((key for key, _ in taken), reverse=True)
        entries = []
        one_list = (
            "SELECT ~list, impact, id, freq, length FROM search_top WHERE list = ? ORDER BY id"
        )
        for key in keys:
            entries += conn.execute(one_list, [key]).fetchall()
        state.fresh = sum(count for _, count in waiting) - len(entries)
        conn.executemany("DELETE FROM search_top WHERE list = ?", ((key,) for key in keys))
    _insert_entries(conn, state, entries)
    _trim(conn, state, entries)


def _damaged(what: str) -> sqlite3.DatabaseError:
    """SQLite's own damage error for what reads back wrong without SQLite noticing, so that it
    is said and stopped at as SQLite's is (opening.is_damage)."""
    return sqlite3.DatabaseError(f"database disk image is malformed ({what})")


def _listed_words(conn: sqlite3.Connection, state: Upkeep) -> dict[bytes, int]:
    """The listed words (UTF-8) with their list ids; their floors in state.floors."""
    if state.lists is None:
        state.lists, state.floors, state.word_of = {}, {}, {}
        for word, list_id, floor in conn.execute(
            "SELECT word, list, floor FROM search_words WHERE list IS NOT NULL"
        ):
            if not isinstance(word, str) or not isinstance(list_id, int):
                raise _damaged(f"a search list row that is none: {word!r}, {list_id!r}")
            key = word.encode()
            state.lists[key] = list_id
            state.floors[key] = floor or 0.0
            state.word_of[list_id] = key
    return state.lists


def _trim(conn: sqlite3.Connection, state: Upkeep, entries: list[tuple]) -> None:
    """The lists `entries` (list, impact, id, ...) went into, back to TOP_SIZE: each list's lowest
    entries by (impact, id) go, and its floor rises to the best of them. A list whose size and
    lowest entries are known (state) is trimmed from them; another is counted and its lowest read
    (one statement, bounded by the LIMIT), which the state then keeps."""
    added: dict[int, list[tuple[float, int]]] = {}
    for list_id, score, article_id, _, _ in entries:
        added.setdefault(list_id, []).append((score, article_id))
    doomed = []
    floors = []
    sizes, bottoms = state.sizes, state.bottoms
    for list_id, new in added.items():
        size = sizes.get(list_id)
        bottom = bottoms.get(list_id)
        if size is not None and bottom is not None:
            for entry in new:
                # Below the last kept entry it is among the lowest; above, it leaves the bottom
                # as it was (every entry outside ranks above its last). A bottom as long as its
                # list holds all of it.
                if len(bottom) == size or entry < bottom[-1]:
                    bisect.insort(bottom, entry)
                size += 1
        else:
            size = conn.execute(
                "SELECT count(*) FROM search_top WHERE list = ?", [list_id]
            ).fetchone()[0]
            bottom = []
        over = size - TOP_SIZE
        if len(bottom) <= max(over, 0) and len(bottom) < size:
            # Its lowest entries, those over TOP_SIZE and twice as many (at least BOTTOM) to
            # keep: one statement, a sort bounded by its LIMIT.
            bottom = conn.execute(
                "SELECT impact, id FROM search_top WHERE list = ? ORDER BY impact, id LIMIT ?",
                [list_id, max(over, 0) + max(BOTTOM, 2 * over)],
            ).fetchall()
        if over > 0:
            cut = bottom[:over]
            del bottom[:over]
            size = TOP_SIZE
            doomed.extend((list_id, article_id) for _, article_id in cut)
            floors.append((cut[-1][0], list_id))
        if bottom or not size:
            sizes[list_id], bottoms[list_id] = size, bottom
        else:
            state.forget([list_id])
    if not doomed:
        return
    conn.executemany("DELETE FROM search_top WHERE list = ? AND id = ?", doomed)
    conn.executemany(
        "UPDATE search_words SET floor = max(coalesce(floor, 0), ?) WHERE list = ?", floors
    )
    if state.lists is not None:
        for floor, list_id in floors:
            word = state.word_of[list_id]
            state.floors[word] = max(state.floors[word], floor)


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


# FTS5's instance list (term, doc, col, offset) as a temp table of the connection (temp, so it can
# be made on a read-only connection too): make_lists reads a new list's counts from it, and
# queries.py a rare word's.
INSTANCES = "temp.search_instances"
CREATE_INSTANCES = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {INSTANCES} USING fts5vocab(main, articles_fts, instance)"
)


def make_lists(conn: sqlite3.Connection, words: list[str], state: Upkeep | None = None) -> None:
    """Lists for words that have just become common, read from the full-text index (which now
    holds every article with them): each match's column-weighted count from the word's instances
    in the index (for a word FTS5 might split otherwise, one that is not ASCII: from FTS5's bm25
    for the word alone, idf times its impact at the current avgdl, and the article's length)."""
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
    weighted = " ".join(
        f"WHEN '{column}' THEN {weight!r}"
        for column, weight in zip(("title", "description", "body"), WEIGHTS, strict=True)
    )
    # Both in SQL, so Python sees only the best: each match's count and length, its impact at
    # avgdl_ref, the best TOP_SIZE (and the next one: the floor).
    best_sql = (
        f"SELECT freq * {K1 + 1} / (freq + {K1} * ({1 - B} + {B} * length / ?)) AS impact, "
        "id, freq, length FROM g WHERE freq > 0 ORDER BY impact DESC, id DESC LIMIT ?"
    )
    # The instances of an ASCII word are exactly its matches: unicode61 keeps a token of a-z and
    # 0-9 as it is. Three to four times cheaper than bm25, which reads the word's list twice
    # more (its document count, then each match's instances) and whose counts come back
    # through floating point.
    by_instances = f"""
        WITH g AS (
            SELECT i.doc AS id, l.length, sum(CASE i.col {weighted} END) AS freq
            FROM {INSTANCES} i CROSS JOIN search_lengths l ON l.id = i.doc
            WHERE i.term = ? GROUP BY i.doc
        )
        {best_sql}
        """
    by_bm25 = f"""
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
        {best_sql}
        """
    if any(word.isascii() for word in words):
        conn.execute(CREATE_INSTANCES)
    for word in words:
        # Its exact count (it was counted from a sample), read from the index: a short list.
        count = conn.execute(
            "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH ?", ['"' + word + '"']
        ).fetchone()[0]
        if word.isascii():
            best = conn.execute(by_instances, [word, avgdl_ref, TOP_SIZE + 1]).fetchall()
        else:
            weight = idf(count, articles)
            best = conn.execute(
                by_bm25, [weight, '"' + word + '"', avgdl_now, avgdl_ref, TOP_SIZE + 1]
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
        if state is not None:
            state.sizes[next_list] = len(heap)
            state.bottoms[next_list] = [(impact, id_) for impact, id_, _, _ in heap[::-1][:BOTTOM]]
            if state.lists is not None:
                key = word.encode()
                state.lists[key], state.floors[key] = next_list, floor or 0.0
                state.word_of[next_list] = key
        next_list += 1
