"""Chrome removal: one test per chrome form the issue lists.

Each fixture is a small article page written for the test (modelled on the forms real Indonesian
portals use). Each test asserts three things: the chrome text is not in the body, it is in
`removed` with the right kind, and the real paragraphs around it are kept.
"""

from __future__ import annotations

import pytest

from newsarchive.extract.body import extract_body
from newsarchive.extract.chrome import (
    DEFAULT_INSERT_RE,
    Block,
    filter_blocks,
    insert_match,
    token_kind,
)
from newsarchive.extract.document import parse_document

BEFORE = (
    "JAKARTA, KOMPAS.com - Pemerintah provinsi menetapkan anggaran baru untuk perbaikan jalan desa, "
    "kata kepala dinas pekerjaan umum kepada wartawan, Senin (3/7/2023)."
)
AFTER = (
    "Menurut dia, perbaikan akan dimulai bulan depan dan ditargetkan rampung sebelum musim hujan, "
    "sehingga warga tidak lagi terganggu oleh jalan yang rusak dan berlubang."
)
LAST = (
    "Dinas juga akan membuka layanan pengaduan bagi warga yang menemukan kerusakan baru, dengan "
    "nomor telepon yang akan diumumkan pekan ini melalui kantor kecamatan."
)


def page(middle: str, *, after_body: str = "", before_body: str = "") -> str:
    """An article page: a header, the body container with `middle` between real paragraphs."""
    return f"""<!doctype html><html lang="id"><head><title>Judul berita - Portal</title></head>
<body>
<nav class="menu"><a href="/">Home</a> <a href="/nasional">Nasional</a> <a href="/daerah">Daerah</a></nav>
<main>
<h1>Pemerintah perbaiki jalan desa</h1>
<div class="article-body">
{before_body}
<p>{BEFORE}</p>
{middle}
<p>{AFTER}</p>
<p>{LAST}</p>
{after_body}
</div>
</main>
<footer class="site-footer">Copyright 2023 Portal Berita. All rights reserved.</footer>
</body></html>"""


def run(html: str, **kwargs):
    kwargs.setdefault("selectors", {})
    return extract_body(parse_document(html, "https://news.example.id/read/1"), **kwargs)


def assert_cut(result, chrome: str, kind: str) -> None:
    assert result.text is not None
    assert chrome.lower() not in result.text.lower(), result.text
    kinds = [r.kind for r in result.removed if chrome.lower() in r.text.lower()]
    assert kinds, f"{chrome!r} not in removed: {result.removed}"
    assert kind in kinds, f"{chrome!r} removed as {kinds}, expected {kind}"
    for paragraph in (BEFORE, AFTER, LAST):
        assert paragraph in result.text
    assert result.text.startswith("JAKARTA, KOMPAS.com - Pemerintah")


# --- inline inserts, every form --------------------------------------------------------------

HEADLINE = "Gubernur Resmikan Jembatan Baru di Perbatasan"


@pytest.mark.parametrize(
    "insert",
    [
        # "Baca :" as a paragraph of its own (the seed page).
        f'<p>Baca :  <a href="/read/2">{HEADLINE}</a></p>',
        # "Baca juga:" as a <strong> label with a link.
        f'<p><strong>Baca juga:</strong> <a href="/read/2">{HEADLINE}</a></p>',
        # Label and link both inside the bold element, in a paragraph with its own class.
        f"<p class='related-news'><strong>Baca juga :&nbsp;<a href='/read/2'>{HEADLINE}</a></strong></p>",
        # "Baca Juga" without a separator: the rest is a link, so it is a headline.
        f'<p>Baca Juga <a href="/read/2">{HEADLINE}</a></p>',
        # A table with its own class (detik's table.linksisip), pretty-printed over lines.
        f"""<table class="linksisip"><tbody><tr><td><div class="lihatjg">
            <strong>Baca
            juga: </strong><a href="/read/2">{HEADLINE}</a></div></td></tr></tbody></table>""",
        # A div with a class nobody has seen.
        f'<div class="kotak-xyz"><b>Lihat juga:</b> <a href="/read/2">{HEADLINE}</a></div>',
        # A blockquote.
        f'<blockquote>Simak juga: <a href="/read/2">{HEADLINE}</a></blockquote>',
        # "Berita terkait" with a link.
        f'<p>Berita terkait: <a href="/read/2">{HEADLINE}</a></p>',
        # Inside a paragraph, between <br> lines.
        f'<p>Baca juga: <a href="/read/2">{HEADLINE}</a><br></p>',
    ],
    ids=[
        "baca-colon",
        "strong-label",
        "label-link-in-bold",
        "no-separator-link",
        "table-linksisip",
        "div-own-class",
        "blockquote",
        "berita-terkait",
        "br-line",
    ],
)
def test_insert_forms_are_cut(insert: str) -> None:
    result = run(page(insert))
    assert_cut(result, HEADLINE, "insert")


