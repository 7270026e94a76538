"""Script and style text is dropped once the date finder has read the page (clear_script_text),
and nothing the finders after it report changes: they never took text from scripts. A batch
tunes the garbage collector only while it runs."""

from __future__ import annotations

import gc
import io
import json

from newsarchive.cli.extract import run_batch
from newsarchive.extract import extract_article
from newsarchive.extract.document import clear_script_text, listed, parse_document, text_content

# Labels and dates in scripts and styles, where no reader sees them; the visible ones in the page.
NOISY_PAGE = """<html><head><title>Banjir merendam tiga kecamatan di Bandung</title>
<style>.byline:before { content: "Penulis: Joko Tingkir" }</style>
<script>window.meta = {"author": "Oleh: Admin Server", "date": "01/01/2001"};</script>
<script type="application/ld+json">{"@type": "NewsArticle",
 "headline": "Banjir merendam tiga kecamatan di Bandung", "datePublished": "2023-07-02T19:17:00+07:00"}
</script></head><body>
<script>document.write("Penulis: Bukan Orang")</script>
<article><h1>Banjir merendam tiga kecamatan di Bandung</h1>
<div class="byline">Penulis: Nabilla Tashandra <script>track("Editor: Tersembunyi")</script>| Editor:
Bayu Galih</div>
<div class="date">Minggu, 2 Juli 2023 19:17 WIB</div>
<p>Hujan deras sejak siang membuat sungai meluap dan merendam rumah warga di tiga kecamatan,
kata petugas yang berjaga di posko banjir.<style>p { color: red }</style> Warga mengungsi ke
masjid dan sekolah terdekat sambil menunggu air surut pada malam hari.</p>
<p>Petugas membagikan makanan dan selimut kepada para pengungsi, sementara perahu karet
menyisir gang-gang sempit untuk menjemput warga lanjut usia yang masih bertahan di rumah.</p>
</article><script>var ads = ["Baca juga: iklan"];</script></body></html>"""


def test_clear_script_text_keeps_elements_tails_and_json_ld() -> None:
    doc = parse_document(
        '<html><head><script type=" Application/LD+JSON ">{"@type": "WebPage"}</script>'
        "<style>b { x: y }</style></head><body><p>a<script>var x;</script>b"
        "<style>i { }</style>c</p></body></html>"
    )
    elements = len(list(doc.tree.iter()))
    clear_script_text(doc)
    jsonld, inline = listed(doc, "script")
    assert jsonld.text == '{"@type": "WebPage"}'
    assert inline.text is None
    assert [style.text for style in listed(doc, "style")] == [None, None]
    # The elements stay where they were (windows around the headline count them), and so does
    # the text after them.
    assert len(list(doc.tree.iter())) == elements
    assert text_content(doc.tree.find("body")) == "abc"


def test_script_and_style_text_adds_nothing_to_the_record() -> None:
    noisy = extract_article(NOISY_PAGE, "https://news.example.id/2023/07/02/banjir")
    assert noisy.authors == ["Nabilla Tashandra"]
    assert [(c.name, c.role) for c in noisy.contributors] == [
        ("Nabilla Tashandra", "author"),
        ("Bayu Galih", "editor"),
    ]
    assert noisy.published is not None
    assert noisy.published.isoformat() == "2023-07-02T19:17:00+07:00"
    assert noisy.body is not None
    assert "masjid" in noisy.body and "menjemput" in noisy.body
    for hidden in ("Joko", "Admin", "Bukan", "Tersembunyi", "color", "iklan", "2001"):
        assert hidden not in json.dumps(noisy.to_dict()), hidden


def test_batch_restores_the_collector(tmp_path) -> None:
    page = tmp_path / "page.html"
    page.write_text(NOISY_PAGE, encoding="utf-8")
    before = gc.get_threshold()
    out = io.StringIO()
    assert run_batch([json.dumps({"id": "a", "url": None, "path": str(page)})], out) == 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    assert json.loads(out.getvalue())["authors"] == ["Nabilla Tashandra"]
