"""Benchmark (not a test): search latency on an archive bench_archive.py kept, against plain FTS5.

    python benchmarks/bench_archive.py --articles 200000 --keep /tmp/bench200k
    python benchmarks/bench_search.py /tmp/bench200k/archive.db

Each query is timed twice, back to back: through newsarchive.storage.queries.search (what
`newsarchive search` runs: ranked top 20 with snippets) and as the plain FTS5 baseline, the
cheapest ranked query SQLite has (`SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?
AND rank MATCH 'bm25(10.0, 4.0, 1.0)' ORDER BY rank LIMIT 20`: bm25 with search()'s column
weights over every match, no snippet, no join). The ratio of the two is what to compare between
machines and runs: a shared machine's load moves both alike. The baseline's top 20 is also the
exact bm25 answer: "overlap" is the share of it search() returned (searches of common words rank
from the top lists, see queries.py), "same order" how many gave it in its order (ties apart: FTS5
puts the lower id first, as search() does), "proven" how many the lists proved exact
(queries.exact_ranking), "plans" how many searches took each path. Queries: the two-word mix of
bench_archive.py (same seed, same vocabulary), the words in nearly every article, and Datasette's
articles page searched with `?_search=` (the whole HTML page, as `newsarchive browse` serves it).
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from bench_archive import CATEGORIES, SITES, make_vocabulary, percentile

from newsarchive.storage import Archive
from newsarchive.storage.queries import RANK, exact_ranking, plain_query, search, search_plan

PLAIN = (
    "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? "
    f"AND rank MATCH '{RANK}' ORDER BY rank LIMIT 20"
)
EVERYDAY = ("yang", "dan", "yang dan", "di ke dari")


def datasette_page_ms(db: Path, args: dict[str, str]) -> tuple[float, int]:
    """The articles table page searched or filtered as a person does it: Datasette with the
    archive's metadata, plugins and settings (as `newsarchive browse` serves it), the whole HTML
    page; and how many of its facets it left uncounted."""
    import asyncio
    from urllib.parse import urlencode

    from newsarchive.datasette import served_datasette

    datasette = served_datasette(db)

    async def fetch() -> tuple[float, int]:
        start = time.perf_counter()
        response = await datasette.client.get(f"/{db.stem}/articles?{urlencode(args)}")
        assert response.status_code == 200, (args, response.status_code)
        return (time.perf_counter() - start) * 1000, response.text.count("not counted:")

    return asyncio.run(fetch())


def timed(run) -> float:
    start = time.perf_counter()
    run()
    return (time.perf_counter() - start) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("db", type=Path)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    vocabulary = make_vocabulary(random.Random(args.seed), 30_000)
    rng = random.Random(args.seed + 1)
    with Archive(args.db, readonly=True) as archive:
        articles = archive.db.execute("SELECT max(id) FROM articles").fetchone()[0]
        print(f"articles:            {articles:,}")

        overlaps: dict[str, list[float]] = {}
        # CPU time of search() too: on a shared machine, wall time is mostly other processes'
        # load; CPU time is what the query costs (the pages are in the OS cache by then).
        cpus: dict[str, list[float]] = {}
        plans: dict[str, Counter] = {}
        orders: dict[str, list[bool]] = {}
        proven: Counter = Counter()

        def both(words: str, kind: str = "") -> tuple[float, float]:
            match = plain_query(words)
            # Once untimed first: whichever ran first would otherwise read the pages from disk
            # for the other.
            exact = [row[0] for row in archive.db.execute(PLAIN, [match])]
            hits: list = []
            cpu = time.process_time()
            ours = timed(lambda: hits.extend(search(archive, words, limit=20)))
            cpus.setdefault(kind, []).append((time.process_time() - cpu) * 1000)
            plain = timed(lambda: archive.db.execute(PLAIN, [match]).fetchall())
            if exact:
                found = {hit.id for hit in hits}
                overlaps.setdefault(kind, []).append(len(found & set(exact)) / len(exact))
                orders.setdefault(kind, []).append([hit.id for hit in hits] == exact)
            plans.setdefault(kind, Counter())[search_plan(archive.db, words)[0]] += 1
            proven[kind] += exact_ranking(archive.db, words) is not None
            return ours, plain

        kinds: dict[str, list[tuple[float, float]]] = {"common+common": [], "common+any": []}
        for n in range(args.queries):
            kind = "common+common" if n % 2 == 0 else "common+any"
            first = vocabulary[rng.randrange(25, 300)]
            second = vocabulary[
                rng.randrange(25, 300) if n % 2 == 0 else rng.randrange(len(vocabulary))
            ]
            kinds[kind].append(both(f"{first} {second}", kind))
        every = [ours for pairs in kinds.values() for ours, _ in pairs]
        base = [plain for pairs in kinds.values() for _, plain in pairs]
        print(
            f"two-word search():   p50 {statistics.median(every):.1f} ms, "
            f"p95 {percentile(every, 0.95):.1f} ms over {len(every)} queries; plain FTS5 "
            f"p50 {statistics.median(base):.1f} ms, p95 {percentile(base, 0.95):.1f} ms; "
            f"p95 ratio {percentile(every, 0.95) / percentile(base, 0.95):.2f}"
        )
        cpu_all = cpus["common+common"] + cpus["common+any"]
        print(
            f"  CPU time:          p50 {statistics.median(cpu_all):.1f} ms, "
            f"p95 {percentile(cpu_all, 0.95):.1f} ms (search(), process time)"
        )
        for kind, pairs in kinds.items():
            ours = [o for o, _ in pairs]
            plain = [p for _, p in pairs]
            print(
                f"  {kind:<14}     p50 {statistics.median(ours):.1f} ms, p95 "
                f"{percentile(ours, 0.95):.1f} ms, max {max(ours):.1f} ms (plain FTS5 p50 "
                f"{statistics.median(plain):.1f}, p95 {percentile(plain, 0.95):.1f})"
            )
            shares = overlaps.get(kind, [])
            print(
                f"  {'':<14}     plans {dict(plans[kind])}; top-20 overlap with exact bm25 "
                f"mean {statistics.mean(shares):.0%}, identical {sum(x == 1 for x in shares)}"
                f"/{len(shares)}, same order {sum(orders[kind])}/{len(shares)}, proven "
                f"{proven[kind]}/{len(pairs)}"
            )
        for words in EVERYDAY:
            runs = [both(words, words) for _ in range(3)]
            ours, plain = min(o for o, _ in runs), min(p for _, p in runs)
            print(
                f"every-article {words!r:<14} search() {ours:.1f} ms; plain FTS5 ranked "
                f"{plain:.1f} ms (best of 3); overlap {overlaps[words][0]:.0%}, same order "
                f"{orders[words][0]}, proven {proven[words] > 0}"
            )
        for words in ("yang", f"{vocabulary[40]} {vocabulary[200]}", vocabulary[-1]):
            pages = [datasette_page_ms(args.db, {"_search": words}) for _ in range(3)]
            print(f"datasette _search {words!r:<14} whole page {min(pages)[0]:.0f} ms (best of 3)")
        # Browsing without a search: everything, one site, one category (the facets of the
        # filtered pages read a fifth to a seventh of the archive).
        for filters in ({}, {"site": SITES[0]}, {"category": CATEGORIES[0]}):
            ms, uncounted = min(datasette_page_ms(args.db, filters) for _ in range(3))
            label = "&".join(f"{k}={v}" for k, v in filters.items()) or "(all)"
            print(
                f"datasette articles {label:<18} whole page {ms:.0f} ms (best of 3), "
                f"{uncounted} of 6 facets not counted"
            )
        size = sum(p.stat().st_size for p in args.db.parent.glob(args.db.name + "*"))
        print(f"archive.db:          {size / articles:,.0f} bytes per article")
        try:
            store = archive.db.execute(
                "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'search%'"
            ).fetchone()[0]
        except sqlite3.OperationalError:
            store = None  # no dbstat in this SQLite, or no top lists (schema before v7)
        if store:
            print(f"  of which top lists {store / articles:,.0f} bytes per article")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    sys.exit(main())
