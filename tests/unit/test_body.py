"""The body container: which element holds the article, and how its text comes out."""

from __future__ import annotations

import json

import pytest

from newsarchive.extract.body import extract_body
from newsarchive.extract.document import parse_document

PARAS = [
    "Pemerintah kota meresmikan taman baru di pusat kota, Minggu (2/7/2023), setelah pembangunan "
    "yang berlangsung hampir dua tahun dan menelan biaya miliaran rupiah.",
    "Wali kota mengatakan taman itu dirancang sebagai ruang terbuka hijau yang ramah anak, lansia, "
    "dan penyandang disabilitas, dengan jalur pejalan kaki yang lebar.",
    "Warga menyambut baik kehadiran taman tersebut, meski sebagian berharap pemerintah juga "
    "menambah lampu penerangan dan tempat sampah di sekitar area bermain.",
    "Pengelola taman berjanji akan mengevaluasi fasilitas setiap tiga bulan, termasuk kebersihan, "
    "keamanan, dan kebutuhan tambahan yang disampaikan oleh pengunjung.",
]
SIDEBAR_LINKS = "".join(
    f'<li><a href="/read/{i}">Berita populer nomor {i} tentang kota dan warganya hari ini</a></li>'
    for i in range(12)
)


def run(html: str, **kwargs):
    kwargs.setdefault("selectors", {})
    return extract_body(parse_document(html, "https://news.example.id/read/1"), **kwargs)


def paragraphs(items: list[str] = PARAS) -> str:
    return "".join(f"<p>{p}</p>" for p in items)


def test_paragraphs_are_separated_by_a_blank_line() -> None:
    html = f'<html><body><div class="entry-content">{paragraphs()}</div></body></html>'
    result = run(html)
    assert result.text == "\n\n".join(PARAS)


def test_dateline_outside_the_first_paragraph_is_kept() -> None:
    # detik puts the dateline in a <strong> before the first <p>.
    html = f'<html><body><div class="detail__body-text"><strong>Jakarta</strong> - {paragraphs()}</div></body></html>'
    result = run(html)
    # The dateline opens the first paragraph (not a paragraph of its own).
    assert result.text.startswith("Jakarta - " + PARAS[0][:40])
    assert result.text.count("\n\n") == len(PARAS) - 1


def test_br_separated_text_becomes_paragraphs() -> None:
    text = "<br><br>".join(PARAS)
    html = f'<html><body><div class="isi"><p><b>KOTA, PORTAL - </b>{text}</p></div></body></html>'
    result = run(html)
    assert result.text.split("\n\n")[1] == PARAS[1]
    assert result.text.startswith("KOTA, PORTAL - " + PARAS[0][:30])


def test_articlebody_microdata_beats_a_longer_comment_section() -> None:
    comments = "".join(f"<p>Komentar pembaca nomor {i}: {PARAS[i % 4]}</p>" for i in range(10))
    html = f"""<html><body>
      <div itemprop="articleBody">{paragraphs(PARAS[:2])}</div>
      <div class="box-lain">{comments}</div></body></html>"""
    result = run(html)
    assert result.source == "container"
    assert result.text == "\n\n".join(PARAS[:2])


def test_wordpress_entry_content_is_the_container() -> None:
    html = f"""<html><body><article class="post type-post tag-politik">
      <header class="entry-header"><h1>Taman baru</h1><span class="posted-on">2 Juli 2023</span></header>
      <div class="entry-content">{paragraphs()}</div>
      <footer class="entry-footer">Filed under: Kota</footer></article>
      <aside class="widget-area"><ul>{SIDEBAR_LINKS}</ul></aside></body></html>"""
    result = run(html)
    assert result.source == "container"
    assert result.text == "\n\n".join(PARAS)


def test_innermost_body_class_is_preferred() -> None:
    # An outer "content_detail" holds the photo box and a kicker; the inner "text_detail" the text.
    html = f"""<html><body><div class="content_detail">
      <div class="label_fokus"><a href="/fokus/1">Fokus: Taman Kota</a></div>
      <div class="text_detail">{paragraphs()}</div></div></body></html>"""
    result = run(html)
    assert "Fokus: Taman Kota" not in result.text
    assert result.text == "\n\n".join(PARAS)


