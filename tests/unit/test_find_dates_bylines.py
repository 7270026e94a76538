"""find_dates and find_contributors on small hand-written pages modelled on real layouts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from newsarchive.extract.bylines import find_contributors
from newsarchive.extract.dates import WIB, WITA, DatesResult, find_dates
from newsarchive.extract.document import parse_document

PLUS7 = timezone(timedelta(hours=7))
PLUS8 = timezone(timedelta(hours=8))
FETCHED = datetime(2023, 7, 2, 14, 0, tzinfo=UTC)  # 21:00 WIB


def page(
    body: str,
    *,
    title: str = "Empati dan Dedikasi Pekerja Sosial Masyarakat",
    head: str = "",
    jsonld: dict[str, Any] | None = None,
) -> str:
    script = f'<script type="application/ld+json">{json.dumps(jsonld)}</script>' if jsonld else ""
    return (
        f'<html lang="id"><head><title>{title} - Portal Berita</title>'
        f'<meta property="og:title" content="{title}">{head}{script}</head>'
        f"<body><nav><a href='/'>Home</a> <a href='/foto'>Foto</a> <a href='/video'>Video</a></nav>"
        f"{body}</body></html>"
    )


def dates_of(
    html: str, *, url: str | None = None, default_tz=WIB, fetched_at=None, selectors=None
) -> DatesResult:
    doc = parse_document(html, url)
    return find_dates(doc, fetched_at=fetched_at, default_tz=default_tz, selectors=selectors or {})


def credits_of(html: str, *, url: str | None = None, selectors=None):
    doc = parse_document(html, url)
    people, source = find_contributors(doc, selectors=selectors or {})
    return [(p.name, p.role) for p in people], source


ARTICLE_TEXT = (
    "<p>" + "Pemerintah melalui Kementerian Sosial menetapkan aturan baru. " * 12 + "</p>"
)


# ------------------------------------------------------------------------------------- dates


def test_visible_date_line_with_zone_label() -> None:
    html = page(
        '<div class="date">Minggu, 2 Juli 2023 - 19:17 WIB</div>'
        f"<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1>{ARTICLE_TEXT}"
    )
    result = dates_of(html)
    assert result.published == datetime(2023, 7, 2, 19, 17, tzinfo=PLUS7)
    assert result.published_source == "byline"
    assert result.published_raw == "Minggu, 2 Juli 2023 - 19:17 WIB"
    assert result.notes == []


def test_machine_value_agreeing_with_visible_is_kept_with_its_seconds() -> None:
    html = page(
        "<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1>"
        f"<p class='meta'>on 16 Feb 2016 at 09:10 WIB</p>{ARTICLE_TEXT}",
        jsonld={"@type": "NewsArticle", "datePublished": "2016-02-16T02:10:56Z"},
    )
    result = dates_of(html)
    # Same instant as the visible line: JSON-LD wins, shown in the page's zone.
    assert result.published == datetime(2016, 2, 16, 9, 10, 56, tzinfo=PLUS7)
    assert result.published is not None and result.published.utcoffset() == timedelta(hours=7)
    assert result.published_source == "json-ld"
    assert result.published_raw == "2016-02-16T02:10:56Z"
    assert result.notes == []


def test_wib_time_mislabelled_as_utc_loses_to_visible_date() -> None:
    html = page(
        "<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1>"
        f'<div class="date">Kamis, 05/11/2015 10:08 WIB</div>{ARTICLE_TEXT}',
        head='<meta name="pubdate" content="2015-11-05 T10:08:58Z">',
    )
    result = dates_of(html)
    assert result.published == datetime(2015, 11, 5, 10, 8, tzinfo=PLUS7)
    assert result.published_source == "byline"
    assert len(result.notes) == 1
    assert "mislabelled as UTC" in result.notes[0]
    assert "2015-11-05 T10:08:58Z" in result.notes[0]


def test_stale_machine_value_loses_to_visible_date_with_a_note() -> None:
    html = page(
        "<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1>"
        f'<span class="datetime"> 20/1/2026 18:30</span>{ARTICLE_TEXT}',
        jsonld={"@type": "NewsArticle", "datePublished": "2026-01-20T18:33:13+07:00"},
    )
    result = dates_of(html)
    assert result.published == datetime(2026, 1, 20, 18, 30, tzinfo=PLUS7)
    assert result.published_source == "byline"
    assert "3 min apart" in result.notes[0]


def test_visible_date_days_away_from_machine_value_is_a_teaser_date() -> None:
    html = page(
        "<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1>"
        f'<span class="date">Rabu, 28/06/2023 08:00 WIB</span>{ARTICLE_TEXT}',
        jsonld={"@type": "NewsArticle", "datePublished": "2023-07-02T19:17:00+07:00"},
    )
    result = dates_of(html)
    assert result.published == datetime(2023, 7, 2, 19, 17, tzinfo=PLUS7)
    assert result.published_source == "json-ld"
    assert "too far" in result.notes[0]


def test_meta_only() -> None:
    html = page(
        f"<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1>{ARTICLE_TEXT}",
        head=(
            '<meta property="article:published_time" content="2015-03-30T02:40:29+00:00">'
            '<meta property="article:modified_time" content="2015-12-30T01:11:00+00:00">'
        ),
    )
    result = dates_of(html)
    assert result.published == datetime(2015, 3, 30, 9, 40, 29, tzinfo=PLUS7)
    assert result.published_source == "meta"
    assert result.published_raw == "2015-03-30T02:40:29+00:00"
    assert result.modified == datetime(2015, 12, 30, 8, 11, tzinfo=PLUS7)
    assert result.modified_source == "meta"


def test_time_element() -> None:
    html = page(
        "<article><h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1>"
        '<time datetime="2023-07-02T19:17:00+07:00">2 Juli 2023</time>'
        f"{ARTICLE_TEXT}</article>"
    )
    result = dates_of(html)
    assert result.published == datetime(2023, 7, 2, 19, 17, tzinfo=PLUS7)
    assert result.published_source == "time"


def test_visible_day_without_time_takes_time_from_machine_value() -> None:
    html = page(
        "<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1>"
        f'<div>Posted on <span class="postdate">Maret 30, 2015</span> by Admin</div>{ARTICLE_TEXT}',
        head='<meta property="article:published_time" content="2015-03-30T02:40:29+00:00">',
    )
    result = dates_of(html)
    assert result.published == datetime(2015, 3, 30, 9, 40, 29, tzinfo=PLUS7)
    assert result.published_source == "meta"


def test_relative_date_resolved_against_fetched_at() -> None:
    html = page(
        "<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1>"
        f'<div class="date">2 jam yang lalu</div>{ARTICLE_TEXT}'
    )
    result = dates_of(html, fetched_at=FETCHED)
    assert result.published == datetime(2023, 7, 2, 19, 0, tzinfo=PLUS7)
    assert result.published_source == "byline"
    # Without fetched_at the relative form cannot be resolved: no guess.
    assert dates_of(html).published is None


def test_teaser_dates_far_from_the_headline_are_ignored() -> None:
    teasers = "".join(
        f'<li><a href="/x{i}">Berita lain {i}</a><span class="date">Senin, 1 Mei 2023 0{i % 10}:00 WIB</span></li>'
        for i in range(60)
    )
    html = page(
        f'<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1><div class="date">Minggu, 2 Juli 2023 - 19:17 WIB</div>'
        f"{ARTICLE_TEXT}<ul class='related'>{teasers}</ul>"
    )
    assert dates_of(html).published == datetime(2023, 7, 2, 19, 17, tzinfo=PLUS7)


def test_zoneless_time_on_foreign_page_takes_offset_of_another_source() -> None:
    html = page(
        "<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1>"
        f"<label>November 20, 2019 13:42</label>{ARTICLE_TEXT}",
        head='<meta property="article:published_time" content="November 20, 2019 13:42">',
        jsonld={"@type": "NewsArticle", "dateModified": "2019-11-21 08:00:00+08:00"},
    )
    result = dates_of(html, default_tz=None)
    assert result.published == datetime(2019, 11, 20, 13, 42, tzinfo=PLUS8)
    assert any("+08:00" in note for note in result.notes)


def test_zoneless_time_with_no_zone_anywhere_is_naive() -> None:
    html = page(
        "<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1>"
        f'<div class="byline">Agence France-Presse | World | Fri, June 19 2015, 7:36 AM</div>{ARTICLE_TEXT}'
    )
    # No offset is guessed: the page's local time is kept without one.
    assert dates_of(html, default_tz=None).published == datetime(2015, 6, 19, 7, 36)
    # The same page with the site's zone known.
    assert dates_of(html, default_tz=WIB).published == datetime(2015, 6, 19, 7, 36, tzinfo=PLUS7)


def test_profile_selector_wins_and_uses_profile_zone() -> None:
    html = page(
        "<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1>"
        f'<div class="tgl">02/07/2023 19:17</div>{ARTICLE_TEXT}',
        jsonld={"@type": "NewsArticle", "datePublished": "2023-07-01T08:00:00+07:00"},
    )
    result = dates_of(html, default_tz=WITA, selectors={"published": ("div.tgl",)})
    assert result.published == datetime(2023, 7, 2, 19, 17, tzinfo=PLUS8)
    assert result.published_source == "profile"


def test_url_date_is_the_last_resort() -> None:
    html = page(f"<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1>{ARTICLE_TEXT}")
    result = dates_of(html, url="https://example.co.id/read/2023/07/02/123/judul")
    assert result.published == datetime(2023, 7, 2, 0, 0, tzinfo=PLUS7)
    assert result.published_source == "url"
    assert any("URL" in note for note in result.notes)


def test_modified_earlier_than_published_is_dropped() -> None:
    html = page(
        f"<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1>{ARTICLE_TEXT}",
        jsonld={
            "@type": "NewsArticle",
            "datePublished": "2023-07-02T19:17:00+07:00",
            "dateModified": "2023-07-01T10:00:00+07:00",
        },
    )
    result = dates_of(html)
    assert result.published == datetime(2023, 7, 2, 19, 17, tzinfo=PLUS7)
    assert result.modified is None
    assert any("earlier than published" in note for note in result.notes)


def test_visible_update_line_is_modified_not_published() -> None:
    html = page(
        "<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1>"
        '<div class="date">Minggu, 2 Juli 2023 - 19:17 WIB</div>'
        f'<div class="update">Diperbarui: Senin, 3 Juli 2023 - 08:05 WIB</div>{ARTICLE_TEXT}'
    )
    result = dates_of(html)
    assert result.published == datetime(2023, 7, 2, 19, 17, tzinfo=PLUS7)
    assert result.modified == datetime(2023, 7, 3, 8, 5, tzinfo=PLUS7)


def test_caption_dates_are_not_the_article_date() -> None:
    html = page(
        "<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1>"
        "<figure><img src='a.jpg'><figcaption>Warga antre, Senin (3/7/2023).</figcaption></figure>"
        '<div class="caption">Foto 2 Juli 2023 10:00 WIB</div>'
        f"{ARTICLE_TEXT}",
        jsonld={"@type": "NewsArticle", "datePublished": "2023-07-02T19:17:00+07:00"},
    )
    result = dates_of(html)
    assert result.published == datetime(2023, 7, 2, 19, 17, tzinfo=PLUS7)
    assert result.published_source == "json-ld"
    assert result.notes == []


def test_published_and_updated_on_one_line() -> None:
    html = page(
        "<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1>"
        '<div class="date">November 18, 2019 at 2:26 PM HST - Updated November 19, 2019 at 4:46 PM HST</div>'
        f"{ARTICLE_TEXT}"
    )
    result = dates_of(html, default_tz=None)
    hst = timezone(timedelta(hours=-10))
    assert result.published == datetime(2019, 11, 18, 14, 26, tzinfo=hst)
    assert result.modified == datetime(2019, 11, 19, 16, 46, tzinfo=hst)


def test_page_without_dates() -> None:
    result = dates_of(page(f"<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1>{ARTICLE_TEXT}"))
    assert result.published is None and result.modified is None and result.notes == []


# ----------------------------------------------------------------------------------- bylines


def test_byline_in_body_first_paragraph_with_titles() -> None:
    html = page(
        "<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1><div class='content'>"
        "<p>Oleh:Yulfi Alfikri Noer S.IP., M.AP</p><p>Kepala Dinas Sosial</p>"
        f"{ARTICLE_TEXT}</div>"
    )
    assert credits_of(html) == ([("Yulfi Alfikri Noer S.IP., M.AP", "author")], "byline")


def test_editor_only_page_gives_no_writers() -> None:
    html = page(
        "<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1>"
        f"{ARTICLE_TEXT}<table><tr><td>Editor</td><td>: Ervan Hardoko</td></tr>"
        "<tr><td>Sumber</td><td>: The Telegraph</td></tr></table>",
        head='<meta name="author" content="Portal Cyber Media">',
    )
    people, source = credits_of(html, url="https://www.portal.com/read/1")
    assert people == [("Ervan Hardoko", "editor")]
    assert source is None


def test_credit_table_with_label_in_its_own_cell() -> None:
    html = page(
        f"<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1>{ARTICLE_TEXT}"
        "<table><tr><td>Penulis</td><td>: Kontributor Lhokseumawe, Masriadi </td></tr>"
        "<tr><td>Editor</td><td>: Ervan Hardoko</td></tr></table>"
    )
    people, source = credits_of(html)
    assert people == [("Masriadi", "author"), ("Ervan Hardoko", "editor")]
    assert source == "byline"


def test_jsonld_author_who_is_the_editor_is_not_a_writer() -> None:
    html = page(
        "<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1>"
        f'<div class="info"><div class="author-2">Andhika Prasetyo</div></div>{ARTICLE_TEXT}'
        '<div class="info-author">Editor : <a class="author" href="/author/1">Andhika</a></div>',
        jsonld={"@type": "NewsArticle", "author": [{"@type": "Person", "name": "Andhika"}]},
    )
    people, source = credits_of(html)
    assert people == [("Andhika Prasetyo", "author"), ("Andhika", "editor")]
    assert source == "byline"


def test_jsonld_author() -> None:
    html = page(
        f"<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1>{ARTICLE_TEXT}",
        jsonld={"@type": "NewsArticle", "author": {"@type": "Person", "name": "Tim detikBali"}},
    )
    assert credits_of(html) == ([("Tim detikBali", "author")], "json-ld")


def test_meta_author_filters_urls_codes_and_the_site_itself() -> None:
    head = (
        '<meta property="article:author" content="https://www.facebook.com/portal">'
        '<meta name="author" content="bgs">'
    )
    html = page(f"<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1>{ARTICLE_TEXT}", head=head)
    assert credits_of(html, url="https://news.portal.com/berita/1") == ([], None)
    named = page(
        f"<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1>{ARTICLE_TEXT}",
        head='<meta name="author" content="Mulia Budi">',
    )
    assert credits_of(named, url="https://news.portal.com/berita/1") == (
        [("Mulia Budi", "author")],
        "meta",
    )
    brand = page(
        f"<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1>{ARTICLE_TEXT}",
        head='<meta name="author" content="Portal.com">',
    )
    assert credits_of(brand, url="https://news.portal.com/berita/1") == ([], None)


def test_byline_markup_outside_photo_credits() -> None:
    html = page(
        "<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1>"
        '<div class="photo"><img src="a.jpg"><span class="author">KOMPAS.COM/MASRIADI</span></div>'
        f'<div class="detail__author">Mulia Budi - detikNews</div>{ARTICLE_TEXT}'
    )
    assert credits_of(html) == ([("Mulia Budi", "author")], "byline")


def test_labelled_byline_beats_jsonld_and_closest_to_headline_wins() -> None:
    html = page(
        '<aside><div class="x">Oleh: Kolumnis Lain</div></aside>'
        "<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1>"
        f'<div class="byline">Pewarta: Budisantoso Budiman dan Agus S</div>{ARTICLE_TEXT}'
        '<p class="mt10">Editor: <span>Ade Marboen</span></p>'
        '<div class="teaser">Penulis: Orang Lain</div>',
        jsonld={"@type": "NewsArticle", "author": {"@type": "Person", "name": "Ade Marboen"}},
    )
    people, source = credits_of(html)
    assert people == [
        ("Budisantoso Budiman", "reporter"),
        ("Agus S", "reporter"),
        ("Ade Marboen", "editor"),
    ]
    assert source == "byline"


def test_capitalised_signoff_and_agency() -> None:
    signed = page(
        f"<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1><div class='isi'>{ARTICLE_TEXT}"
        "<p><strong>DINI TEJA</strong></p></div>"
    )
    assert credits_of(signed) == ([("DINI TEJA", "author")], "byline")
    agency = page(
        f"<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1><div class='isi'>{ARTICLE_TEXT}"
        "<p><strong>ANTARA</strong></p><p>&nbsp;</p></div>"
    )
    assert credits_of(agency) == ([("ANTARA", "agency")], "byline")


def test_wire_desk_code_closing_the_text_names_the_agency() -> None:
    html = page(
        "<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1><div class='isi'>"
        + "<p>"
        + "Pemerintah menetapkan aturan baru untuk pekerja sosial. " * 3
        + "(ant)</p></div>"
    )
    assert credits_of(html) == ([("ANTARA", "agency")], "byline")


def test_photo_story_credits_the_photographer_as_author() -> None:
    html = page(
        '<div class="date">Selasa, 23/02/2016 15:32 WIB</div>'
        "<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1>"
        '<strong class="l_blue2_detik">Fotografer: Grandyos Zafna</strong>'
        "<div class='text_gal'>PT PLN hari ini resmi mengoperasikan gardu induk.</div>"
    )
    people, source = credits_of(html)
    assert people == [("Grandyos Zafna", "author"), ("Grandyos Zafna", "photographer")]
    assert source == "byline"


def test_caption_photo_credit_is_not_a_writer() -> None:
    html = page(
        "<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1>"
        f"<figure><img src='a.jpg'><figcaption>Foto: Getty Images</figcaption></figure>{ARTICLE_TEXT}"
    )
    assert credits_of(html) == ([], None)


def test_profile_selector_for_authors() -> None:
    html = page(
        "<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1>"
        f'<span class="nama-penulis">Andi Saputra</span>{ARTICLE_TEXT}',
        jsonld={"@type": "NewsArticle", "author": {"@type": "Person", "name": "Someone Else"}},
    )
    assert credits_of(html, selectors={"authors": ("span.nama-penulis",)}) == (
        [("Andi Saputra", "author")],
        "profile",
    )


def test_outlet_after_a_name_is_an_affiliation() -> None:
    html = page(
        "<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1>"
        '<div class="gnt_ar_by"><a>Kevin Johnson</a> and <a>Kevin McCoy</a> <span>USA TODAY</span></div>'
        f"{ARTICLE_TEXT}"
    )
    html = html.replace('class="gnt_ar_by"', 'class="byline"')
    assert credits_of(html, url="https://www.usatoday.com/story/news/1") == (
        [("Kevin Johnson", "author"), ("Kevin McCoy", "author")],
        "byline",
    )


def test_label_alone_in_its_element() -> None:
    html = page(
        "<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1>"
        '<div class="credit"><h6>Penulis</h6><a href="/p/1">Nabilla Tashandra</a></div>'
        '<div class="credit"><h6>Editor</h6><a href="/p/2">Bayu Galih</a></div>'
        f"{ARTICLE_TEXT}"
    )
    assert credits_of(html) == (
        [("Nabilla Tashandra", "author"), ("Bayu Galih", "editor")],
        "byline",
    )


def test_comment_authors_are_ignored() -> None:
    html = page(
        f"<h1>Empati dan Dedikasi Pekerja Sosial Masyarakat</h1>{ARTICLE_TEXT}"
        '<div id="comments"><div class="comment"><span class="comment-author vcard">Budi</span>'
        "<p>Oleh: Pembaca Setia</p></div></div>"
    )
    assert credits_of(html) == ([], None)
