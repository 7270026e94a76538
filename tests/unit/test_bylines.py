"""parse_byline: one row per credit form met on Indonesian and English news pages."""

from __future__ import annotations

import pytest

from newsarchive.extract.bylines import find_contributors, name_date_byline, parse_byline
from newsarchive.extract.document import parse_document

A, R, E, P, T, G = "author", "reporter", "editor", "photographer", "translator", "agency"

FORMS = [
    # Oleh: without a space, academic titles after the name (commas inside titles must not split).
    ("Oleh:Yulfi Alfikri Noer S.IP., M.AP", [("Yulfi Alfikri Noer S.IP., M.AP", A)]),
    ("Oleh: Dr. Budi Santoso, S.H., M.H.", [("Dr. Budi Santoso, S.H., M.H.", A)]),
    ("Oleh Desca Lidya Natalia", [("Desca Lidya Natalia", A)]),
    ("Penulis: Nabilla Tashandra", [("Nabilla Tashandra", A)]),
    # A job description before the name is dropped.
    ("Penulis : Kontributor Lhokseumawe, Masriadi", [("Masriadi", A)]),
    ("Reporter: Andi Saputra", [("Andi Saputra", R)]),
    ("Pewarta: Nur Imansyah", [("Nur Imansyah", R)]),
    # "A dan B" lists.
    ("Pewarta: Budisantoso Budiman dan Agus S", [("Budisantoso Budiman", R), ("Agus S", R)]),
    # Lower-case wire account after an explicit label.
    ("Pewarta: prwir", [("prwir", R)]),
    # "Laporan wartawan <outlet>, <name>".
    ("Laporan wartawan Tribunnews.com, Fahdi Fahlevi", [("Fahdi Fahlevi", R)]),
    # ...with the reporter's city between outlet and name: only the last part is a person.
    ("Laporan Wartawan Jambiraya.com, Muara Bulian, Dedi Nurdin", [("Dedi Nurdin", R)]),
    ("Laporan Wartawan Serambi Nusa Palembang, Rina Sari", [("Rina Sari", R)]),
    ("Laporan Wartawan Jambiraya.com Dedi Nurdin", [("Dedi Nurdin", R)]),
    ("Laporan Wartawan Jambiraya.com, Dedi Nurdin, S.H.", [("Dedi Nurdin, S.H.", R)]),
    (
        "Laporan Wartawan Jambiraya.com, Muara Bulian, Dedi Nurdin dan Rina Sari",
        [("Dedi Nurdin", R), ("Rina Sari", R)],
    ),
    ("Editor: Ade Marboen", [("Ade Marboen", E)]),
    ("Redaktur : Mohamad Amin Madani", [("Mohamad Amin Madani", E)]),
    ("Red: Yudha Manggala P Putra", [("Yudha Manggala P Putra", E)]),
    # Several labels in one line.
    (
        "Rep: Lida Puspaningtyas/ Red: Bilal Ramadhan",
        [("Lida Puspaningtyas", R), ("Bilal Ramadhan", E)],
    ),
    ("Reporter: Andi Saputra | Editor: Budi Hartono", [("Andi Saputra", R), ("Budi Hartono", E)]),
    # "A, B" lists.
    ("Penulis: Andi Saputra, Budi Hartono", [("Andi Saputra", A), ("Budi Hartono", A)]),
    (
        "Andi Saputra, Budi Hartono & Citra Dewi",
        [("Andi Saputra", A), ("Budi Hartono", A), ("Citra Dewi", A)],
    ),
    # Unlabelled byline with the channel after a dash (detik).
    ("Fino Yurio Kristo - detikinet", [("Fino Yurio Kristo", A)]),
    # English byline running into its date line (liputan6).
    ("By Corry Anestia on 16 Feb 2016 at 09:10 WIB", [("Corry Anestia", A)]),
    # WordPress "Posted on <date> by <account>".
    ("Posted on Maret 30, 2015 by Admin", [("Admin", A)]),
    # Agencies: role agency, name kept as written; a dateline after the agency is not a name.
    ("ANTARA", [("ANTARA", G)]),
    (
        "Agence France-Presse, CHARLESTON, South Carolina | World | Fri, June 19 2015, 7:36 AM",
        [("Agence France-Presse", G)],
    ),
    ("Reporter: Reuters", [("Reuters", G)]),
    # Desk codes: wire codes name the agency, staff initials name nobody.
    ("(ant)", [("ANTARA", G)]),
    ("(ant/mdk)", [("ANTARA", G)]),
    ("(mdk/ded)", []),
    ("(fyk/ash)", []),
    # Photographers and translators.
    ("Foto: Grandyos Zafna", [("Grandyos Zafna", P)]),
    ("Fotografer: Grandyos Zafna", [("Grandyos Zafna", P)]),
    ("Penerjemah: Siti Rahma", [("Siti Rahma", T)]),
    # Institutional bylines are kept as shown.
    ("Tim detikBali", [("Tim detikBali", A)]),
    ("Media Indonesia", [("Media Indonesia", A)]),
    # Labels without colons, the next word capitalised.
    (
        "Penulis Nabilla Tashandra | Editor Bayu Galih",
        [("Nabilla Tashandra", A), ("Bayu Galih", E)],
    ),
    # Job titles after a name are cut; a bare job title is no name.
    ("By Meg James Staff Writer", [("Meg James", A)]),
    ("AP Auto Writer", []),
    # A name printed twice in one byline block.
    ("Sean Martin Sean Martin", [("Sean Martin", A)]),
    # Stamps after the name ("Updated ...", a month left over from the date).
    ("By Umair Irfan Updated Nov 13, 2019, 10:28am EST", [("Umair Irfan", A)]),
    ("By Associated Press November 19, 2019, 9:02 AM", [("Associated Press", G)]),
    # Undotted professional titles after commas stay with the name.
    ("By Rachael Link, MS, RD", [("Rachael Link, MS, RD", A)]),
    # "Author" in European languages, and the Bosnian/Croatian/Serbian "writes", with a colon.
    ("Autor: Jana Novakova", [("Jana Novakova", A)]),
    ("Autor/in: Katrin Vogel", [("Katrin Vogel", A)]),
    ("Auteur: Marie Dubois", [("Marie Dubois", A)]),
    ("Erstellt von Jana Novakova", [("Jana Novakova", A)]),
    # A French interview's credit; a full stop after a surname in capitals ends the sentence.
    ("Propos recueillis par Marie DUBOIS.", [("Marie DUBOIS", A)]),
    ("Geschrieben von: Jana Novakova", [("Jana Novakova", A)]),
    ("Pi\u0161e: Amir Hod\u017ei\u0107", [("Amir Hod\u017ei\u0107", A)]),
    # Attribution lines name no contributor.
    ("Sumber : Antara", []),
    ("Sumber: The Telegraph", []),
]