def test_scoring_picks_the_paragraphs_not_the_link_lists() -> None:
    # No known class anywhere: the readability-style score decides.
    html = f"""<html><body>
      <div id="a1"><ul>{SIDEBAR_LINKS}</ul></div>
      <div id="a2"><div id="a3">{paragraphs()}</div></div>
      <div id="a4"><ul>{SIDEBAR_LINKS}</ul></div></body></html>"""
    result = run(html)
    assert result.source == "scored"
    assert result.text == "\n\n".join(PARAS)


def test_scored_container_takes_siblings_split_by_an_ad() -> None:
    html = f"""<html><body><div id="wrap">
      <div class="x">{paragraphs(PARAS[:2])}</div>
      <div class="slot-123"></div>
      <div class="x">{paragraphs(PARAS[2:])}</div>
      </div><div id="other"><ul>{SIDEBAR_LINKS}</ul></div></body></html>"""
    result = run(html)
    assert result.text == "\n\n".join(PARAS)


def test_profile_selector_is_used_first() -> None:
    html = f"""<html><body><div class="entry-content"><p>Teks lain yang bukan isi berita ini.</p></div>
      <section class="isi-berita-kami">{paragraphs()}</section></body></html>"""
    result = run(html, selectors={"body": ("section.isi-berita-kami",)})
    assert result.source == "profile"
    assert result.text == "\n\n".join(PARAS)


def test_profile_selector_that_matches_nothing_falls_back() -> None:
    html = f'<html><body><div class="entry-content">{paragraphs()}</div></body></html>'
    result = run(html, selectors={"body": ("div.tidak-ada",)})
    assert result.source == "container"
    assert result.text == "\n\n".join(PARAS)


def test_profile_chrome_selectors_are_cut_and_audited() -> None:
    html = f"""<html><body><div class="entry-content">{paragraphs(PARAS[:2])}
      <div class="kotak-promo-khusus">Promo langganan edisi cetak hanya hari ini</div>
      {paragraphs(PARAS[2:])}</div></body></html>"""
    result = run(html, chrome_remove=("div.kotak-promo-khusus",))
    assert "Promo langganan" not in result.text
    assert [(r.kind, r.text) for r in result.removed] == [
        ("profile", "Promo langganan edisi cetak hanya hari ini")
    ]
    assert result.text == "\n\n".join(PARAS)


def test_profile_insert_labels_extend_the_builtin_ones() -> None:
    insert = '<p>Klik juga: <a href="/read/9">Taman Serupa Dibangun di Kota Tetangga</a></p>'
    html = f'<html><body><div class="entry-content">{paragraphs(PARAS[:2])}{insert}{paragraphs(PARAS[2:])}</div></body></html>'
    without = run(html)
    assert "Taman Serupa" in without.text
    result = run(html, insert_labels=("Klik juga",))
    assert "Taman Serupa" not in result.text
    assert any(r.kind == "insert" for r in result.removed)


def test_title_and_kicker_inside_the_container_are_not_body() -> None:
    html = f"""<html><body><div class="detail_content"><h2>LIPUTAN KHUSUS</h2><h1>Taman baru kota</h1>
      <div class="date">Minggu, 2 Juli 2023 - 19:17 WIB</div>{paragraphs()}</div></body></html>"""
    result = run(html)
    assert result.text == "\n\n".join(PARAS)
    kinds = {r.text: r.kind for r in result.removed}
    assert kinds["Taman baru kota"] == "title"
    assert kinds["LIPUTAN KHUSUS"] == "header"


def test_date_only_line_is_not_body() -> None:
    html = f'<html><body><div class="artikel"><p>Kamis, 05 November 2015 | 11:13 WIB</p>{paragraphs()}</div></body></html>'
    result = run(html)
    assert result.text == "\n\n".join(PARAS)
    assert ("date", "Kamis, 05 November 2015 | 11:13 WIB") in [
        (r.kind, r.text) for r in result.removed
    ]