def test_insert_between_br_lines_of_one_paragraph_keeps_both_halves() -> None:
    html = page(
        f'<p>{AFTER[:60]}<br><br><strong>Baca juga:</strong> <a href="/r/2">{HEADLINE}</a><br><br>'
        "Sisa paragraf yang sama tetap menjadi bagian dari berita ini.</p>"
    )
    result = run(html)
    assert HEADLINE not in result.text
    assert AFTER[:60] in result.text
    assert "Sisa paragraf yang sama tetap menjadi bagian dari berita ini." in result.text
    assert any(r.kind == "insert" and HEADLINE in r.text for r in result.removed)


def test_simak_video_promo_in_bold_is_cut() -> None:
    promo = "Simak Video: Warga Gotong Royong Perbaiki Jalan Rusak"
    result = run(page(f"<p><strong>{promo}</strong></p>"))
    assert_cut(result, promo, "insert")


def test_insert_label_inside_a_sentence_is_kept() -> None:
    sentence = (
        "Ia menyarankan warga membaca peraturan daerah itu, dan baca juga buku panduan yang "
        "dibagikan di kantor kelurahan sebelum mengajukan keberatan."
    )
    result = run(page(f"<p>{sentence}</p>"))
    assert sentence in result.text
    assert not any(r.kind == "insert" for r in result.removed)


def test_paragraph_opening_with_label_words_is_kept() -> None:
    sentence = (
        "Lihat juga bagaimana warga di kecamatan lain menyiasati jalan rusak: mereka menimbun "
        "lubang dengan batu kali dan pasir secara swadaya setiap akhir pekan."
    )
    result = run(page(f"<p>{sentence}</p>"))
    assert sentence in result.text


# --- ads, tickers, share bars ------------------------------------------------------------------


def test_advertisement_and_scroll_markers_are_cut() -> None:
    ad = (
        '<div class="parallax-wrap"><p>ADVERTISEMENT</p><div id="div-gpt-ad-123"></div>'
        "<p>SCROLL TO CONTINUE WITH CONTENT</p></div>"
    )
    result = run(page(ad))
    assert_cut(result, "ADVERTISEMENT", "ad")
    assert "SCROLL TO CONTINUE" not in result.text


def test_bare_ad_marker_lines_are_cut() -> None:
    result = run(page("<p>ADVERTISEMENT</p><p>SCROLL TO CONTINUE WITH CONTENT</p>"))
    assert_cut(result, "SCROLL TO CONTINUE WITH CONTENT", "ad")
    assert "ADVERTISEMENT" not in result.text


def test_ad_hidden_by_inline_style_is_cut() -> None:
    hidden = '<div style="display: none"><p>ADVERTISEMENT</p><p>Promo spesial hari ini</p></div>'
    result = run(page(hidden))
    assert_cut(result, "Promo spesial hari ini", "hidden")


def test_ticker_is_cut() -> None:
    ticker = (
        '<div class="news-ticker"><a href="/1">Prajurit Melaksanakan Lomba Memasak</a> '
        '<a href="/2">Babinsa Ajak Warga Berdayakan Sampah</a></div>'
    )
    result = run(page("", before_body=ticker))
    assert_cut(result, "Babinsa Ajak Warga", "ticker")