@pytest.mark.parametrize(("text", "expected"), FORMS)
def test_byline_forms(text: str, expected: list[tuple[str, str]]) -> None:
    assert [(c.name, c.role) for c in parse_byline(text)] == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "dimiliki oleh pekerja sosial masyarakat",  # "oleh" inside running text
        "By June, the company had grown",  # "By" starting prose
        "https://www.facebook.com/detikcom",
        "@detikcom",
        "Share",
        "Penulis Andrea Hirata mengatakan bahwa bukunya laris",  # a sentence about a writer
        "by the Chinese government since 2017",
        "Crafted with love by TemplatesYard | Designed by First Media Ltd",  # site credit
    ],
)
def test_not_bylines(text: str) -> None:
    assert parse_byline(text) == []


def test_default_role_none_ignores_unlabelled_text() -> None:
    assert [
        (c.name, c.role)
        for c in parse_byline("Posted on 30 Maret 2015 by Admin", default_role=None)
    ] == [("Admin", A)]
    assert parse_byline("Foto Video Infografis", default_role=None) == []


# --- find_contributors on small pages -------------------------------------------------------

HEAD = """<html lang="id"><head><title>{title}</title>
<meta property="og:site_name" content="Kabar Nusantara">
<meta property="og:title" content="{title}">{head}</head>
<body><div class="menu"><a href="https://kabarnusantara.example/ekonomi">Ekonomi</a></div>
<h1>{title}</h1>{body}
<div class="isi"><p>JAKARTA - Harga beras di pasar induk naik untuk pekan ketiga berturut-turut,
kata pedagang yang ditemui pada Senin pagi.</p></div>{after}</body></html>"""
TITLE = "Harga Beras di Pasar Induk Naik Tiga Pekan Berturut-turut"