def test_teaser_list_after_the_article_is_cut() -> None:
    teasers = "".join(
        f'<div><a href="/r/{i}">Judul berita lain nomor {i} di kanal ini</a></div>'
        f"<div>KANAL | Kamis 18 Jun 2015 Ringkasan singkat berita lain nomor {i}.</div>"
        for i in range(4)
    )
    html = f'<html><body><div class="detail_text">{paragraphs()}<h3>News Feed</h3>{teasers}</div></body></html>'
    result = run(html)
    assert result.text == "\n\n".join(PARAS)


def test_embedded_tweet_text_is_kept() -> None:
    tweet = (
        '<blockquote class="twitter-tweet"><p>Taman kota akhirnya dibuka untuk umum hari ini, '
        "ramai sekali pengunjungnya.</p>— Warga Kota (@wargakota) July 2, 2023</blockquote>"
    )
    html = f'<html><body><div class="entry-content">{paragraphs(PARAS[:2])}{tweet}{paragraphs(PARAS[2:])}</div></body></html>'
    result = run(html)
    assert "ramai sekali pengunjungnya" in result.text


def test_photo_page_without_prose_falls_back_to_its_captions() -> None:
    figures = "".join(
        f'<figure><img src="/{i}.jpg" width="800"><figcaption>Pengunjung menikmati taman kota baru '
        f"pada hari pertama dibuka, foto nomor {i}. (Foto: Dok)</figcaption></figure>"
        for i in range(3)
    )
    html = (
        f'<html><body><div class="gallery">{figures}</div><div class="related"><figure>'
        "<figcaption>Foto berita lain yang tidak terkait dengan halaman ini sama sekali</figcaption>"
        "</figure></div></body></html>"
    )
    result = run(html)
    assert result.source == "captions"
    assert result.text.count("\n\n") == 2
    assert "tidak terkait" not in result.text


def test_jsonld_article_body_is_the_last_resort() -> None:
    body = "\n".join(PARAS + ["Baca juga: Taman Serupa Dibangun di Kota Tetangga"])
    ld = json.dumps({"@type": "NewsArticle", "headline": "Taman", "articleBody": body})
    html = f'<html><head><script type="application/ld+json">{ld}</script></head><body><div id="app"></div></body></html>'
    result = run(html)
    assert result.source == "jsonld"
    assert result.text == "\n\n".join(PARAS)


def test_page_without_text_has_no_body() -> None:
    result = run("<html><body><nav><a href='/'>Home</a></nav></body></html>")
    assert result.text is None
    assert result.source is None


def test_long_removed_text_is_truncated_in_the_audit() -> None:
    comments = "".join(f"<p>{p}</p>" for p in PARAS * 6)
    html = f'<html><body><div class="entry-content">{paragraphs()}<div id="comments">{comments}</div></div></body></html>'
    result = run(html)
    cut = [r for r in result.removed if r.kind == "comments"]
    assert cut and len(cut[0].text) <= 600 and cut[0].text.endswith("…")