def test_share_bar_by_text_is_cut() -> None:
    result = run(page("", after_body="<p>Share :</p>"))
    assert_cut(result, "Share :", "share")


def test_share_bar_by_class_is_cut() -> None:
    bar = '<div class="share-buttons"><a href="#">Facebook</a><a href="#">Twitter</a><a href="#">WhatsApp</a></div>'
    result = run(page("", after_body=bar))
    assert_cut(result, "WhatsApp", "share")


# --- related lists, tags, author boxes, comments, calls to action --------------------------------


def test_related_list_after_heading_is_cut() -> None:
    # The seed page's "Baca Juga" block: a category label above each linked headline.
    related = """<p>Share :</p><h3>Baca Juga</h3>
      <div><span>Daerah</span></div><div><a href="/r/3">Kekerasan Pada Anak, Psikolog: Penyebabnya Warisan</a></div>
      <div><span>Opini</span></div><div><a href="/r/4">Membuat Media (Siber)</a></div>
      <div><span>Opini</span></div><div><a href="/r/5">Ruang Publik di Kota Melupakan Bahasa</a></div>"""
    result = run(page("", after_body=related))
    assert_cut(result, "Membuat Media (Siber)", "related")
    assert "Baca Juga" not in result.text
    assert "Opini" not in result.text


@pytest.mark.parametrize("heading", ["Berita Lainnya", "Terpopuler", "Berita Terkait"])
def test_related_lists_by_heading_are_cut(heading: str) -> None:
    related = f"""<h4>{heading}</h4><ul>
      <li><a href="/r/6">Harga Beras Naik Menjelang Akhir Tahun di Pasar Induk</a></li>
      <li><a href="/r/7">Petani Keluhkan Pupuk Langka di Musim Tanam</a></li></ul>"""
    result = run(page("", after_body=related))
    assert_cut(result, "Petani Keluhkan Pupuk Langka", "related")
    assert heading not in result.text


def test_related_box_by_class_is_cut() -> None:
    related = """<p>Baca Juga</p><div class="baca-juga"><ul>
      <li><a href="/r/8">Operator Targetkan Jaringan 4G di 40 Kota</a></li>
      <li><a href="/r/9">Pengguna Data Seluler Tumbuh Pesat</a></li></ul></div>"""
    result = run(page(related))
    assert_cut(result, "Operator Targetkan Jaringan", "related")
    assert "Baca Juga" not in result.text


def test_tag_list_is_cut() -> None:
    tags = '<div class="detail__body-tag"><a href="/tag/infrastruktur">infrastruktur pedesaan</a> <a href="/tag/apbd">APBD</a></div>'
    result = run(page("", after_body=tags))
    assert_cut(result, "infrastruktur pedesaan", "tags")


def test_tag_line_is_cut() -> None:
    result = run(
        page("", after_body='<p>Tags: <a href="/t/1">Jalan</a>, <a href="/t/2">Desa</a></p>')
    )
    assert_cut(result, "Tags:", "tags")


def test_author_box_is_cut() -> None:
    box = '<div class="author-box"><b>Rina Wulandari</b> adalah jurnalis yang meliput isu perkotaan.</div>'
    result = run(page("", after_body=box))
    assert_cut(result, "jurnalis yang meliput isu perkotaan", "author_box")


def test_comment_section_is_cut() -> None:
    comments = """<section id="comments"><h3>2 Komentar</h3>
      <div class="comment"><p>Semoga cepat selesai, jalan di desa kami sudah rusak bertahun-tahun.</p></div>
      <div class="comment"><p>Anggarannya harus diawasi bersama supaya tidak bocor.</p></div></section>"""
    result = run(page("", after_body=comments))
    assert_cut(result, "Anggarannya harus diawasi", "comments")


def test_comment_heading_text_cuts_what_follows() -> None:
    comments = """<h3>Tinggalkan Balasan</h3>
      <p>Alamat email Anda tidak akan dipublikasikan. Ruas yang wajib ditandai *</p>"""
    result = run(page("", after_body=comments))
    assert_cut(result, "Alamat email Anda tidak akan dipublikasikan", "comments")


