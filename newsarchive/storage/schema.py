"""The archive's schema, as an ordered list of migrations applied when a file is opened.

Each database file records how far it has been migrated in `PRAGMA user_version`; opening runs the
missing steps in one transaction each, so an archive written by an older newsarchive upgrades in
place without losing anything, and a half-applied step never sticks. Never edit a released step:
add a new one.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from newsarchive.errors import NewsarchiveError
from newsarchive.storage import search_tops
from newsarchive.storage.opening import lenient_text, retry_busy
from newsarchive.urls import normalize_url

logger = logging.getLogger(__name__)

Migration = Callable[[sqlite_utils.Database], None]

# The record fields of an Article, in the column order of the `articles` table. Lists and dicts
# are stored as JSON text (authors and tags as JSON arrays, so Datasette can facet on them).
RECORD_COLUMNS = (
    "title",
    "description",
    "body",
    "authors",
    "contributors",
    "published",
    "modified",
    "category",
    "tags",
    "image",
    "captions",
    "canonical_url",
    "language",
    "site_name",
    "removed",
    "sources",
    "raw",
    "notes",
)
JSON_COLUMNS = frozenset(
    {"authors", "contributors", "tags", "captions", "removed", "sources", "raw", "notes"}
)
# What counts as the article's content: a change in any of these is a new version.
CONTENT_COLUMNS = (
    "title",
    "description",
    "body",
    "authors",
    "published",
    "modified",
    "category",
    "tags",
)
FTS_COLUMNS = ("title", "description", "body")
# Fields whose fill rate `stats` and the Datasette canned query report (the ones an analyst notices
# missing), counted per site in `site_fills` (v9). A JSON list counts as filled when it is not
# '[]', a text when anything but spaces is left of it (SQLite's trim() cuts spaces only).
# site_fills' columns and triggers are made from these: a change needs a new step rebuilding them.
SITE_FILL_FIELDS = (
    "title",
    "authors",
    "published",
    "modified",
    "category",
    "tags",
    "description",
    "body",
    "image",
)
LIST_FIELDS = frozenset({"authors", "tags"})


def filled_sql(value: str, column: str) -> str:
    """SQL that is 1 where `value` (an expression: `new.title`) counts as a filled `column`, else
    0 — never NULL, so it adds up: site_fills' triggers and the fill rates' full scan
    (queries.fill_rates_scan_sql) both count with it."""
    if column in LIST_FIELDS:
        return f"coalesce({value} != '[]', 0)"
    return f"(nullif(trim({value}), '') IS NOT NULL)"


# --- archive.db -----------------------------------------------------------------------------


def _archive_v1(db: sqlite_utils.Database) -> None:
    """Articles, their old versions, crawl runs, failures and the full-text index."""
    db.executescript(
        """
        -- Column order matters: SQLite reads a row front to back and keeps long values in
        -- overflow pages, so the short columns that facets, filters and sorts touch come first
        -- and the long texts last (measured on 100,000 articles: a category facet went from a
        -- time-out to milliseconds).
        CREATE TABLE articles (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL UNIQUE,
            site TEXT NOT NULL,
            published_date TEXT,
            published_utc TEXT,
            published TEXT,
            modified TEXT,
            category TEXT,
            authors TEXT NOT NULL DEFAULT '[]',
            tags TEXT NOT NULL DEFAULT '[]',
            title TEXT,
            language TEXT,
            site_name TEXT,
            word_count INTEGER,
            extractor_version TEXT,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            fetch_count INTEGER NOT NULL DEFAULT 1,
            content_since TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            page_id INTEGER,
            page_url TEXT,
            final_url TEXT,
            canonical_url TEXT,
            image TEXT,
            description TEXT,
            contributors TEXT NOT NULL DEFAULT '[]',
            sources TEXT NOT NULL DEFAULT '{}',
            raw TEXT NOT NULL DEFAULT '{}',
            notes TEXT NOT NULL DEFAULT '[]',
            captions TEXT NOT NULL DEFAULT '[]',
            removed TEXT NOT NULL DEFAULT '[]',
            body TEXT
        );
        -- One index per facet / filter / sort column: Datasette's facets then count from the
        -- index instead of scanning every row.
        CREATE INDEX articles_site_published_utc ON articles(site, published_utc);
        CREATE INDEX articles_published_utc ON articles(published_utc);
        CREATE INDEX articles_published_date ON articles(published_date);
        CREATE INDEX articles_category ON articles(category);
        CREATE INDEX articles_authors ON articles(authors);
        CREATE INDEX articles_first_seen ON articles(first_seen);

        CREATE TABLE versions (
            id INTEGER PRIMARY KEY,
            article_id INTEGER NOT NULL REFERENCES articles(id),
            url TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            seen_from TEXT NOT NULL,
            seen_until TEXT NOT NULL,
            replaced_at TEXT NOT NULL,
            reason TEXT NOT NULL,
            extractor_version TEXT,
            published TEXT,
            modified TEXT,
            category TEXT,
            authors TEXT,
            tags TEXT,
            title TEXT,
            description TEXT,
            body TEXT
        );
        CREATE INDEX versions_article ON versions(article_id);

        CREATE TABLE crawl_runs (
            id INTEGER PRIMARY KEY,
            site TEXT NOT NULL,
            started TEXT NOT NULL,
            finished TEXT,
            settings TEXT NOT NULL DEFAULT '{}',
            pages_fetched INTEGER,
            articles_new INTEGER,
            articles_updated INTEGER,
            articles_unchanged INTEGER,
            failures INTEGER
        );

        CREATE TABLE failures (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL,
            at TEXT NOT NULL,
            reason TEXT NOT NULL,
            status INTEGER,
            site TEXT,
            run_id INTEGER REFERENCES crawl_runs(id)
        );
        CREATE INDEX failures_at ON failures(at);

        -- External-content FTS5 index: the text lives once, in articles. unicode61 with
        -- diacritics removed, no stemmer: Porter would mangle Indonesian words.
        CREATE VIRTUAL TABLE articles_fts USING fts5(
            title, description, body,
            content="articles", content_rowid="id",
            tokenize='unicode61 remove_diacritics 2'
        );
        -- Re-index only when the indexed text changes: a revisit that merely bumps last_seen
        -- must not rewrite the index.
        CREATE TRIGGER articles_ai AFTER INSERT ON articles BEGIN
            INSERT INTO articles_fts(rowid, title, description, body)
            VALUES (new.id, new.title, new.description, new.body);
        END;
        CREATE TRIGGER articles_ad AFTER DELETE ON articles BEGIN
            INSERT INTO articles_fts(articles_fts, rowid, title, description, body)
            VALUES ('delete', old.id, old.title, old.description, old.body);
        END;
        CREATE TRIGGER articles_au AFTER UPDATE OF title, description, body ON articles
        WHEN old.title IS NOT new.title OR old.description IS NOT new.description
            OR old.body IS NOT new.body
        BEGIN
            INSERT INTO articles_fts(articles_fts, rowid, title, description, body)
            VALUES ('delete', old.id, old.title, old.description, old.body);
            INSERT INTO articles_fts(rowid, title, description, body)
            VALUES (new.id, new.title, new.description, new.body);
        END;
        """
    )


def _archive_v2(db: sqlite_utils.Database) -> None:
    """Every URL an article was reached by: request, final and canonical URL, normalised.

    A revisit through any of them (a short link, a redirect, a tracking-tagged link) then finds
    the same article. Backfilled from the URLs v1 kept with each article.
    """
    db.executescript(
        """
        CREATE TABLE article_urls (
            url TEXT PRIMARY KEY,
            article_id INTEGER NOT NULL REFERENCES articles(id)
        ) WITHOUT ROWID;
        CREATE INDEX article_urls_article ON article_urls(article_id);
        """
    )
    aliases = []
    for article_id, *urls in db.execute(
        "SELECT id, url, page_url, final_url FROM articles ORDER BY id"
    ).fetchall():
        aliases.extend((normalize_url(url), article_id) for url in urls if url)
    db.conn.executemany(
        "INSERT OR IGNORE INTO article_urls(url, article_id) VALUES (?, ?)", aliases
    )


def _archive_v3(db: sqlite_utils.Database) -> None:
    """Run provenance, so a crawl can be cited and compared with the site's other runs: the
    newsarchive version, the plan entry it ran for (JSON, NULL for a manual crawl), Scrapy's
    finish reason, and the run's health signals — per-field fill-rates of the articles it stored
    (JSON: field -> percent) and its page-kind counts (JSON: kind -> pages)."""
    db.executescript(
        """
        ALTER TABLE crawl_runs ADD COLUMN version TEXT;
        ALTER TABLE crawl_runs ADD COLUMN plan_entry TEXT;
        ALTER TABLE crawl_runs ADD COLUMN finish_reason TEXT;
        ALTER TABLE crawl_runs ADD COLUMN articles_seen INTEGER;
        ALTER TABLE crawl_runs ADD COLUMN fill_rates TEXT;
        ALTER TABLE crawl_runs ADD COLUMN page_kinds TEXT;
        CREATE INDEX crawl_runs_site ON crawl_runs(site, id);
        """
    )


def _archive_v4(db: sqlite_utils.Database) -> None:
    """Authors and tags as rows, one per (article, name), for SQL that groups or joins on them
    (`select author, count(*) from article_authors group by author`) without json_each over
    every article. The JSON arrays in `articles` stay the record; triggers keep these two tables
    equal to them on every write (store, revisit, re-extraction), as the FTS triggers keep the
    index — no write path can forget them. Backfilled from the arrays."""
    statements = []
    for table, column, name in (
        ("article_authors", "authors", "author"),
        ("article_tags", "tags", "tag"),
    ):
        # One row per distinct name: a byline naming someone twice is still one article of theirs.
        fill = (
            f"INSERT OR IGNORE INTO {table}(article_id, {name}) "
            f"SELECT new.id, trim(value) FROM json_each(new.{column}) "
            "WHERE type = 'text' AND trim(value) != '';"
        )
        statements.append(
            f"""
            CREATE TABLE {table} (
                article_id INTEGER NOT NULL REFERENCES articles(id),
                {name} TEXT NOT NULL,
                PRIMARY KEY (article_id, {name})
            ) WITHOUT ROWID;
            CREATE INDEX {table}_{name} ON {table}({name}, article_id);
            CREATE TRIGGER {table}_ai AFTER INSERT ON articles BEGIN
                {fill}
            END;
            CREATE TRIGGER {table}_au AFTER UPDATE OF {column} ON articles
            WHEN old.{column} IS NOT new.{column}
            BEGIN
                DELETE FROM {table} WHERE article_id = old.id;
                {fill}
            END;
            CREATE TRIGGER {table}_ad AFTER DELETE ON articles BEGIN
                DELETE FROM {table} WHERE article_id = old.id;
            END;
            INSERT OR IGNORE INTO {table}(article_id, {name})
            SELECT a.id, trim(j.value) FROM articles a, json_each(a.{column}) j
            WHERE json_valid(a.{column}) AND j.type = 'text' AND trim(j.value) != '';
            """
        )
    db.executescript("".join(statements))


def _archive_v5(db: sqlite_utils.Database) -> None:
    """A shared crawl's writer (newsarchive.distributed.writer) can be killed between committing
    a batch and telling Redis: the ids of the items it stored, committed with them, let the
    restarted writer skip the batch it finds again; its run's counts so far (JSON), committed
    with them too, carry the run row's counters across the restart."""
    # IF NOT EXISTS: the step must be safe to run again on a file rewound to an older version
    # (the migration tests replay later steps).
    db.execute(
        "CREATE TABLE IF NOT EXISTS shared_items (item_id TEXT PRIMARY KEY, "
        "run_id INTEGER REFERENCES crawl_runs(id)) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX IF NOT EXISTS shared_items_run ON shared_items(run_id)")
    db.execute(
        "CREATE TABLE IF NOT EXISTS shared_progress (run_id INTEGER PRIMARY KEY "
        "REFERENCES crawl_runs(id), progress TEXT NOT NULL)"
    )


