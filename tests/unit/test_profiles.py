"""The closed site-profile schema: every mistake is an error naming the file and the key."""

from datetime import timedelta

import pytest

from newsarchive.errors import ProfileError
from newsarchive.sites.schema import load_profile_file, parse_timezone

GOOD = """
name = "contoh"
domains = ["contoh.co.id"]
timezone = "WITA"
language = "id"

[selectors]
title = "h1.judul"
body = ["div.isi", "article"]

[chrome]
remove = [".iklan"]
insert_labels = ["Simak pula"]

[[layouts]]
valid_until = "2020-01-01"
selectors = { body = "div.konten-lama" }

[crawl]
start_urls = ["https://contoh.co.id/"]
article_patterns = ['/\\d{4}/\\d{2}/\\d{2}/']
revisit_hours = [1, 6, 24]
recheck_per_run = 20
recheck_days = 14
"""


def write(tmp_path, text, name="contoh.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_good_profile_loads_with_every_section(tmp_path):
    profile = load_profile_file(write(tmp_path, GOOD))
    assert profile.name == "contoh"
    assert profile.timezone.utcoffset(None) == timedelta(hours=8)
    assert profile.selectors["body"] == ("div.isi", "article")
    assert profile.chrome_remove == (".iklan",)
    assert profile.insert_labels == ("Simak pula",)
    assert profile.crawl["revisit_hours"] == (1.0, 6.0, 24.0)
    assert (profile.crawl["recheck_per_run"], profile.crawl["recheck_days"]) == (20, 14.0)
    assert profile.matches("https://www.contoh.co.id/berita/1")
    assert not profile.matches("https://contoh.com/berita/1")


def test_layout_is_chosen_by_fetched_at(tmp_path):
    profile = load_profile_file(write(tmp_path, GOOD))
    old_selectors, _ = profile.for_fetched_at("2019-06-01T00:00:00+00:00")
    new_selectors, _ = profile.for_fetched_at("2024-06-01T00:00:00+00:00")
    assert old_selectors["body"] == ("div.konten-lama",)
    assert old_selectors["title"] == ("h1.judul",)  # inherited from the top level
    assert new_selectors["body"] == ("div.isi", "article")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('nmae = "x"', "nmae"),
        ('[selectors]\ntitel = "h1"', "selectors.titel"),
        ('[selectors]\ntitle = "h1[[["', "selectors.title"),
        ('[chrome]\nremove = ["div..x"]', "chrome.remove"),
        ('[chrome]\nremuve = [".x"]', "chrome.remuve"),
        ('timezone = "Mars/Olympus"', "timezone"),
        ('[crawl]\narticle_patterns = ["(unclosed"]', "crawl.article_patterns"),
        ("[crawl]\nfollow = true", "crawl.follow"),
        ("[crawl]\ndownload_delay = -1", "crawl.download_delay"),
        ("[crawl]\nrecheck_days = 0", "crawl.recheck_days"),
        ("[crawl]\nrecheck_per_run = -5", "crawl.recheck_per_run"),
        ('[crawl]\nrecheck_per_run = "50"', "crawl.recheck_per_run"),
        ('[[layouts]]\nvalid_until = "soon"', "layouts[0].valid_until"),
        ('name = "Not Valid"', "name"),
        ("timezone = 5", "timezone"),
        ('domains = "x.example"', "domains"),
        ('domains = ["https://x.example/"]', "domains"),
        ("language = 3", "language"),
    ],
)
def test_mistakes_name_the_file_and_the_key(tmp_path, text, key):
    path = write(tmp_path, text)
    with pytest.raises(ProfileError) as err:
        load_profile_file(path)
    message = str(err.value)
    assert str(path) in message
    assert key in message
    assert "\n" not in message


def test_broken_toml_and_missing_file_are_profile_errors(tmp_path):
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile_file(write(tmp_path, "name = "))
    with pytest.raises(ProfileError, match="no such profile file"):
        load_profile_file(tmp_path / "absent.toml")


@pytest.mark.parametrize(
    ("label", "hours"),
    [("WIB", 7), ("wita", 8), ("WIT", 9), ("+07:00", 7), ("+0800", 8), ("-03:30", -3.5)],
)
def test_timezones(label, hours):
    assert parse_timezone(label).utcoffset(None) == timedelta(hours=hours)
