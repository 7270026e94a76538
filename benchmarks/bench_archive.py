"""Benchmark (not a test): fill an archive with synthetic articles, time inserts and searches.

    python benchmarks/bench_archive.py                      # 100,000 articles in a temp dir
    python benchmarks/bench_archive.py --articles 10000 --keep /tmp/bench
    python benchmarks/bench_archive.py --articles 40000 --into /tmp/bench   # 40,000 more into it

Articles are written through Archive.store (raw page compressed into pages.db, record, aliases,
FTS triggers) inside `archive.batch()`, exactly as a crawl writes. Text is Indonesian-like: words
drawn from a Zipf distribution over a 30,000-word vocabulary, ~350 words per body, so common words
match most articles and rare ones a handful, as in a real archive. Search latency is measured
through newsarchive.storage.queries.search (bm25 ranking, top 20, snippets) for two-word queries
whose words are drawn across the frequency range. benchmarks/bench_search.py times more searches
on an archive kept with --keep, each against plain FTS5 in the same run.

--into adds articles to an archive kept earlier (numbered after those it holds), which measures
the rate of inserts into an archive of that size rather than the average over building it. It
writes into that archive: copy it first to keep the original.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from newsarchive.items import Article, RawPage
from newsarchive.storage import Archive
from newsarchive.storage.queries import search

WIB = timezone(timedelta(hours=7))
# Syllables that make Indonesian-looking made-up words, and real function words for the head of
# the frequency list.
SYLLABLE_TEXT = (
    "ba be bi bu da de di du ka ke ki ku la le li lu ma me mi mu na ne ni nu pa pe pi pu ra re "
    "ri ru sa se si su ta te ti tu ja ju nga ngi ny an in un ar er ir"
)
COMMON_TEXT = (
    "yang dan di ke dari untuk dengan pada ini itu dalam tidak akan juga oleh karena ada sudah "
    "kata mereka warga pemerintah jakarta harga presiden polisi"
)
SYLLABLES = SYLLABLE_TEXT.split()
COMMON_WORDS = COMMON_TEXT.split()
SITES = ("warta", "kabar", "suara", "berita", "harian")
CATEGORIES = ("Nasional", "Ekonomi", "Olahraga", "Teknologi", "Hiburan", "Daerah", "Dunia")


def make_vocabulary(rng: random.Random, size: int) -> list[str]:
    words = list(COMMON_WORDS)
    seen = set(words)
    while len(words) < size:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


class TextMaker:
    def __init__(self, rng: random.Random, vocabulary: list[str]) -> None:
        self.rng = rng
        self.vocabulary = vocabulary
        # Zipf weights (s = 1): word k is used in proportion to 1/k.
        self.cumulative = []
        total = 0.0
        for rank in range(1, len(vocabulary) + 1):
            total += 1.0 / rank
            self.cumulative.append(total)

    def words(self, count: int) -> list[str]:
        return self.rng.choices(self.vocabulary, cum_weights=self.cumulative, k=count)

    def sentence(self) -> str:
        words = self.words(self.rng.randint(8, 20))
        return " ".join(words).capitalize() + "."

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(2, 5)))


def synthetic_article(
    n: int, maker: TextMaker, rng: random.Random, start: datetime
) -> tuple[RawPage, Article, str]:
    site = SITES[n % len(SITES)]
    published = start + timedelta(minutes=7 * n)
    url = f"https://{site}.example.id/{published:%Y/%m/%d}/{n}/berita-{n}"
    title = " ".join(maker.words(rng.randint(5, 10))).capitalize()
    paragraphs = [maker.paragraph() for _ in range(rng.randint(4, 9))]
    body = "\n\n".join(paragraphs)
    html = (
        f'<!doctype html><html lang="id"><head><title>{title}</title>'
        f'<link rel="canonical" href="{url}"></head><body><article><h1>{title}</h1>'
        + "".join(f"<p>{p}</p>" for p in paragraphs)
        + "</article></body></html>"
    )
    author = " ".join(w.capitalize() for w in maker.words(2))
    article = Article(
        url=url,
        title=title,
        authors=[author],
        published=published.astimezone(WIB),
        category=rng.choice(CATEGORIES),
        tags=maker.words(3),
        description=paragraphs[0][:160],
        body=body,
        canonical_url=url,
        language="id",
        extractor_version="bench",
    )
    raw = RawPage(url=url, body=html.encode(), status=200, fetched_at=datetime.now(UTC))
    return raw, article, site


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument(
        "--batch-seconds",
        type=float,
        default=None,
        help="Commit at least this often (default: the Archive's, as a crawl commits; 0: by count only).",
    )
    parser.add_argument("--seed", type=int, default=7)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--keep", type=Path, help="Directory to build the archive in and keep.")
    where.add_argument(
        "--into", type=Path, help="Directory of an archive kept earlier: add the articles to it."
    )
    args = parser.parse_args()

    rng = random.Random(args.seed)
    maker = TextMaker(rng, make_vocabulary(rng, 30_000))
    workdir = args.into or args.keep or Path(tempfile.mkdtemp(prefix="bench-archive-"))
    db_path = workdir / "archive.db"
    existing = 0
    if args.into:
        if not db_path.is_file():
            parser.error(f"--into {workdir}: no archive.db there (make one with --keep)")
        with Archive(db_path, readonly=True) as archive:
            existing = archive.count("articles")
        rng = random.Random(args.seed + existing)  # other text than the archive's first articles
    else:
        workdir.mkdir(parents=True, exist_ok=True)
        for stale in workdir.glob("*.db*"):
            stale.unlink()
    start = datetime(2023, 1, 1, tzinfo=UTC)

    generate_seconds = store_seconds = store_cpu = longest_store = 0.0
    raw_bytes = 0
    timing = {} if args.batch_seconds is None else {"batch_seconds": args.batch_seconds}
    with Archive(db_path, batch_size=args.batch_size, **timing) as archive, archive.batch():
        for n in range(existing, existing + args.articles):
            t0 = time.perf_counter()
            raw, article, site = synthetic_article(n, maker, rng, start)
            t1 = time.perf_counter()
            c1 = time.process_time()
            archive.store(raw, article, site=site)
            t2 = time.perf_counter()
            store_cpu += time.process_time() - c1
            longest_store = max(longest_store, t2 - t1)
            generate_seconds += t1 - t0
            store_seconds += t2 - t1
            raw_bytes += len(raw.body)
            if (n + 1 - existing) % 10_000 == 0:
                print(
                    f"  {n + 1:>7} stored, {(n + 1 - existing) / store_seconds:,.0f} articles/s",
                    file=sys.stderr,
                )

    with Archive(db_path) as archive:
        assert archive.count("articles") == existing + args.articles
        # What a crawl's, an import's or a re-extraction's end does (SEARCH_SEGMENTS_MAX).
        merge_started = time.perf_counter()
        segments = archive.merge_search_index()
        merge_seconds = time.perf_counter() - merge_started
        try:  # the common words' top lists (queries.py): their share of the file
            top_lists = archive.db.execute(
                "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'search%'"
            ).fetchone()[0]
        except sqlite3.OperationalError:
            top_lists = None
        vocabulary = maker.vocabulary
        # Two kinds of two-word query, half each: two common words (thousands of matches to
        # rank: the slow case) and a common word with one from anywhere (a few matches).
        kinds = {"common+common": ([], []), "common+any": ([], [])}
        for n in range(args.queries):
            kind = "common+common" if n % 2 == 0 else "common+any"
            first = vocabulary[rng.randrange(25, 300)]
            second = vocabulary[
                rng.randrange(25, 300) if n % 2 == 0 else rng.randrange(len(vocabulary))
            ]
            t0 = time.perf_counter()
            found = search(archive, f"{first} {second}", limit=20)
            kinds[kind][0].append((time.perf_counter() - t0) * 1000)
            kinds[kind][1].append(
                archive.db.execute(
                    "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH ?",
                    [f"{first} {second}"],
                ).fetchone()[0]
                if found
                else 0
            )

    archive_size = sum(p.stat().st_size for p in workdir.glob("archive.db*"))
    pages_size = sum(p.stat().st_size for p in workdir.glob("archive-pages.db*")) + sum(
        p.stat().st_size for p in workdir.glob("pages.db*")
    )
    into = f" into an archive of {existing:,}" if existing else ""
    print(f"articles:            {existing + args.articles:,}")
    print(
        f"insert rate:         {args.articles / store_seconds:,.0f} articles/s{into} "
        f"({store_seconds:.1f} s in Archive.store; generating text took {generate_seconds:.1f} s)"
    )
    # On a shared machine the wall-clock rate is mostly other processes' load: this one is not.
    print(f"  per CPU-second:    {args.articles / store_cpu:,.0f} articles/s (process time)")
    # This VM's speed drifts by half within minutes, and CPU time drifts with it. Generating the
    # text is pure Python timed between the stores, so it drifts alike: 64 MiB against 512 MiB
    # writer caches, alternated, gave 572-976 articles/s and 3.63-4.07 on this ratio.
    print(
        f"  against the text:  {store_seconds / generate_seconds:.2f} times the time generating "
        "the same articles took (lower is faster; steadier than the rate when comparing code)"
    )
    # The store call that commits does the commit's work (full-text index, top lists, a merge of
    # their fresh entries) with the write lock held: the longest is the longest another writer
    # waits beyond the batch itself.
    print(f"  longest store:     {longest_store:.2f} s (a commit, with the write lock held)")
    print(
        f"search index:        {segments[0]} segments, {segments[1]} after the end's merge "
        f"({merge_seconds:.1f} s)"
    )
    print(
        f"archive.db:          {archive_size / 1e6:,.1f} MB; pages.db {pages_size / 1e6:,.1f} MB "
        f"for {raw_bytes / 1e6:,.1f} MB of raw HTML" + (" (of those added)" if existing else "")
    )
    total = existing + args.articles
    print(f"  per article:       {archive_size / total:,.0f} bytes of archive.db")
    if top_lists is not None:
        print(f"  of which top lists {top_lists / total:,.0f} bytes (search_tops, v7)")
    all_latencies = kinds["common+common"][0] + kinds["common+any"][0]
    print(
        f"FTS two-word query:  p50 {statistics.median(all_latencies):.1f} ms, "
        f"p95 {percentile(all_latencies, 0.95):.1f} ms over {len(all_latencies)} queries "
        "(search(): bm25 top 20 with snippets)"
    )
    for kind, (latencies, matches) in kinds.items():
        print(
            f"  {kind:<14}     p50 {statistics.median(latencies):.1f} ms, "
            f"p95 {percentile(latencies, 0.95):.1f} ms, max {max(latencies):.1f} ms; "
            f"median {statistics.median(matches):,.0f} matching articles"
        )
    print(f"archive kept in:     {workdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