def _archive_v6(db: sqlite_utils.Database) -> None:
    """The full-text index is written once per commit, not once per article.

    FTS5 flushes the terms it holds in memory to a new index segment whenever a savepoint or a
    statement journal opens while it is part of the transaction, and every store() opens several
    (its per-item savepoint, and each INSERT whose triggers write more than one table). Indexed
    from the triggers, every article therefore became a segment of its own, which FTS5 then kept
    merging: most of the insert time, and an index of many small segments. The triggers now only
    note what changed: the ids to (re)index in `articles_fts_queue`, and the text an index entry
    was made from in `articles_fts_stale` (an external-content index can only drop an entry given
    that text). Archive writes both into the index just before it commits (`index_queued`), so a
    commit adds one segment. Archive never commits a queued row unindexed; a write made outside
    Archive (plain SQL) stays queued until Archive's next commit or opening."""
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS articles_fts_queue (id INTEGER PRIMARY KEY);
        CREATE TABLE IF NOT EXISTS articles_fts_stale (
            seq INTEGER PRIMARY KEY,
            id INTEGER NOT NULL,
            title TEXT,
            description TEXT,
            body TEXT
        );
        DROP TRIGGER IF EXISTS articles_ai;
        DROP TRIGGER IF EXISTS articles_ad;
        DROP TRIGGER IF EXISTS articles_au;
        CREATE TRIGGER articles_ai AFTER INSERT ON articles BEGIN
            INSERT OR IGNORE INTO articles_fts_queue(id) VALUES (new.id);
        END;
        -- A row still queued is not in the index yet: there is no entry of it to drop.
        CREATE TRIGGER articles_ad AFTER DELETE ON articles BEGIN
            INSERT INTO articles_fts_stale(id, title, description, body)
            SELECT old.id, old.title, old.description, old.body
            WHERE old.id NOT IN (SELECT id FROM articles_fts_queue);
            DELETE FROM articles_fts_queue WHERE id = old.id;
        END;
        CREATE TRIGGER articles_au AFTER UPDATE OF title, description, body ON articles
        WHEN old.title IS NOT new.title OR old.description IS NOT new.description
            OR old.body IS NOT new.body
        BEGIN
            INSERT INTO articles_fts_stale(id, title, description, body)
            SELECT old.id, old.title, old.description, old.body
            WHERE old.id NOT IN (SELECT id FROM articles_fts_queue);
            INSERT OR IGNORE INTO articles_fts_queue(id) VALUES (new.id);
        END;
        """
    )


def _archive_v7(db: sqlite_utils.Database) -> None:
    """Top lists of common words (search_tops): per word its article count, for a word in at
    least search_tops.TOP_MIN_DOCS articles the articles it weighs most in, and every article's
    length, so a search of common words ranks from those instead of every match (queries.py).
    Kept in step with the full-text index by index_queued; built here from what the index holds:
    two passes over the articles' text, about 8 minutes at a million articles (as `repair
    --force` measured it: 464 CPU-s, 176 MB RSS) (about 180 bytes an article)."""
    articles = db.conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    if articles >= 50_000:
        # Minutes of silence would look like a hang: one line, once, on stderr.
        logger.warning(
            "upgrading the archive (schema v7): building the search lists of common words "
            "for %s articles, once; about %d min",
            f"{articles:,}",
            max(1, round(articles / 70_000)),
        )
    search_tops.create_tables(db.conn)
    build_search(db.conn)


def build_search(conn: sqlite3.Connection) -> None:
    """The full-text index of every article waiting in its queue, merged into one segment, then
    the top lists of common words counted from it (v7's build; `repair` builds a new file so)."""
    _index_queued(conn, tops=False)  # the index as the lists will count it
    # One segment: the lists' build reads every term's list once, each then in one place.
    conn.execute("INSERT INTO articles_fts(articles_fts) VALUES ('optimize')")
    search_tops.build(conn)


def _archive_v8(db: sqlite_utils.Database) -> None:
    """Indexes for browsing one site or one category, and one index less to write.

    At a million articles Datasette's page of one category (170,000 rows) sorted all of them by
    date to show the newest 20 (0.8 s) and a site's facets of category and dates read the site's
    200,000 rows (about 1 CPU-s each; the facet budget then left them uncounted). Now the category
    index carries the date, (category, published_utc), so the newest of a category are read in
    order, and (site, category) and (site, published_date) count a site's facets from the indexes
    alone. The index on the authors JSON text goes: author facets and filters read
    article_authors (v4), and it was one of the few indexes every insert writes at a random place
    (a page written per article at a million articles); so does the index of search_words.list
    over every word, rare ones included, now over the listed words only. About 10 s at a
    million articles."""
    if db.execute(
        "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_autoindex_search_words_2'"
    ).fetchone():
        db.executescript(
            """
            CREATE TABLE search_words_v8 (
                word TEXT PRIMARY KEY,
                docs INTEGER NOT NULL,
                list INTEGER,
                floor REAL
            ) WITHOUT ROWID;
            INSERT INTO search_words_v8 SELECT word, docs, list, floor FROM search_words;
            DROP TABLE search_words;
            ALTER TABLE search_words_v8 RENAME TO search_words;
            """
        )
        db.execute(search_tops.SEARCH_WORDS_LIST_INDEX)
    db.executescript(
        """
        DROP INDEX IF EXISTS articles_authors;
        DROP INDEX IF EXISTS articles_category;
        CREATE INDEX IF NOT EXISTS articles_category_published_utc
            ON articles(category, published_utc);
        CREATE INDEX IF NOT EXISTS articles_site_category ON articles(site, category);
        CREATE INDEX IF NOT EXISTS articles_site_published_date
            ON articles(site, published_date);
        """
    )


def _site_fills_upsert(row: str) -> str:
    """One article (`row`: new) added to its site's counts in site_fills."""
    fields = ", ".join(SITE_FILL_FIELDS)
    values = ", ".join(filled_sql(f"{row}.{column}", column) for column in SITE_FILL_FIELDS)
    sums = ", ".join(f"{column} = {column} + excluded.{column}" for column in SITE_FILL_FIELDS)
    # A site whose articles were all deleted keeps its row at 0: its extremes start again.
    return f"""
        INSERT INTO site_fills(site, articles, {fields}, first_seen_min, last_seen_max)
        VALUES ({row}.site, 1, {values}, {row}.first_seen, {row}.last_seen)
        ON CONFLICT(site) DO UPDATE SET articles = articles + 1, {sums},
            first_seen_min = iif(articles > 0,
                min(first_seen_min, excluded.first_seen_min), excluded.first_seen_min),
            last_seen_max = iif(articles > 0,
                max(last_seen_max, excluded.last_seen_max), excluded.last_seen_max);"""


def _site_fills_remove(row: str) -> str:
    """One article (`row`: old) taken out of its site's counts in site_fills."""
    less = ", ".join(
        f"{column} = {column} - {filled_sql(f'{row}.{column}', column)}"
        for column in SITE_FILL_FIELDS
    )
    # An extreme the article held may have been its alone: unknown (NULL) until counted again.
    return f"""
        UPDATE site_fills SET articles = articles - 1, {less},
            first_seen_min = iif({row}.first_seen > first_seen_min, first_seen_min, NULL),
            last_seen_max = iif({row}.last_seen < last_seen_max, last_seen_max, NULL)
        WHERE site = {row}.site;"""


def _archive_v9(db: sqlite_utils.Database) -> None:
    """Per site: its articles, how many have each SITE_FILL_FIELDS field filled, the earliest
    first_seen and the latest last_seen — what `stats` and the fill-rates canned query read
    every article row for (3.7 and 7 CPU-s at 1.1 M articles, more on a cold file; the query
    hit Datasette's time limit under load). Triggers keep the row in step with every write to
    `articles`, plain SQL included, as they keep article_authors. first_seen_min / last_seen_max are NULL where a delete or an edit
    took away the article that held them (finding the next one would read the site's rows in a
    trigger): readers count those from the articles. Filled from the rows once, here."""
    fields = ", ".join(SITE_FILL_FIELDS)
    counts = ",\n".join(f"{column} INTEGER NOT NULL" for column in SITE_FILL_FIELDS)
    watched = ", ".join(("site", *SITE_FILL_FIELDS, "first_seen", "last_seen"))
    changed = " OR ".join(
        f"old.{column} IS NOT new.{column}"
        for column in (*SITE_FILL_FIELDS, "first_seen", "last_seen")
    )
    deltas = ", ".join(
        f"{column} = {column} + {filled_sql(f'new.{column}', column)}"
        f" - {filled_sql(f'old.{column}', column)}"
        for column in SITE_FILL_FIELDS
    )
    flags = ", ".join(f"{filled_sql(column, column)} AS {column}" for column in SITE_FILL_FIELDS)
    sums = ", ".join(f"sum({column})" for column in SITE_FILL_FIELDS)
    statements = [
        f"""CREATE TABLE IF NOT EXISTS site_fills (
            site TEXT PRIMARY KEY,
            articles INTEGER NOT NULL,
            {counts},
            first_seen_min TEXT,
            last_seen_max TEXT
        ) WITHOUT ROWID""",
        *(
            f"DROP TRIGGER IF EXISTS {name}"
            for name in ("site_fills_ai", "site_fills_ad", "site_fills_au", "site_fills_au_site")
        ),
        f"""CREATE TRIGGER site_fills_ai AFTER INSERT ON articles BEGIN
            {_site_fills_upsert("new")}
        END""",
        f"""CREATE TRIGGER site_fills_ad AFTER DELETE ON articles BEGIN
            {_site_fills_remove("old")}
        END""",
        # A revisit or a re-extraction: the article stays in its site, one update of deltas.
        # Its site's earliest first_seen stays known where the article did not hold it or moved
        # earlier; the latest last_seen likewise.
        f"""CREATE TRIGGER site_fills_au AFTER UPDATE OF {watched} ON articles
        WHEN old.site IS new.site AND ({changed})
        BEGIN
            UPDATE site_fills SET {deltas},
                first_seen_min = iif(old.first_seen > first_seen_min
                    OR new.first_seen <= old.first_seen,
                    min(first_seen_min, new.first_seen), NULL),
                last_seen_max = iif(old.last_seen < last_seen_max
                    OR new.last_seen >= old.last_seen,
                    max(last_seen_max, new.last_seen), NULL)
            WHERE site = new.site;
        END""",
        f"""CREATE TRIGGER site_fills_au_site AFTER UPDATE OF site ON articles
        WHEN old.site IS NOT new.site
        BEGIN
            {_site_fills_remove("old")}
            {_site_fills_upsert("new")}
        END""",
        "DELETE FROM site_fills",
        # One pass over the table in its order (NOT INDEXED: through a (site, ...) index each row
        # is read at a random place, slow on a cold file), each row cut down to its flags first
        # (grouped as they come, the whole rows, bodies and all, would be sorted): 3.1 CPU-s at
        # 1.1 M articles, against 8.1 grouping the rows and 4.0 through the index (warm).
        f"""INSERT INTO site_fills(site, articles, {fields}, first_seen_min, last_seen_max)
        WITH flags AS MATERIALIZED (
            SELECT site, {flags}, first_seen, last_seen FROM articles NOT INDEXED
        )
        SELECT site, count(*), {sums}, min(first_seen), max(last_seen)
        FROM flags GROUP BY site""",
    ]
    # One statement at a time, inside migrate's transaction (sqlite3's own executescript would
    # commit it first): the step and its version number stick together or not at all.
    for statement in statements:
        db.conn.execute(statement)


def _archive_v10(db: sqlite_utils.Database) -> None:
    """Which raw pages file is this archive's. Records point at their pages by id, so a pages
    file that is not the archive's own — another archive's, an older copy restored from another
    backup, or a new empty one made because the file was left behind when archive.db was copied
    — gives those ids to other pages, and re-extraction then rebuilds records from the wrong
    pages without a word. A token both files keep (pages v6), and the highest page id this
    archive has stored in its pages file, updated at each commit, let Archive refuse such a pair
    (Archive._check_pages_pair). Filled here from the records: one read of every article (about
    10 s at a million articles)."""
    db.conn.execute(
        """CREATE TABLE IF NOT EXISTS pages_pair (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            token TEXT NOT NULL,
            page_id_max INTEGER NOT NULL
        )"""
    )
    db.conn.execute(
        "INSERT OR IGNORE INTO pages_pair(id, token, page_id_max) "
        "SELECT 1, lower(hex(randomblob(16))), coalesce(max(page_id), 0) FROM articles"
    )


def _archive_v11(db: sqlite_utils.Database) -> None:
    """Fresh entries of the top lists: an entry added to a common word's list is kept under the
    complement of the list's id (search_tops.FRESH_PER_LIST) until it is merged into the list.
    Nothing to change in the file (it has none yet); the version says that its lists are read
    with them, so a newsarchive from before refuses the file instead of ranking without its
    newest entries."""


def _archive_v12(db: sqlite_utils.Database) -> None:
    """`gone_since`: when the site first answered 404 or 410 at an archived article (a revisit
    found it taken down), cleared when the article is fetched again. The record and its raw
    page stay; researchers of removed news find them with `gone_since IS NOT NULL` (a partial
    index: the few gone articles, not a million NULLs). Seconds at a million articles: the
    column is added without rewriting a row."""
    columns = {row[1] for row in db.conn.execute("PRAGMA table_info(articles)")}
    if "gone_since" not in columns:  # a step run again (a file set back a version) is a no-op
        db.conn.execute("ALTER TABLE articles ADD COLUMN gone_since TEXT")
    db.conn.execute(
        "CREATE INDEX IF NOT EXISTS articles_gone ON articles(gone_since) "
        "WHERE gone_since IS NOT NULL"
    )


def _archive_v13(db: sqlite_utils.Database) -> None:
    """Rechecks (PortalSpider's): each run fetches again the site's articles fetched longest
    ago, which is how an article a site takes down after it left its listings and sitemaps is
    found gone. The site's articles by when they were last fetched, the gone ones left out:
    without the index the pick read every article of the site (9 s cold at 200,000). Appended
    to at each site's end as articles are stored or fetched again: a few hot pages."""
    db.conn.execute(
        "CREATE INDEX IF NOT EXISTS articles_site_last_seen ON articles(site, last_seen) "
        "WHERE gone_since IS NULL"
    )


def _archive_v14(db: sqlite_utils.Database) -> None:
    """Where each run's rechecks stopped (`crawl_runs.recheck_until`, "last_seen id", then when
    the round began since 2026-12-06; older values are read as a round begun now), where the
    next run's begin (archive.stale_articles): an article whose recheck fails (a server error,
    a redirect to the home page) keeps its last_seen, and would otherwise head the line every
    run; a few of them stopped every other article from being rechecked."""
    columns = {row[1] for row in db.conn.execute("PRAGMA table_info(crawl_runs)")}
    if "recheck_until" not in columns:  # a step run again is a no-op
        db.conn.execute("ALTER TABLE crawl_runs ADD COLUMN recheck_until TEXT")


def _archive_v15(db: sqlite_utils.Database) -> None:
    """A site's runs by when they ended, the order health compares them in (a stopped crawl
    continued later ends after the runs made in between): without the index each `health`
    sorted every run of the site (37 ms a site at 50,000 runs, years of hourly ones)."""
    db.conn.execute(
        "CREATE INDEX IF NOT EXISTS crawl_runs_site_finished ON crawl_runs(site, finished) "
        "WHERE finished IS NOT NULL"
    )


def _archive_v16(db: sqlite_utils.Database) -> None:
    """Each run's owner ("host:pid" of the process writing it): a run whose owner is gone from
    this machine before it finished was killed (the OOM killer, a reboot, kill -9), which its
    row could not say; it is ended as "died" (Archive.end_dead_runs) and health says so."""
    columns = {row[1] for row in db.conn.execute("PRAGMA table_info(crawl_runs)")}
    if "owner" not in columns:  # a step run again is a no-op
        db.conn.execute("ALTER TABLE crawl_runs ADD COLUMN owner TEXT")


def index_queued(db: sqlite_utils.Database) -> None:
    """Write what the triggers queued (see _archive_v6) into the full-text index, inside the open
    transaction: stale entries out first (a reused rowid's old entry must go before its new one
    comes in), then the queued rows as they are now, all in one statement each; the top lists of
    common words (v7) follow every change. Does nothing on a file from before v6 (opened
    read-only, not migrated) or with nothing queued."""
    _index_queued(db.conn, tops=True)


def index_committed(db: sqlite_utils.Database) -> None:
    """The transaction index_queued ran in is committed (call right after the COMMIT): what the
    top lists' upkeep keeps in memory between commits holds (search_tops.upkeep)."""
    search_tops.committed(db.conn)


def _index_queued(conn: sqlite3.Connection, *, tops: bool) -> None:
    try:
        stale = conn.execute("SELECT EXISTS (SELECT 1 FROM articles_fts_stale)").fetchone()[0]
    except sqlite3.OperationalError:
        return  # no queue tables: an older schema, indexed by its own triggers
    state = search_tops.upkeep(conn) if tops and search_tops.active(conn) else None
    if stale:
        if state is not None:
            search_tops.remove(
                conn,
                _text_rows(
                    conn, "SELECT id, title, description, body FROM articles_fts_stale ORDER BY seq"
                ),
                state,
            )
        conn.execute(
            "INSERT INTO articles_fts(articles_fts, rowid, title, description, body) "
            "SELECT 'delete', id, title, description, body FROM articles_fts_stale ORDER BY seq"
        )
        conn.execute("DELETE FROM articles_fts_stale")
    if conn.execute("SELECT EXISTS (SELECT 1 FROM articles_fts_queue)").fetchone()[0]:
        select = (
            "SELECT a.id, a.title, a.description, a.body "
            "FROM articles_fts_queue q JOIN articles a ON a.id = q.id ORDER BY q.id"
        )
        newly = search_tops.add(conn, _text_rows(conn, select), state) if state is not None else []
        conn.execute(f"INSERT INTO articles_fts(rowid, title, description, body) {select}")
        conn.execute("DELETE FROM articles_fts_queue")
        search_tops.make_lists(conn, newly, state)


def _text_rows(conn: sqlite3.Connection, sql: str) -> list[tuple]:
    """`sql`'s rows; text garbled on disk into bytes that are no UTF-8 read as it is (a record
    named by verify, being replaced by a re-extraction), as repair built the lists from it."""
    try:
        return conn.execute(sql).fetchall()
    except sqlite3.OperationalError as exc:
        if "Could not decode" not in str(exc):
            raise
    text_factory, conn.text_factory = conn.text_factory, lenient_text
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.text_factory = text_factory


ARCHIVE_MIGRATIONS: tuple[Migration, ...] = (
    _archive_v1,
    _archive_v2,
    _archive_v3,
    _archive_v4,
    _archive_v5,
    _archive_v6,
    _archive_v7,
    _archive_v8,
    _archive_v9,
    _archive_v10,
    _archive_v11,
    _archive_v12,
    _archive_v13,
    _archive_v14,
    _archive_v15,
    _archive_v16,
)


# --- pages.db -------------------------------------------------------------------------------


def _pages_v1(db: sqlite_utils.Database) -> None:
    """Raw pages as fetched, the body zstandard-compressed, and every fetch of them.

    Identical bytes fetched again from the same URL are one `pages` row and one more `fetches`
    row: a page row is never updated, because SQLite rewrites a whole record (its compressed
    body included) on any UPDATE.
    """
    db.executescript(
        """
        CREATE TABLE pages (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL,
            final_url TEXT,
            status INTEGER,
            headers TEXT NOT NULL DEFAULT '{}',
            encoding TEXT,
            fetched_at TEXT,
            stored_at TEXT NOT NULL,
            site TEXT,
            run_id INTEGER,
            size INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            compression TEXT NOT NULL,
            body BLOB NOT NULL
        );
        CREATE UNIQUE INDEX pages_url_sha256 ON pages(url, sha256);
        CREATE INDEX pages_site ON pages(site);

        CREATE TABLE fetches (
            id INTEGER PRIMARY KEY,
            page_id INTEGER NOT NULL REFERENCES pages(id),
            fetched_at TEXT,
            stored_at TEXT NOT NULL,
            status INTEGER,
            run_id INTEGER
        );
        CREATE INDEX fetches_page ON fetches(page_id);
        """
    )


def _pages_v2(db: sqlite_utils.Database) -> None:
    """Later pages of a multi-page article point at its first page, in order, so re-extraction
    can stitch the article together again exactly as the crawl did. (Set once, when the page is
    first stored as a part.)"""
    db.executescript(
        """
        ALTER TABLE pages ADD COLUMN part_of INTEGER REFERENCES pages(id);
        ALTER TABLE pages ADD COLUMN part INTEGER;
        CREATE INDEX pages_part_of ON pages(part_of, part);
        """
    )


def _pages_v3(db: sqlite_utils.Database) -> None:
    """What each page is: `kind` article / listing / other / error, and `kind_reasons` (a JSON
    list of plain-language reasons). Every page is kept whatever its kind; only articles get an
    `articles` row. Pages stored before this step have kind NULL ("not classified"), except those
    the archive's records point at, which Archive marks 'article' when it upgrades the pair."""
    db.executescript(
        """
        ALTER TABLE pages ADD COLUMN kind TEXT;
        ALTER TABLE pages ADD COLUMN kind_reasons TEXT NOT NULL DEFAULT '[]';
        CREATE INDEX pages_kind ON pages(kind);
        """
    )


def _pages_v4(db: sqlite_utils.Database) -> None:
    """Blocks: a site's pages packed into shared zstd frames (see compression.py). A packed
    page keeps its row (metadata, sha256, size) with an empty `body`, compression 'block', and
    where its bytes start in the inflated block. New pages keep their body, compressed alone, in
    `page_bodies` until packed: packing then deletes whole rows there, which frees whole file
    pages, instead of shrinking `pages` rows in place, which would leave each metadata row on a
    page of its own. Rows stored before keep their body in `pages` until packed."""
    db.executescript(
        """
        CREATE TABLE page_bodies (
            page_id INTEGER PRIMARY KEY REFERENCES pages(id),
            data BLOB NOT NULL
        );
        CREATE TABLE blocks (
            id INTEGER PRIMARY KEY,
            site TEXT,
            compression TEXT NOT NULL,
            pages INTEGER NOT NULL,
            raw_size INTEGER NOT NULL,
            data BLOB NOT NULL
        );
        CREATE INDEX blocks_site ON blocks(site);
        ALTER TABLE pages ADD COLUMN block_id INTEGER REFERENCES blocks(id);
        ALTER TABLE pages ADD COLUMN block_offset INTEGER;
        CREATE INDEX pages_block ON pages(block_id);
        """
    )


def _pages_v5(db: sqlite_utils.Database) -> None:
    """The count and raw size of the stored pages, kept by triggers (plain SQL included): `stats`
    read every page row for them (0.6 CPU-s at a million pages). One row; filled here, once.

    Any trigger on `pages` costs each page insert 3-4 µs (the insert then keeps a statement
    journal); the compressed bytes (`pages`, `page_bodies`, `blocks`) would cost ~1.5 µs more a
    page and stay counted by reading the rows (0.3 s at a million pages)."""
    statements = [
        """CREATE TABLE IF NOT EXISTS page_totals (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            pages INTEGER NOT NULL,
            bytes INTEGER NOT NULL
        )""",
        """CREATE TRIGGER IF NOT EXISTS page_totals_ai AFTER INSERT ON pages BEGIN
            UPDATE page_totals SET pages = pages + 1, bytes = bytes + new.size;
        END""",
        """CREATE TRIGGER IF NOT EXISTS page_totals_ad AFTER DELETE ON pages BEGIN
            UPDATE page_totals SET pages = pages - 1, bytes = bytes - old.size;
        END""",
        """CREATE TRIGGER IF NOT EXISTS page_totals_au AFTER UPDATE OF size ON pages
        WHEN old.size IS NOT new.size
        BEGIN
            UPDATE page_totals SET bytes = bytes - old.size + new.size;
        END""",
        """INSERT OR REPLACE INTO page_totals(id, pages, bytes)
        SELECT 1, count(*), coalesce(sum(size), 0) FROM pages""",
    ]
    # One statement at a time, inside migrate's transaction (see _archive_v9).
    for statement in statements:
        db.conn.execute(statement)


def _pages_v6(db: sqlite_utils.Database) -> None:
    """The token of the archive these pages belong to (archive v10): set when the archive first
    opens the file, checked at every opening after."""
    db.conn.execute(
        "CREATE TABLE IF NOT EXISTS archive_pair (id INTEGER PRIMARY KEY CHECK (id = 1), "
        "token TEXT NOT NULL)"
    )


def _pages_v7(db: sqlite_utils.Database) -> None:
    """The raw pages packing found damaged (their bytes no longer match their sha256, or cannot
    be read): packed around from then on without being read again, and said once, by the command
    that found them, not at every crawl's end after (`verify` lists them all, every time)."""
    db.conn.execute(
        "CREATE TABLE IF NOT EXISTS damaged_pages (page_id INTEGER PRIMARY KEY, "
        "found_at TEXT NOT NULL, cause TEXT NOT NULL)"
    )


PAGES_MIGRATIONS: tuple[Migration, ...] = (
    _pages_v1,
    _pages_v2,
    _pages_v3,
    _pages_v4,
    _pages_v5,
    _pages_v6,
    _pages_v7,
)


def migrate(
    db: sqlite_utils.Database,
    migrations: tuple[Migration, ...],
    path: Path,
    *,
    application_id: int = 0,
) -> int:
    """Bring the file up to the newest schema; return the schema version it was at before.

    Each step is one BEGIN IMMEDIATE transaction that reads the version inside it, so two
    processes opening the same old (or new) file at once apply each step exactly once. The caller
    has already inspected the file (opening.inspect_file): it is ours.
    """
    found: int | None = None
    while True:
        retry_busy(lambda: db.conn.execute("BEGIN IMMEDIATE"), path)
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if found is None:
                found = version
            if version > len(migrations):
                raise NewsarchiveError(
                    f"{path}: made by a newer newsarchive (schema version {version} > "
                    f"{len(migrations)}, the newest this one knows); upgrade newsarchive"
                )
            if version == 0 and _has_foreign_tables(db):
                raise NewsarchiveError(f"{path}: an SQLite file that is not a newsarchive archive")
            if application_id and db.execute("PRAGMA application_id").fetchone()[0] == 0:
                # The header stamp that lets inspection recognise the file by its first bytes.
                db.execute(f"PRAGMA application_id = {application_id}")
            if version < len(migrations):
                migrations[version](db)
                # user_version lives in the file header, which is part of this transaction.
                db.execute(f"PRAGMA user_version = {version + 1}")
            db.conn.commit()
        except BaseException:
            if db.conn.in_transaction:
                db.conn.rollback()
            raise
        if version + 1 >= len(migrations):
            return found


def _has_foreign_tables(db: sqlite_utils.Database) -> bool:
    return bool(db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' LIMIT 1").fetchone())