def test_newsletter_and_app_calls_to_action_are_cut() -> None:
    cta = (
        "<p>Cek berita dan artikel yg lain di Google News dan ikuti WhatsApp channel kami.</p>"
        '<div class="newsletter-box"><p>Daftar newsletter harian kami, gratis.</p></div>'
    )
    result = run(page("", after_body=cta))
    assert_cut(result, "Cek berita dan artikel", "cta")
    assert_cut(result, "Daftar newsletter harian", "cta")


# --- captions, bylines -----------------------------------------------------------------------------


def test_figure_caption_goes_to_captions() -> None:
    figure = (
        '<figure><img src="/a.jpg" width="600"><figcaption>Warga melintasi jalan rusak di desa '
        "Sukamaju. (Foto: Dok. Warga)</figcaption></figure>"
    )
    result = run(page(figure))
    assert_cut(result, "Warga melintasi jalan rusak", "caption")
    assert any("Warga melintasi jalan rusak" in c for c in result.captions)


def test_image_box_with_short_text_is_a_caption() -> None:
    box = '<div class="x1"><img src="/b.jpg" width="640"><span>Jembatan baru di perbatasan (ist)</span></div>'
    result = run(page(box))
    assert_cut(result, "Jembatan baru di perbatasan", "caption")
    assert "Jembatan baru di perbatasan (ist)" in result.captions


def test_photo_credit_line_is_a_caption() -> None:
    result = run(page("<p>Foto: Getty Images/Mario Carlini</p>"))
    assert_cut(result, "Getty Images/Mario", "caption")
    assert "Foto: Getty Images/Mario Carlini" in result.captions


def test_byline_and_role_line_at_the_top_are_cut() -> None:
    # The seed page: "Oleh:Name" (no space) and the author's role on the line under it.
    top = "<p>Oleh:Yulfi Alfikri Noer S.IP., M.AP</p><p>Tenaga Ahli Gubernur Bidang Tata Kelola Pemerintahan</p>"
    result = run(page("", before_body=top))
    assert_cut(result, "Oleh:Yulfi Alfikri", "byline")
    assert_cut(result, "Tenaga Ahli Gubernur", "byline")


def test_editor_credit_line_at_the_end_is_cut() -> None:
    result = run(page("", after_body="<p>Editor: Ade Marboen</p>"))
    assert_cut(result, "Editor: Ade Marboen", "byline")


# --- the pieces on their own -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "kind"),
    [
        ("post-comments", "comments"),
        ("shareBar", "share"),
        ("related__list", "related"),
        ("detail__body-tag", "tags"),
        ("div-gpt-ad-1572507980488-0", "ad"),
        ("iklan_tengah", "ad"),
        ("newsletter-signup", "cta"),
        ("breadcrumb", "nav"),
        ("sidebar", "sidebar"),
        ("author-box", "author_box"),
        ("wp-caption-text", "caption"),
        ("newsticker", "ticker"),
    ],
)
def test_class_tokens_name_their_kind(token: str, kind: str) -> None:
    assert token_kind(token.lower()) == kind


@pytest.mark.parametrize(
    "token",
    [
        "tag-politics",
        "entry-content",
        "has-sidebar",
        "article-body",
        "detail__body-text",
        "read__content",
        "category-news",
        "clearfix",
        "col-md-8",
        "shadow",
        "download",
        "thread",
        "loader",
    ],
)
def test_class_tokens_of_article_parts_are_not_chrome(token: str) -> None:
    assert token_kind(token) is None


def test_insert_match_needs_a_headline_not_a_sentence() -> None:
    linked = Block(text=f"Baca juga {HEADLINE}", link_chars=len(HEADLINE))
    plain = Block(text="Baca juga bukunya, karena isinya sangat membantu para petani muda.")
    assert insert_match(linked, DEFAULT_INSERT_RE)
    assert not insert_match(plain, DEFAULT_INSERT_RE)


