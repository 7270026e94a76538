"""The headline of a page without an <h1>: the heading that opens the article's text.

Hand-made pages modelled on small association and club sites: no <h1>, a <title> that is only the
site's name, and the headline set in an <h2>-<h4> at the top of the article, after a date line.
Headings of sidebars, link lists, subheads and standfirsts never become the headline.
"""

from __future__ import annotations

from newsarchive.extract import extract_article

SITE = "Türkischer Kulturverein Musterstadt e.V."
URL = "https://verein.example.org/detail.php?id=765"
PROSE = [
    "Morgen Abend feiern wir gemeinsam mit allen Mitgliedern, Nachbarn und Freunden das Fest, "
    "zu dem wir herzlich in unser Gemeindehaus einladen.",
    "Seit vielen Jahren ist dieser Abend ein fester Termin im Kalender des Vereins, und jedes "
    "Jahr kommen mehr Gäste, um gemeinsam zu essen, zu reden und zuzuhören.",
    "Für Kinder gibt es ein eigenes Programm mit Spielen, Basteln und einer kleinen Aufführung, "
    "die die Jugendgruppe in den letzten Wochen vorbereitet hat.",
]
HEADLINE = "Die Nacht des Festes sei gesegnet!"


def paragraphs(texts: list[str] = PROSE) -> str:
    return "".join(f'<p style="text-align:justify">{t}</p>' for t in texts)


def page(article: str, *, head: str = "", sidebar: str = "", after: str = "") -> str:
    """A page in the sites' table-free layout: a menu, a side column, the article's column."""
    return (
        f"<html><head><title>{SITE}</title>"
        f'<meta name="author" content="{SITE.replace(" ", " - ", 1)}"/>{head}</head><body>'
        '<div class="menu"><a href="/">Start</a> <a href="/news">Nachrichten</a> '
        '<a href="/kontakt">Kontakt</a></div>'
        f'<div class="row">{sidebar}<div class="col_5c"> Nachrichten und Pressemeldungen<br><br>'
        f'<div class="col_1c">{article}</div>{after}</div></div>'
        "<div>© 2021 Verein</div></body></html>"
    )


def dated_article(heading: str = f"<h4>{HEADLINE}</h4>") -> str:
    # The date line and the heading inside one <p>, as such sites write them (the parser closes
    # the <p> at the heading).
    return f"<p>2021-10-16 | Botschaft<br>{heading}</p>{paragraphs()}"


def test_the_heading_opening_the_article_is_the_headline():
    article = extract_article(page(dated_article()), URL)
    assert article.title == HEADLINE
    assert article.sources["title"] == "heading"
    # The date line above the headline dates the page, as the one above an <h1> does.
    assert article.to_dict()["published"] == "2021-10-16"
    # Neither the headline nor the date line above it is body text.
    assert article.body is not None
    assert article.body.startswith(PROSE[0][:40])
    assert HEADLINE not in article.body and "Botschaft" not in article.body


def test_a_heading_just_above_the_articles_container():
    html = (
        f"<html><head><title>Musterverein</title>"
        f'<meta property="og:site_name" content="Musterverein"></head><body>'
        '<div class="nav"><a href="/">Start</a> <a href="/termine">Termine</a></div>'
        f'<div class="post"><h2>{HEADLINE}</h2><div class="meta">12. März 2020</div>'
        f'<div class="entry">{paragraphs()}</div></div></body></html>'
    )
    article = extract_article(html, "https://musterverein.example.org/beitrag/17")
    assert article.title == HEADLINE
    assert article.to_dict()["published"] == "2020-03-12"


def test_a_page_with_no_title_at_all_takes_the_heading():
    html = page(dated_article()).replace(f"<title>{SITE}</title>", "")
    assert extract_article(html, URL).title == HEADLINE


def test_a_title_that_is_the_sites_host():
    html = page(dated_article()).replace(
        f"<title>{SITE}</title>", "<title>Verein.example.org</title>"
    )
    assert extract_article(html, URL).title == HEADLINE