def credits(body: str = "", *, head: str = "", after: str = "") -> list[tuple[str, str]]:
    page = HEAD.format(title=TITLE, head=head, body=body, after=after)
    doc = parse_document(page, "https://kabarnusantara.example/ekonomi/2023/07/03/harga-beras")
    people, _ = find_contributors(doc, selectors={})
    return [(c.name, c.role) for c in people]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # Rule: a class or a tag that says reporter/writer/author is the byline, with no label.
        ('<span class="reporter-name">Andi Saputra</span>', [("Andi Saputra", R)]),
        ('<div class="writer">Andi Saputra</div>', [("Andi Saputra", A)]),
        ('<div class="wartawan">Andi Saputra</div>', [("Andi Saputra", R)]),
        ("<author>Andi Saputra</author>", [("Andi Saputra", A)]),
        ("<reporter>Andi Saputra</reporter>", [("Andi Saputra", R)]),
        # Rule: "Name - date" under the headline.
        ('<div class="info">Andi Saputra - 3 Maret 2018 20:15 wib</div>', [("Andi Saputra", A)]),
        ("<p>Andi Saputra | Senin, 03/07/2023 10:15 WIB</p>", [("Andi Saputra", A)]),
    ],
)
def test_unlabelled_bylines(body: str, expected: list[tuple[str, str]]) -> None:
    assert credits(body) == expected


@pytest.mark.parametrize(
    ("body", "after"),
    [
        # An author box: the bio and its "more from this author" list, not the byline.
        (
            "",
            '<div class="writer-profile"><div class="writer">Rina Wulandari</div>'
            "<p>Rina Wulandari adalah wartawan senior.</p></div>",
        ),
        ("", '<p class="reporter-bio">Rina Wulandari adalah wartawan sejak tahun lalu.</p>'),
        # Teasers of other articles, each with its writer.
        (
            "",
            '<ul class="list-populer"><li><a href="https://kabarnusantara.example/a">Jembatan'
            ' Way Sekampung Ditutup Sementara untuk Perbaikan</a> <span class="writer">Budi'
            " Hartono</span></li></ul>",
        ),
        # A comment author.
        ("", '<div class="komentar"><span class="comment-writer">Rudi Hartono</span></div>'),
        # A dateline city, a section name and the site before a date are not writers.
        ('<div class="info">JAKARTA - 3 Maret 2018 20:15 wib</div>', ""),
        ('<div class="info">Ekonomi - 3 Maret 2018 20:15 wib</div>', ""),
        ('<div class="info">Kabar Nusantara - 3 Maret 2018 20:15 wib</div>', ""),
        # A dash before something that is not only a date.
        ('<div class="info">Andi Saputra - dibaca 1.200 kali</div>', ""),
    ],
)
def test_not_unlabelled_bylines(body: str, after: str) -> None:
    assert credits(body, after=after) == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # Rule: a name ends where the element marked as holding it ends; the byline block's
        # next element (the outlet the writer works for) is not part of it.
        (
            '<div class="byline"><span class="author">Rina Wulandari and Budi Hartono</span>'
            ' <span class="publication">Harian Pagi Sumatra Barat</span></div>',
            [("Rina Wulandari", A), ("Budi Hartono", A)],
        ),
        (
            '<div class="article-byline">By <span itemprop="author"><span itemprop="name">'
            'BUDI S. HARTONO</span></span> <div class="title">The Straits Courier</div></div>',
            [("BUDI S. HARTONO", A)],
        ),
        # ...and a link to the person's page marks the name too, before a bio in the same box.
        (
            '<div class="info"><h3>Autor</h3><h4><a href="/autor/rina-wulandari">Rina'
            " Wulandari</a></h4> <p>Menulis Tentang Pangan</p></div>",
            [("Rina Wulandari", A)],
        ),
        # A link to the person's page holds the whole name, one word as well.
        (
            '<p class="date">Erstellt von <a href="/author/rina/">Rina</a> am Dienstag 6. Mai'
            " 2014</p>",
            [("Rina", A)],
        ),
        # A given and a family name in elements of their own stay one name.
        (
            '<div class="byline"><span class="author-first">Budi S.</span>'
            ' <span class="author-last">Hartono Wijaya</span></div>',
            [("Budi S. Hartono Wijaya", A)],
        ),
    ],
)
def test_a_name_ends_with_its_element(body: str, expected: list[tuple[str, str]]) -> None:
    assert credits(body) == expected