def test_filter_blocks_keeps_text_and_audits_every_cut() -> None:
    blocks = [
        Block(text="Oleh: Rina Wulandari"),
        Block(text=BEFORE),
        Block(text="ADVERTISEMENT"),
        Block(text=AFTER),
        Block(text="Share :"),
    ]
    out = filter_blocks(blocks)
    assert [b.text for b in out.kept] == [BEFORE, AFTER]
    assert [(r.kind, r.text) for r in out.removed] == [
        ("byline", "Oleh: Rina Wulandari"),
        ("ad", "ADVERTISEMENT"),
        ("share", "Share :"),
    ]


def test_plain_text_label_before_a_link_inside_a_paragraph_is_cut() -> None:
    html = page(
        f'<p>{AFTER[:70]} Baca juga: <a href="/r/2">{HEADLINE}</a> Sisa kalimat tetap ada di sini.</p>'
    )
    result = run(html)
    assert HEADLINE not in result.text
    assert "Baca juga" not in result.text
    assert f"{AFTER[:70]} Sisa kalimat tetap ada di sini." in " ".join(result.text.split())
    assert ("insert", f"Baca juga: {HEADLINE}") in [(r.kind, r.text) for r in result.removed]


def test_bold_label_and_link_inside_running_text_are_cut() -> None:
    html = page(
        f'<p>{AFTER[:70]} <strong>Baca Juga: <a href="/r/2">{HEADLINE}</a></strong> Lanjutan teks.</p>'
    )
    result = run(html)
    assert HEADLINE not in result.text
    assert "Lanjutan teks." in result.text


def test_link_after_a_colon_in_a_sentence_is_kept() -> None:
    sentence = 'Menurut laporan itu, hasilnya bisa dibaca di situs resmi: <a href="/r/5">laporan tahunan dinas pekerjaan umum</a>.'
    result = run(page(f"<p>{sentence}</p>"))
    assert "laporan tahunan dinas pekerjaan umum" in result.text


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("Halaman 1 2 3 Selanjutnya", "nav"),
        ("Baca selengkapnya", "nav"),
        (
            "Artikel ini telah tayang di Portal.com dengan judul 'Jalan Desa Diperbaiki'",
            "syndication",
        ),
        (
            "Dapatkan update berita pilihan dan breaking news setiap hari. Mari bergabung di Grup "
            'Telegram "Portal News Update", caranya klik link https://t.me/portal, kemudian join.',
            "cta",
        ),
        ("Kamis, 05 November 2015 | 11:13 WIB", "date"),
        ("2 jam yang lalu", "date"),
        ("[Gambas:Video 20detik]", "embed"),
        ("COPYRIGHT © ANTARA 2016", "copyright"),
        ("Share 0 Whatsapp 0", "share"),
        ("#Sandiaga Uno", "tags"),
        ("Gulir untuk melanjutkan", "ad"),
    ],
)
def test_chrome_lines_are_cut_with_their_kind(line: str, kind: str) -> None:
    result = run(page(f"<p>{line}</p>"))
    assert_cut(result, line, kind)


@pytest.mark.parametrize(
    "line",
    [
        "Pada 2 Juli 2023 warga berkumpul di balai desa untuk membahas anggaran perbaikan jalan.",
        "Share of voters who backed the plan rose to 52 percent, the survey found last week.",
        "Halaman sekolah itu kini dipakai sebagai tempat parkir sementara bagi warga sekitar.",
    ],
)
def test_text_that_looks_like_chrome_words_is_kept(line: str) -> None:
    result = run(page(f"<p>{line}</p>"))
    assert line in result.text


def test_insert_in_parentheses_is_cut() -> None:
    result = run(page(f'<p>(Baca juga: <a href="/r/2">{HEADLINE}</a>)</p>'))
    assert_cut(result, HEADLINE, "insert")
    assert "()" not in result.text


