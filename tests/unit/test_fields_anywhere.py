"""Title, category, tags, authors and the lead image on pages from portals nobody wrote a rule for.

Small hand-written pages modelled on the markup such sites print: WordPress/Yoast JSON-LD with
escaped strings, keyword metas that hold a whole list, share boxes and teaser lists whose classes
name tags or topics, German and French bylines.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from newsarchive.extract import extract_article
from newsarchive.extract.bylines import parse_byline
from newsarchive.items import Article

URL = "https://www.wochenblatt.example/region/2024/03/12/neue-bruecke-eroeffnet"
HEADLINE = "Neue Brücke über den Fluss nach zwei Jahren Bauzeit eröffnet"
PROSE = (
    "<p>Nach zwei Jahren Bauzeit ist die neue Brücke über den Fluss am Dienstag für den Verkehr"
    " freigegeben worden. Der Bürgermeister sprach von einem wichtigen Tag für die Stadt.</p>"
    "<p>Die alte Brücke war wegen Rissen im Beton gesperrt worden. Pendler mussten seitdem einen"
    " Umweg von zwölf Kilometern fahren, wie die Verwaltung mitteilte.</p>"
)


def page(
    *,
    head: str = "",
    before: str = "",
    after: str = "",
    jsonld: list[dict[str, Any]] | None = None,
    h1: str = HEADLINE,
    title: str = f"{HEADLINE} | Wochenblatt",
) -> str:
    scripts = "".join(
        f'<script type="application/ld+json">{json.dumps(obj)}</script>' for obj in jsonld or []
    )
    h1_element = f"<h1>{h1}</h1>" if h1 else ""
    return (
        f'<html lang="de"><head><title>{title}</title>{head}{scripts}</head>'
        f"<body>{before}<article>{h1_element}<div class='entry'>{PROSE}</div>{after}</article>"
        "</body></html>"
    )


def extract(html: str, url: str | None = URL) -> Article:
    return extract_article(html, url)


def crumb(position: int, name: str, url: str | None) -> dict[str, Any]:
    item: dict[str, Any] = {"@type": "ListItem", "position": position, "name": name}
    if url:
        item["item"] = url
    return item


def trail(*crumbs: dict[str, Any]) -> dict[str, Any]:
    return {"@type": "BreadcrumbList", "itemListElement": list(crumbs)}


# --- character references in JSON-LD and metas ------------------------------------------------


def test_character_references_in_a_jsonld_trail_are_resolved():
    html = page(
        jsonld=[
            trail(
                crumb(1, "Startseite", "https://www.wochenblatt.example/"),
                crumb(2, "Natur &#038; Umwelt", "https://www.wochenblatt.example/natur/"),
            )
        ]
    )
    assert extract(html).category == "Natur & Umwelt"


def test_a_trail_ending_with_the_escaped_headline_gives_the_section_before_it():
    # WordPress escapes the headline's dashes and quotes ('&#8211;', '&#8222;') in the trail.
    escaped = "Neue Brücke &#8222;über&#8220; den Fluss &#8211; nach zwei Jahren eröffnet"
    shown = "Neue Brücke „über“ den Fluss – nach zwei Jahren eröffnet"
    html = page(
        h1=shown,
        head=f'<meta property="og:title" content="{shown}">',
        jsonld=[
            trail(
                crumb(1, "Startseite", "https://www.wochenblatt.example/"),
                crumb(2, "Verkehr", "https://www.wochenblatt.example/verkehr/"),
                crumb(3, escaped, "https://www.wochenblatt.example/verkehr/neue-bruecke/"),
            )
        ],
    )
    assert extract(html).category == "Verkehr"


def test_an_escaped_jsonld_headline_finds_the_element_that_displays_it():
    # og:title carries a longer variant; the JSON-LD headline (escaped) is what the <h1> shows.
    html = page(
        h1="Glasgow’s Latin American delight",
        title="Oven-fresh: Glasgow’s Latin American delight, reviewed",
        head='<meta property="og:title" content="Oven-fresh: Glasgow’s Latin American delight">',
        jsonld=[{"@type": "NewsArticle", "headline": "Glasgow&#8217;s Latin American delight"}],
    )
    assert extract(html).title == "Glasgow’s Latin American delight"


def test_an_og_title_escaped_twice_reads_as_characters():
    html = page(
        h1="",
        title="Wochenblatt",
        head='<meta property="og:title" content="Glasgow&amp;#8217;s Latin American delight">',
    )
    assert extract(html).title == "Glasgow’s Latin American delight"


def test_a_description_escaped_twice_reads_as_characters():
    html = page(head='<meta name="description" content="Die Stadt &amp;ldquo;feiert&amp;rdquo;">')
    assert extract(html).description == "Die Stadt “feiert”"


# --- the category ----------------------------------------------------------------------------


def test_an_unlinked_last_crumb_in_many_words_is_the_page_not_its_section():
    # Yoast names the current page by its SEO title, which differs from the displayed headline.
    html = page(
        jsonld=[
            trail(
                crumb(1, "Startseite", "https://www.wochenblatt.example/"),
                crumb(2, "3 Fragen an die Bauleiterin, Teamleiterin Brückenbau", None),
            ),
            {"@type": "NewsArticle", "headline": HEADLINE, "articleSection": "Interviews"},
        ]
    )
    assert extract(html).category == "Interviews"
    # A section named by an unlinked last crumb stays the section.
    html = page(
        jsonld=[
            trail(
                crumb(1, "Startseite", "https://www.wochenblatt.example/"),
                crumb(2, "Aktuelles", None),
            )
        ]
    )
    assert extract(html).category == "Aktuelles"


def test_sections_listed_in_one_string_give_the_first():
    html = page(
        jsonld=[{"@type": "NewsArticle", "headline": HEADLINE, "articleSection": "Verkehr,Region"}]
    )
    assert extract(html, None).category == "Verkehr"


def test_a_date_where_a_section_label_sits_is_no_section():
    dated = page(before="<div><span class='time-rubric'>Jan 18, 2019</span></div>")
    assert extract(dated, None).category is None
    labelled = page(before="<div><span class='time-rubric'>Verkehr</span></div>")
    assert extract(labelled, None).category == "Verkehr"


# --- the lead image ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stand_in",
    [
        "https://s0.wp.example/i/blank.jpg",
        "https://www.wochenblatt.example/img/pages/article/opengraph_default.png",
        "https://www.wochenblatt.example/img/ogimagedefault.gif",
        "https://www.wochenblatt.example/images/wochenblatt_fb_logo.jpg",
        "https://www.wochenblatt.example/logos/wb_logo_social.png",
        "https://www.wochenblatt.example/logo.svg",
        "https://www.wochenblatt.example/uploads/cropped-wochenblatt-favicon.jpg?w=200",
        "https://secure.gravatar.example/blavatar/55bf7238e39ec9fd72a2f40d67d77e99?s=200",
        "https://www.wochenblatt.example/plugins/seo/images/default-user-image.png",
        # A theme's or plugin's own artwork, whatever its file is called.
        "https://www.wochenblatt.example/wp-content/themes/aquarius/images/wb-pill.png",
        "https://www.wochenblatt.example/wp-content/plugins/sharer/assets/wb_fb.jpg",
        "https://www.wochenblatt.example/sites/all/themes/wb/images/teaser.jpg",
    ],
)
def test_a_sites_stand_in_image_is_no_lead_image(stand_in: str) -> None:
    html = page(head=f'<meta property="og:image" content="{stand_in}">')
    assert extract(html).image is None
    # The next source that names the article's own image is taken instead.
    own = "https://www.wochenblatt.example/sites/default/files/2024/03/bruecke-eroeffnung.jpg"
    html = page(
        head=f'<meta property="og:image" content="{stand_in}">'
        f'<meta name="twitter:image" content="{own}">'
    )
    assert extract(html).image == own


def test_a_relative_canonical_url_and_image_are_made_absolute() -> None:
    html = page(
        head='<link rel="canonical" href="/region/2024/03/12/neue-bruecke-eroeffnet">'
        '<meta property="og:image" content="../../bilder/bruecke.jpg">'
    )
    record = extract(html)
    assert record.canonical_url == URL
    assert record.image == "https://www.wochenblatt.example/region/2024/bilder/bruecke.jpg"
    # Without the page's URL there is nothing to resolve them against: as written.
    assert extract(html, None).canonical_url == "/region/2024/03/12/neue-bruecke-eroeffnet"


@pytest.mark.parametrize(
    "shown",
    [
        "https://www.wochenblatt.example/uploads/2015/08/alibaba-logo-getty-1024-683.jpg",
        # An upload of a WordPress site, a site's own assets folder: the article's pictures.
        "https://www.wochenblatt.example/wp-content/uploads/2024/03/themes-der-woche.jpg",
        "https://www.wochenblatt.example/assets/img/2016/12/08/cover-ibuprofen.jpg",
    ],
)
def test_an_image_showing_a_logo_or_kept_among_uploads_is_a_lead_image(shown: str) -> None:
    html = page(head=f'<meta property="og:image" content="{shown}">')
    assert extract(html).image == shown


# --- the title ---------------------------------------------------------------------------------


def test_a_site_name_after_a_full_width_bar_is_cut_from_the_title():
    headline = "与田祐希“ちょんまげショット”公開「お気に入りの一枚」（2020年2月15日）"
    html = (
        '<html lang="ja"><head>'
        f'<meta property="og:title" content="{headline}｜ポータルニュース">'
        '<meta property="og:site_name" content="ポータルニュース"></head>'
        f"<body><div class='headline'>芸能</div><p>{'本文' * 60}</p></body></html>"
    )
    assert extract(html, "https://news.portal.example/0215/a.html").title == headline


# --- tags --------------------------------------------------------------------------------------


def test_one_keyword_string_is_split_into_its_keywords():
    html = page(head='<meta property="article:tag" content="Verkehr,Brücken, Stadtrat">')
    assert extract(html).tags == ["Verkehr", "Brücken", "Stadtrat"]
    # Several article:tag metas are a keyword each: a comma may belong to one.
    html = page(
        head='<meta property="article:tag" content="Washington, D.C.">'
        '<meta property="article:tag" content="Verkehr">'
    )
    assert extract(html).tags == ["Washington, D.C.", "Verkehr"]


def test_semicolon_separated_keywords_are_split_after_their_references_resolve():
    html = page(head='<meta name="news_keywords" content="US;MARKETS;PG&amp;amp;E;Gold">')
    assert extract(html).tags == ["US", "MARKETS", "PG&E", "Gold"]


def test_entity_codes_of_a_tagger_and_contacts_are_no_part_of_tags():
    keywords = (
        "Rina Wulandari POLITICAL_FIGURE PERSON, PERSON Budi Hartono GOVERNMENT_FIGURE PERSON, "
        "NATIONAL_PARK NATURE_FIGURE, Gunung Rinjani, IKN, AP_Style, "
        "https://twitter.com/kabar_daerah, redaksi@kabar.example twitter.com/kabardaerah"
    )
    html = page(head=f'<meta name="news_keywords" content="{keywords}">')
    # Capitals at a keyword's ends go only with codes ("IKN" stays); "AP_Style" is no code.
    assert extract(html).tags == [
        "Rina Wulandari",
        "Budi Hartono",
        "Gunung Rinjani",
        "IKN",
        "AP_Style",
    ]


def test_the_sites_own_name_is_no_tag():
    site = '<meta property="og:site_name" content="Wochenblatt.de">'
    keywords = '<meta name="news_keywords" content="Brücke, Wochenblatt, WOCHENBLATT-DE, Verkehr">'
    assert extract(page(head=site + keywords)).tags == ["Brücke", "Verkehr"]
    # The host's brand names the site too; two letters are too few to tell a site from a topic.
    keywords = '<meta name="news_keywords" content="Brücke, Wochenblatt, US">'
    assert extract(page(head=keywords + '<meta property="og:site_name" content="U.S.">')).tags == [
        "Brücke",
        "US",
    ]


def test_a_keyword_list_nested_in_a_jsonld_list_is_flattened():
    html = page(
        jsonld=[{"@type": "NewsArticle", "headline": HEADLINE, "keywords": [["Brücke", "Stadt"]]}]
    )
    assert extract(html).tags == ["Brücke", "Stadt"]


def test_the_headline_description_codes_labels_and_credits_are_no_tags():
    description = "Pendler sparen zwölf Kilometer Umweg."
    html = page(
        head=f'<meta name="description" content="{description}">'
        f'<meta property="article:tag" content="{HEADLINE} | Wochenblatt">'
        f'<meta property="article:tag" content="HEADLINE|{HEADLINE}">'
        f'<meta property="article:tag" content="{description}">'
        '<meta property="article:tag" content="@hp-top-stories">'
        '<meta property="article:tag" content="News:">'
        '<meta property="article:tag" content="Editor:Anna Beispiel">'
        '<meta property="article:tag" content="Brücke">'
    )
    assert extract(html).tags == ["Brücke"]


def test_share_buttons_in_a_box_whose_class_names_tags_are_no_tags():
    # A theme's name in the article's class ('tagdiv'), Jetpack's share links inside.
    share = f"{URL}/?share="
    html = page(
        before="<div class='post-content tagdiv-type'>"
        f"<a href='{share}twitter'>Twitter</a> <a href='{share}facebook'>Facebook</a></div>"
    )
    assert extract(html).tags == []


def test_a_share_box_gives_way_to_the_tag_list_after_it():
    html = page(
        after="<div class='share-tools--event-tag'><ul>"
        "<li><a href='#'>Share this with Facebook</a></li>"
        "<li><a href='fb-messenger://share?link=x'>Share this with Messenger</a></li>"
        "<li><a href='mailto:?body=x'>Share this with Email</a></li>"
        "<li><a href='https://www.bbc.example/help/sharing'>Read more about sharing.</a></li>"
        "</ul></div>"
        "<div class='tags'><a href='/tags/verkehr'>Verkehr</a>"
        "<a href='https://twitter.com/intent/tweet'><i class='x'></i></a></div>"
    )
    assert extract(html).tags == ["Verkehr"]


def test_a_tag_box_label_is_no_tag():
    html = page(
        after="<div class='contenedor_tags'><a href='/tags/'>Temas relacionados:</a>"
        "<ul><li><a href='/tags/futbol.html'>Fútbol</a></li>"
        "<li><a href='/tags/la-liga.html'>La Liga</a></li></ul></div>"
    )
    assert extract(html).tags == ["Fútbol", "La Liga"]


def test_a_topic_box_of_other_articles_headlines_is_no_tag_list():
    teasers = "".join(
        f"<a href='/space/story-{i}'>NASA discovery fuels hopes in the search for water on moon"
        f" number {i}</a>"
        for i in range(4)
    )
    html = page(
        head='<meta name="news_keywords" content="Raumfahrt, NASA">',
        after=f"<section class='component--topic-space'><a href='/space/'>More Space</a>"
        f"{teasers}</section>",
    )
    assert extract(html).tags == ["Raumfahrt", "NASA"]


def test_a_tag_cloud_is_the_sites_not_the_articles():
    html = page(
        head='<meta name="news_keywords" content="Brücke, Verkehr">',
        after="<section class='box tagcloud'><ul class='list--tags'>"
        "<li><a href='/geburt'>Geburt</a></li><li><a href='/fitness'>Fitness</a></li></ul>"
        "</section>",
    )
    assert extract(html).tags == ["Brücke", "Verkehr"]


# --- authors -----------------------------------------------------------------------------------


def test_german_french_and_spanish_words_for_by_open_a_byline():
    for byline, name in (
        ("Von Claudia Beispiel", "Claudia Beispiel"),
        ("von Simon Muster", "Simon Muster"),
        ("Par Barbara Exemple", "Barbara Exemple"),
        ("Por Juan Ejemplo", "Juan Ejemplo"),
    ):
        html = page(before=f"<div class='author'>{byline}</div>")
        assert extract(html).authors == [name], byline
    # Inside a name the particle stays.
    assert [p.name for p in parse_byline("Ludwig von Mises")] == ["Ludwig von Mises"]


def test_two_writers_joined_by_und_are_two_authors():
    html = page(before="<span class='byline'>von Lars Beispiel und Alina Muster</span>")
    assert extract(html).authors == ["Lars Beispiel", "Alina Muster"]
    # "und" inside an organisation's name joins no two names.
    html = page(
        head='<meta name="author" content="Bayerische Landesanstalt für Wald und Forstwirtschaft">'
    )
    assert extract(html).authors == ["Bayerische Landesanstalt für Wald und Forstwirtschaft"]


def test_a_jsonld_author_opening_with_von_and_closing_with_an_agency():
    html = page(
        jsonld=[
            {
                "@type": "NewsArticle",
                "headline": HEADLINE,
                "author": {"@type": "Person", "name": "Von Britta Beispiel, dpa"},
            }
        ]
    )
    assert extract(html).authors == ["Britta Beispiel"]


def test_a_name_printed_again_in_a_profile_card_is_one_name():
    html = page(
        before="<div class='author-names'>By <span>Eric Example</span>"
        "<button>close</button><span>Eric Example</span><span>National</span></div>"
    )
    assert extract(html).authors == ["Eric Example"]


def test_a_sentence_after_a_credit_label_names_nobody():
    credited = parse_byline("By: Creative Commons, dass der Urheber immer genannt werden muss")
    assert [p.name for p in credited] == ["Creative Commons"]