def test_a_posted_on_prefix_in_an_author_class_is_no_writer() -> None:
    # A WordPress theme's "Posted on" before the date, classed meta-prep-author, in German.
    body = (
        '<div class="entry-meta"><span class="meta-prep meta-prep-author">Ver\u00f6ffentlicht'
        ' am</span> <span class="entry-date">6. Mai 2014</span> <span class="by-author">von'
        ' <span class="author vcard"><a href="/author/rina/">Rina Wulandari</a></span></span>'
        "</div>"
    )
    assert credits(body) == [("Rina Wulandari", A)]


def test_site_name_in_writer_class_yields_to_a_person_in_meta() -> None:
    head = '<meta name="author" content="Andi Saputra">'
    assert credits('<span class="writer">Kabar Nusantara</span>', head=head) == [
        ("Andi Saputra", A)
    ]


def test_desk_byline_is_kept_when_no_person_is_named() -> None:
    assert credits('<span class="writer">Tim Redaksi</span>') == [("Tim Redaksi", A)]


def test_desk_next_to_a_person_is_not_a_second_writer() -> None:
    assert credits("<p>Penulis: Tim Redaksi, Andi Saputra</p>") == [("Andi Saputra", A)]


JSONLD = '<script type="application/ld+json">{{"@type": "NewsArticle", "author": {author}, "publisher": {{"@type": "Organization", "name": "PT Media Kabar Nusantara"}}}}</script>'  # noqa: E501


@pytest.mark.parametrize(
    "placeholder",
    [
        '<meta name="author" content="admin">',
        '<meta name="author" content="developer">',
        '<meta name="author" content="Redaksi Kabar Nusantara">',
        JSONLD.format(author='{"@type": "Person", "name": "Redaksi"}'),
        JSONLD.format(author='{"@type": "Person", "name": "webmaster"}'),
    ],
)
def test_placeholder_authors_yield_to_a_visible_person(placeholder: str) -> None:
    body = '<div class="author"><a href="/penulis/andi">Andi Saputra</a></div>'
    assert credits(body, head=placeholder) == [("Andi Saputra", A)]


def test_placeholder_author_alone_is_kept() -> None:
    assert credits(head='<meta name="author" content="Admin">') == [("Admin", A)]


@pytest.mark.parametrize(
    "head",
    [
        '<meta name="author" content="PT Media Kabar Nusantara">',
        '<meta name="author" content="PT Sinar Pagi Mediatama">',
        JSONLD.format(author='{"@type": "Organization", "name": "PT Media Kabar Nusantara"}'),
        JSONLD.format(author='{"@type": "Person", "name": "PT Media Kabar Nusantara"}'),
    ],
)
def test_the_outlet_is_never_a_writer(head: str) -> None:
    assert credits(head=head) == []


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Andi Saputra - 3 Maret 2018 20:15 wib", "Andi Saputra"),
        ("Andi Saputra \u2013 Senin, 3 Juli 2023 | 10:15 WIB", "Andi Saputra"),
        ("Rina Sari | 03/07/2023 10:15", "Rina Sari"),
        ("JAKARTA - 3 Maret 2018", None),  # a dateline
        ("Andi Saputra - dibaca 1.200 kali", None),  # not a date after the dash
        ("harga naik - 3 Maret 2018", None),  # not a name before it
        ("Andi Saputra - 2 jam yang lalu", "Andi Saputra"),
        ("Andi Saputra - Senin", None),  # a day name alone is no date
    ],
)
def test_name_date_byline(text: str, name: str | None) -> None:
    assert name_date_byline(text) == name
