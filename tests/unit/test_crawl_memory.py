"""What a long crawl keeps per URL in the crawl process: the dupefilter's fingerprints
(newsarchive.dupefilter) and the sitemap backlog (PackedUrls), each a few bytes per URL, with
Scrapy's behaviour and JOBDIR format kept."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
from scrapy.dupefilters import RFPDupeFilter
from scrapy.http import Request

from newsarchive import dupefilter
from newsarchive.dupefilter import CompactDupeFilter, FingerprintKeys, stored_fingerprints
from newsarchive.fingerprint import CanonicalFingerprinter
from newsarchive.spiders import portal
from newsarchive.spiders.portal import PackedUrls


def _urls(count: int, start: int = 0) -> list[str]:
    return [
        f"https://portal.example.id/2024/05/{n % 28 + 1:02d}/judul-berita-yang-cukup-panjang-{n}/"
        for n in range(start, start + count)
    ]


def _filter(path: Path | None = None, cls: type[RFPDupeFilter] = CompactDupeFilter):
    return cls(str(path) if path else None, fingerprinter=CanonicalFingerprinter())


def test_dupefilter_drops_every_repeat_across_merges(monkeypatch: pytest.MonkeyPatch) -> None:
    # Small merges, so that the repeats are found in the sorted array, in the new set, and
    # across several merges.
    monkeypatch.setattr(dupefilter, "MERGE_EVERY", 64)
    seen = _filter()
    urls = _urls(1000)
    assert [seen.request_seen(Request(u)) for u in urls] == [False] * 1000
    # The same pages however spelled (tracking parameters, fragment): seen.
    again = [u + "?utm_source=x#top" for u in urls[::7]]
    assert all(seen.request_seen(Request(u)) for u in again)
    assert not seen.request_seen(Request(urls[0] + "?page=2"))
    assert not any(seen.request_seen(Request(u)) for u in _urls(200, start=1000))
    assert len(seen._fingerprints) == 1201
    keys = seen._fingerprints._sorted
    assert list(keys) == sorted(keys)


def test_fingerprint_keys_take_a_fifth_of_a_set() -> None:
    fingerprinter = CanonicalFingerprinter()
    fingerprints = [fingerprinter.fingerprint(Request(u)) for u in _urls(50_000)]
    tracemalloc.start()
    try:
        keys = FingerprintKeys(fingerprints)
        compact, _peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        as_set = set()
        for fp in fingerprints:
            as_set.add(bytes(bytearray(fp)))  # an object of its own, as in a crawl
        plain, _peak = tracemalloc.get_traced_memory()
        plain -= compact
    finally:
        tracemalloc.stop()
    assert len(keys) == len(as_set) == 50_000
    assert all(fp in keys for fp in fingerprints[::97])
    assert compact / 50_000 < 20, f"{compact / 50_000:.1f} bytes per fingerprint"
    assert compact < plain / 5, (compact, plain)


def test_requests_seen_is_scrapys_format_both_ways(tmp_path: Path) -> None:
    """A job directory written by Scrapy's own dupefilter (a crawl stopped before this one existed)
    resumes with ours, and the other way round: the file is the same."""
    first, second = _urls(300), _urls(300, start=300)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    scrapy_filter = _filter(theirs, RFPDupeFilter)
    for url in first:
        assert not scrapy_filter.request_seen(Request(url))
    scrapy_filter.close("shutdown")

    ours = _filter(theirs)
    assert all(ours.request_seen(Request(u)) for u in first)
    assert not any(ours.request_seen(Request(u)) for u in second)
    ours.close("shutdown")

    scrapy_again = _filter(theirs, RFPDupeFilter)
    assert all(scrapy_again.request_seen(Request(u)) for u in first + second)
    scrapy_again.close("shutdown")
    size = (theirs / "requests.seen").stat().st_size
    assert size == 600 * (2 + 20)


def test_requests_seen_cut_short_keeps_the_whole_ones(tmp_path: Path) -> None:
    job = tmp_path / "job"
    job.mkdir()
    writer = _filter(job)
    urls = _urls(5000)
    for url in urls:
        writer.request_seen(Request(url))
    writer.close("shutdown")
    seen = job / "requests.seen"
    # Killed mid-write: the last fingerprint is cut short.
    seen.write_bytes(seen.read_bytes()[:-7])
    with seen.open("rb") as file:
        # Small blocks: fingerprints that straddle two blocks are read whole.
        assert len(list(stored_fingerprints(file, block=100))) == 4999
    resumed = _filter(job)
    assert all(resumed.request_seen(Request(u)) for u in urls[:-1])
    assert not resumed.request_seen(Request(urls[-1]))
    resumed.close("shutdown")


def test_packed_urls_keep_order_through_appends_and_takes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(portal, "PACKED_URLS_CHUNK", 10)
    urls = _urls(95)
    packed = PackedUrls(urls[:45])
    taken = [packed.popleft() for _ in range(12)]
    for url in urls[45:]:
        packed.append(url)
    assert len(packed) == 95 - 12
    taken += [packed.popleft() for _ in range(40)]
    packed.append("https://portal.example.id/terakhir/")
    taken += list(packed)
    assert taken == [*urls, "https://portal.example.id/terakhir/"]
    assert len(packed) == 0 and not packed
    with pytest.raises(IndexError):
        packed.popleft()


def test_packed_urls_take_a_tenth_of_the_strings() -> None:
    urls = _urls(50_000)
    tracemalloc.start()
    try:
        packed = PackedUrls(urls)
        size, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    as_strings = sum(map(len, urls)) + 49 * len(urls)  # str headers, without any list
    assert size < as_strings / 10, (size, as_strings)
    assert list(packed) == urls


def test_offsite_filters_as_scrapys_and_keeps_no_parsed_url() -> None:
    from scrapy import Spider
    from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware
    from scrapy.exceptions import IgnoreRequest
    from scrapy.utils.httpobj import _urlparse_cache
    from scrapy.utils.test import get_crawler

    from newsarchive.middlewares import Offsite

    class Site(Spider):
        name = "site"
        allowed_domains = ["portal.example.id"]

    urls = [
        "https://portal.example.id/berita/1/a",
        "https://m.portal.example.id/berita/1/a",
        "https://PORTAL.example.id:8443/x",
        "https://other.example.id/berita/1/a",
        "https://portal.example.id.evil.test/a",
    ]
    verdicts = {}
    for cls in (OffsiteMiddleware, Offsite):
        crawler = get_crawler(Site)
        spider = crawler.spider = Site.from_crawler(crawler)
        middleware = cls.from_crawler(crawler)
        middleware.spider_opened(spider)
        kept = []
        for url in urls:
            request = Request(url)
            try:
                middleware.request_scheduled(request, spider)
            except IgnoreRequest:
                continue
            kept.append(url)
            # What waits in the queue carries no parsed URL (a dropped request goes at once).
            assert cls is OffsiteMiddleware or request not in _urlparse_cache
        verdicts[cls] = kept
    assert verdicts[Offsite] == verdicts[OffsiteMiddleware] == urls[:3]
