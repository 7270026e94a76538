"""parse_byline: one row per credit form met on Indonesian and English news pages."""

from __future__ import annotations

import pytest

from newsarchive.extract.bylines import parse_byline

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
