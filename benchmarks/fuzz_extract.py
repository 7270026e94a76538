"""Pages the extractor must not fail on: corpus pages mutated at random through `extract_article`.

    python benchmarks/fuzz_extract.py --seconds 240 --seed 1

Each run takes a page of ../shared/corpus (the 35 Indonesian ones and 40 of AEB), applies one to
six mutations (a truncation, flipped bytes, a range cut or doubled, or one of INSERTS: malformed
links, canonical and `<base>` links, odd JSON-LD, impossible dates, deep nesting) and extracts it
with a random URL. Any exception but NotHtmlError (what is no page) is a bug: the first page of
each kind is written to --out and its traceback printed. Exit status 1 when any was found.

Not a test (random, minutes long): a search for what the tests do not think of. Before the first
run (2026-12-06) an ISO time no clock shows (`T07:93`, `25:00`, `T24:00`) raised in dates.py.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import random
import sys
import time
import traceback
from pathlib import Path

from newsarchive.errors import NotHtmlError
from newsarchive.extract import extract_article

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
BODY = "Kalimat panjang tentang banjir yang melanda warga sejak pagi hari. " * 20
# What a page from the wild may hold that the extractor reads: each one a thing seen to go wrong,
# or a neighbour of one.
INSERTS = [
    b'<a href="http://[::1/x">x</a>',
    b'<link rel="canonical" href="http://x:abc/">',
    b'<img src="http://[zz]/a.jpg">',
    b'<base href="http://[::1/">',
    b'<meta property="article:published_time" content="99999-99-99T99:99">',
    b'<meta property="article:published_time" content="2019-11-19T07:93:25+00:00">',
    b'<meta property="article:published_time" content="2019-11-19T24:00:00Z">',
    b'<meta property="article:published_time" content="9999-12-31T23:59:59+14:00">',
    b'<time datetime="2024-02-30">30 Februari 2024</time>',
    b'<script type="application/ld+json">{"@type":"NewsArticle","datePublished":12345,'
    b'"author":[null,{},5,"x"],"headline":["a",{"b":1}],"image":{"url":[1,2]},'
    b'"keywords":{"a":1},"articleSection":[[1]]}</script>',
    b'<script type="application/ld+json">[[[[{"@graph":[{"@type":["NewsArticle",5],'
    b'"author":{"name":{"x":1}},"datePublished":"2024-13-45"}]}]]]]</script>',
    b'<meta name="author" content="">',
    '<meta name="author" content="\u202e\u0000\ufffd">'.encode(),
    b"<h1></h1>",
    b"<h1>" + b"x" * 100_000 + b"</h1>",
    b"<p>Baca juga: <a href='/'>" + b"y" * 2000 + b"</a></p>",
    b'<meta charset="x-unknown-charset">',
    b'<meta http-equiv="content-type" content="text/html; charset=utf-16">',
    b"\x00\x01\x02",
    b"<table>" * 300,
    b"</div>" * 50,
    b"<div>" * 400,
    b'<span class="date">Kamis, 99 Desember 2024 | 25:61 WIB</span>',
    b'<span class="author">By ' + b"Q, " * 300 + b"</span>",
    f"<p>{BODY}</p>".encode(),
]
URLS = [
    "https://news.example.id/2024/01/02/judul-berita",
    None,
    "http://x.example/",
    "https://a.example/read/2024/02/30/1/x",
]


def corpus_pages(shared: Path) -> list[bytes]:
    files = sorted((shared / "corpus" / "id").glob("*.html"))[:35]
    files += sorted((shared / "corpus" / "aeb" / "html").glob("*.html.gz"))[:40]
    return [gzip.decompress(f.read_bytes()) if f.suffix == ".gz" else f.read_bytes() for f in files]


def mutated(page: bytes, rng: random.Random) -> bytes:
    out = bytearray(page)
    for _ in range(rng.randint(1, 6)):
        kind, at = rng.random(), rng.randrange(len(out) + 1)
        if kind < 0.5:
            out[at:at] = rng.choice(INSERTS)
        elif kind < 0.65:
            del out[at : at + rng.randint(1, 5000)]
        elif kind < 0.75:
            del out[at:]
        elif kind < 0.85:
            out[at:at] = out[at : at + rng.randint(1, 3000)]
        else:
            for _ in range(rng.randint(1, 50)):
                if out:
                    out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=240, help="how long to run (default 240)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--shared", type=Path, default=SHARED, help="the ../shared folder")
    ap.add_argument("--out", type=Path, default=Path("/tmp/fuzz_extract"), help="failing pages")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    pages = corpus_pages(args.shared)
    if not pages:
        print(f"{args.shared}/corpus: no pages", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    found: collections.Counter[tuple[str, str, int]] = collections.Counter()
    runs, deadline = 0, time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        page = mutated(rng.choice(pages), rng)
        runs += 1
        try:
            extract_article(page, rng.choice(URLS))
        except NotHtmlError:
            continue
        except Exception as exc:
            where = traceback.extract_tb(exc.__traceback__)[-1]
            key = (type(exc).__name__, Path(where.filename).name, where.lineno or 0)
            if key not in found:
                name = args.out / f"{key[0]}-{key[1]}-{key[2]}.html"
                name.write_bytes(page)
                print(f"{key[0]} at {key[1]}:{key[2]}: {exc} (page: {name})", flush=True)
                traceback.print_exc(limit=-4)
            found[key] += 1
    print(f"{runs} mutated pages, {len(found)} kinds of failure: {dict(found)}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