def test_seed_like_wordpress_page() -> None:
    # Modelled on the seed page: ticker, breadcrumb, date, title, "Oleh:" byline with a role
    # line, "Baca :" inserts between paragraphs, "***" end, "Share :", a "Baca Juga" list.
    body_paras = [
        "TAHUN 2012, Pemerintah melalui Kementerian Sosial menerbitkan peraturan tentang pekerja "
        "sosial masyarakat yang menjadi tonggak penting.",
        "Peraturan ini memperkuat peran dan fungsi pekerja sosial masyarakat dalam melayani "
        "masyarakat di seluruh daerah.",
        "Mereka menjadi tulang punggung perubahan positif di tengah masyarakat yang membutuhkan "
        "bantuan dan dukungan.",
        "Teruslah menginspirasi dan membawa perubahan positif.Sosdukcapil Hadir. Mantap.",
    ]
    html = f"""<html><body>
    <div class="jeg_breakingnews"><a href="/1">Prajurit Yonif Melaksanakan Lomba Memasak</a>
      <a href="/2">Babinsa Ajak Warga Berdayakan Sampah Menjadi Tabungan Emas</a></div>
    <div class="breadcrumbs"><a href="/">Home</a> / <a href="/opini">Opini</a></div>
    <article class="post-77 post type-post category-opini">
      <div class="post-date">Minggu, 2 Juli 2023 - 19:17 WIB</div>
      <h1 class="entry-title">Empati dan Dedikasi</h1>
      <div class="entry-content">
        <p><strong>Oleh:Yulfi Alfikri Noer S.IP., M.AP</strong></p>
        <p>Tenaga Ahli Gubernur Bidang Tata Kelola Pemerintahan</p>
        <p>{body_paras[0]}</p>
        <p>Baca :&nbsp; <a href="/read/9">Kapolresta Bersama Jajaran Geruduk Kodim</a></p>
        <p>{body_paras[1]}</p>
        <p>{body_paras[2]}</p>
        <p>Baca :&nbsp; <a href="/read/10">Dirkumad Pimpin Upacara Penutupan Pendidikan</a></p>
        <p>{body_paras[3]} ***</p>
      </div>
      <div class="share-box">Share : <a href="#">f</a> <a href="#">t</a></div>
      <div class="jeg_postblock related"><h3>Baca Juga</h3>
        <div><span>Daerah</span><h4><a href="/r/1">Kekerasan Pada Anak, Psikolog: Warisan</a></h4></div>
        <div><span>Opini</span><h4><a href="/r/2">Membuat Media (Siber)</a></h4></div></div>
    </article></body></html>"""
    result = run(html)
    assert result.text == "\n\n".join(body_paras)
    kinds = [(r.kind, r.text) for r in result.removed]
    assert ("byline", "Oleh:Yulfi Alfikri Noer S.IP., M.AP") in kinds
    assert ("byline", "Tenaga Ahli Gubernur Bidang Tata Kelola Pemerintahan") in kinds
    assert ("insert", "Baca : Kapolresta Bersama Jajaran Geruduk Kodim") in kinds
    assert ("end_mark", "***") in kinds


def test_headline_repeated_at_the_top_of_the_container_is_not_body() -> None:
    html = f"""<html><head><meta property="og:title" content="Taman Baru Kota Diresmikan"></head>
      <body><div class="entry-content"><p><b>Taman Baru Kota Diresmikan</b></p>{paragraphs()}</div>
      </body></html>"""
    result = run(html)
    assert result.text == "\n\n".join(PARAS)
    assert ("title", "Taman Baru Kota Diresmikan") in [(r.kind, r.text) for r in result.removed]


def test_desk_code_closing_the_text_is_not_body() -> None:
    last = PARAS[-1] + " (ant/mea)"
    html = f'<html><body><div class="entry-content">{paragraphs(PARAS[:-1] + [last])}</div></body></html>'
    result = run(html)
    assert result.text == "\n\n".join(PARAS)
    assert ("desk_code", "(ant/mea)") in [(r.kind, r.text) for r in result.removed]


def test_lead_photo_caption_above_the_container_goes_to_captions() -> None:
    html = f"""<html><body><div class="wrap-detail"><h1>Taman baru</h1>
      <div class="image-detail"><img src="/a.jpg" width="800">
        <div class="foto-credit">Dok. Pemkot</div>
        <div class="foto-caption">Taman kota pada hari pertama dibuka.</div></div>
      <div class="artikel">{paragraphs()}</div>
      <div class="sidebar"><figure><figcaption>Foto berita lain</figcaption></figure></div>
      </div></body></html>"""
    result = run(html)
    assert result.text == "\n\n".join(PARAS)
    assert result.captions == ["Taman kota pada hari pertama dibuka."]


def test_profile_container_with_only_chrome_falls_back_to_the_generic_path() -> None:
    html = f"""<html><body><div class="kotak-lama"><p>ADVERTISEMENT</p></div>
      <div class="entry-content">{paragraphs()}</div></body></html>"""
    result = run(html, selectors={"body": ("div.kotak-lama",)})
    assert result.source == "container"
    assert result.text == "\n\n".join(PARAS)