def test_insert_in_parentheses_inside_running_text_is_cut() -> None:
    html = page(
        f'<p>{AFTER[:70]} (Baca juga: <a href="/r/2">{HEADLINE}</a>) Kalimat berikutnya.</p>'
    )
    result = run(html)
    assert HEADLINE not in result.text
    assert f"{AFTER[:70]} Kalimat berikutnya." in " ".join(result.text.split())


def test_italic_line_under_a_lone_image_is_a_caption() -> None:
    figure = '<p><img src="/c.jpg" width="700"></p><p><em>Bupati meninjau jalan rusak, Senin (3/7).</em></p>'
    result = run(page(figure))
    assert_cut(result, "Bupati meninjau jalan rusak", "caption")


def test_paragraph_with_an_inline_image_is_still_text() -> None:
    text = (
        "Warga memasang spanduk protes di sepanjang jalan desa yang rusak parah sejak tahun lalu."
    )
    result = run(page(f'<p><img src="/d.jpg" width="300"> {text}</p>'))
    assert text in result.text


# --- video calls to action -------------------------------------------------------------------

VIDEO_TITLE = "Detik-detik Jalan Desa Amblas Diguyur Hujan"


@pytest.mark.parametrize(
    "tail",
    [
        f"Simak video '{VIDEO_TITLE}'",
        f'Simak Video "{VIDEO_TITLE}":',
        f"<strong>Simak juga Video: {VIDEO_TITLE}</strong>",
        f"<b>Tonton juga video {VIDEO_TITLE}</b>",
        "Saksikan video selengkapnya di bawah ini:",
        "[Gambas:Video 20detik]",
    ],
    ids=["quoted", "quoted-colon", "bold-colon", "bold-no-set-off", "pointer", "placeholder"],
)
def test_video_call_closing_the_last_paragraph_is_cut(tail: str) -> None:
    result = run(page("", after_body=f"<p>Warga berharap perbaikan segera dimulai. {tail}</p>"))
    assert "Warga berharap perbaikan segera dimulai." in result.text
    assert result.text.endswith("Warga berharap perbaikan segera dimulai.")
    assert "video" not in result.text.lower().replace("perbaikan", "")
    assert any(r.kind in ("cta", "embed") for r in result.removed), result.removed


@pytest.mark.parametrize(
    "line",
    [
        "Saksikan video di bawah ini:",
        "Tonton Video Pilihan Berikut Ini",
        f"Simak video '{VIDEO_TITLE}'",
        f"Lihat juga video: {VIDEO_TITLE}",
    ],
)
def test_video_call_as_its_own_paragraph_is_cut(line: str) -> None:
    result = run(page("", after_body=f"<p>{line}</p>"))
    assert_cut(result, line, "cta")


def test_video_call_after_the_desk_code_is_cut_with_it() -> None:
    result = run(
        page(
            "",
            after_body="<p>Warga berharap perbaikan segera dimulai. (ant/rdk)</p>"
            "<p><strong>Saksikan video di bawah ini:</strong></p><p>[Gambas:Video WTV]</p>",
        )
    )
    assert result.text.endswith("Warga berharap perbaikan segera dimulai.")
    kinds = [r.kind for r in result.removed]
    assert "cta" in kinds and "desk_code" in kinds and "embed" in kinds


@pytest.mark.parametrize(
    "sentence",
    [
        "Video itu viral di media sosial dan sudah ditonton lebih dari satu juta kali.",
        "Warga bisa lihat video lengkapnya di kanal resmi pemerintah kota.",
        "Tonton video itu, kata dia, maka orang akan paham betapa rusaknya jalan desa kami.",
        "Simak video yang beredar, terlihat truk terperosok ke lubang di tengah jalan.",
        'Polisi meminta warga menonton video "Aman di Jalan" yang dibuat Satlantas.',
    ],
)
def test_sentences_that_mention_a_video_are_kept(sentence: str) -> None:
    mid = run(page(f"<p>{sentence}</p>"))
    assert sentence in mid.text
    end = run(page("", after_body=f"<p>Warga berharap perbaikan segera dimulai. {sentence}</p>"))
    assert end.text.endswith(sentence)
    assert not any(r.kind == "cta" for r in mid.removed + end.removed)