def test_a_title_that_names_the_article_stays_the_title():
    # The <title> is an article's own headline (not the site's name): it stays the title; the
    # heading still anchors the date.
    own = "Einladung zum Fest im Gemeindehaus am Sonntag"
    html = page(dated_article()).replace(f"<title>{SITE}</title>", f"<title>{own}</title>")
    article = extract_article(html, URL)
    assert article.title == own
    assert article.to_dict()["published"] == "2021-10-16"


def link_list(css_class: str, heading: str, links: int) -> str:
    """A box of links under a heading of its own: a side column, a related-posts list."""
    items = "".join(
        f'<li><a href="/n/{i}">Meldung Nummer {i} des Monats</a></li>' for i in range(links)
    )
    return f'<div class="{css_class}"><h3>{heading}</h3><ul>{items}</ul></div>'


def test_a_side_column_heading_before_the_article_is_not_the_headline():
    sidebar = link_list("col_2", "Aktuelle Nachrichten aus dem Verein", 6)
    article = extract_article(page(dated_article(), sidebar=sidebar), URL)
    assert article.title == HEADLINE


def test_a_related_posts_heading_after_the_article_is_not_the_headline():
    related = link_list("more", "Weitere Beiträge aus unserem Verein", 4)
    # The article opens with a heading only the related list's is not.
    article = extract_article(page(dated_article(), after=related), URL)
    assert article.title == HEADLINE


def test_no_opening_heading_leaves_the_sites_name():
    # The only headings are a side column's and a related list's: nothing opens the article.
    sidebar = '<div class="col_2"><h3>Berita Terkini</h3><a href="/x">Satu</a></div>'
    related = '<div class="more"><h3>Related posts from the blog</h3><a href="/y">Dua</a></div>'
    html = page(paragraphs(), sidebar=sidebar, after=related)
    article = extract_article(html, URL)
    assert article.title == SITE
    assert article.published is None


def test_headings_that_are_not_headlines():
    cases = {
        # A one-word label opening the column.
        "label": "<h3>Pressemitteilung</h3>" + paragraphs(),
        # A teaser's headline: a link to another page.
        "link": f'<h2><a href="/n/9">{HEADLINE}</a></h2>' + paragraphs(),
        # A subhead after the lead.
        "subhead": paragraphs(PROSE[:1]) + f"<h3>{HEADLINE}</h3>" + paragraphs(PROSE[1:]),
        # The first of the article's subheads (its level recurs).
        "recurring": (
            f"<h3>{HEADLINE}</h3>{paragraphs(PROSE[:2])}<h3>Das Programm für Kinder</h3>"
            + paragraphs(PROSE[2:])
        ),
        # A standfirst, named as one.
        "standfirst": f'<h2 class="subtitle">{HEADLINE}</h2>' + paragraphs(),
    }
    for name, article_html in cases.items():
        article = extract_article(page(article_html), URL)
        assert article.title == SITE, name
        assert article.sources["title"] != "heading", name


def test_headings_on_a_page_with_an_h1_are_left_alone():
    # The rule is a last resort: with an <h1> on the page, the heading below it is not taken.
    html = page("<h1>Ein Titel in der Überschrift</h1>" + dated_article())
    article = extract_article(html, URL)
    assert article.title != HEADLINE
    assert article.sources["title"] != "heading"


def test_a_box_heading_at_the_top_of_the_article_column_is_not_the_headline():
    # An unmarked box of links heads the article's column: its heading opens a list, not prose.
    box = (
        '<div class="box"><h3>Aktuelle Nachrichten aus dem Verein</h3><ul>'
        + "".join(f'<li><a href="/n/{i}">Meldung Nummer {i} des Monats</a></li>' for i in range(6))
        + "</ul></div>"
    )
    article = extract_article(page(box + paragraphs()), URL)
    assert article.title == SITE
    assert article.sources["title"] != "heading"