# --- a wrapper named for chrome that holds the article ---------------------------------------

SHARE_BAR = (
    '<div class="share-buttons"><a href="#fb">Facebook</a> <a href="#tw">Twitter</a> '
    '<a href="#wa">WhatsApp</a></div>'
)
TEASERS = "".join(
    f'<div class="item"><h4><a href="/r/{i}">Judul berita lain nomor {i} tentang kota</a></h4>'
    f"<p>{PARAS[i % 4][:70]}</p></div>"
    for i in range(6)
)


@pytest.mark.parametrize(
    "wrapper", ["post-share-wrap", "author-content", "td-post-sharing-wrap", "tags-content-area"]
)
def test_wrapper_named_for_chrome_that_holds_the_paragraphs_is_the_body(wrapper: str) -> None:
    # No known body class: the wrapper's name was enough to drop every paragraph from scoring.
    html = f"""<html><body><nav class="menu"><a href="/">Home</a></nav>
      <article class="single"><h1>Taman baru diresmikan</h1>
      <div class="{wrapper}">{paragraphs()}{SHARE_BAR}</div></article>
      <aside class="sidebar"><ul>{SIDEBAR_LINKS}</ul></aside></body></html>"""
    result = run(html)
    assert result.text == "\n\n".join(PARAS)
    assert any(r.kind == "share" and "WhatsApp" in r.text for r in result.removed)


def test_wrapper_named_for_chrome_inside_a_known_container_is_kept() -> None:
    # The wrapper holds less than half the container's text (teasers and a bio follow it), but
    # nearly all of its paragraphs.
    html = f"""<html><body><h1>Taman baru diresmikan</h1><div class="detail-content">
      <div class="author-content">{paragraphs()}{SHARE_BAR}</div>
      <div class="author-box"><p>Rina Wulandari adalah jurnalis yang meliput isu perkotaan dan
      lingkungan hidup di kota ini sejak tahun 2015.</p></div>
      <div class="related-post"><h3>Berita Lainnya</h3>{TEASERS}{TEASERS}</div>
      </div></body></html>"""
    result = run(html)
    assert result.text == "\n\n".join(PARAS)
    kinds = {r.kind for r in result.removed}
    assert {"share", "author_box", "related"} <= kinds, result.removed


def test_teaser_summaries_under_one_parent_are_still_chrome() -> None:
    # Headline links and summaries side by side in one box: prose by length, not an article.
    teasers = "".join(
        f'<h4><a href="/r/{i}">Judul berita lain nomor {i} tentang kota dan warganya</a></h4>'
        f'<span class="date">2 Juli 2023</span><p>{PARAS[i % 4]}</p>'
        for i in range(8)
    )
    html = f"""<html><body><div class="entry-content">{paragraphs(PARAS[:2])}
      <div class="related-posts">{teasers}</div></div></body></html>"""
    result = run(html)
    assert result.text == "\n\n".join(PARAS[:2])
    assert any(r.kind == "related" for r in result.removed)


def test_next_article_box_stays_chrome_when_the_article_is_unmarked() -> None:
    # Infinite-scroll portals preload the next article; it may be longer than this one.
    longer = [p + " " + p for p in PARAS]
    html = f"""<html><body><div id="main"><h1>Taman baru</h1>
      <div class="x">{paragraphs(PARAS[:3])}</div></div>
      <div class="next-article"><h2>Berita berikutnya</h2>{paragraphs(longer)}</div>
      <aside><ul>{SIDEBAR_LINKS}{SIDEBAR_LINKS}</ul></aside></body></html>"""
    result = run(html)
    assert result.text == "\n\n".join(PARAS[:3])


def test_comment_thread_with_long_paragraphs_stays_comments() -> None:
    html = f"""<html><body><div class="article-body">{paragraphs(PARAS[:2])}</div>
      <div class="comments"><div class="comment-body">{paragraphs(PARAS * 2)}</div></div>
      </body></html>"""
    result = run(html)
    assert result.text == "\n\n".join(PARAS[:2])
