"""The demo portal: a small, realistic Indonesian news site generated from a seed.

Every page is made here from word banks and the templates beside this file; nothing is copied
from real pages. The same seed and size always give the same site, byte for byte, so tests can
assert on it and the benchmark can scale it up (`generate_portal(base, articles=5000)`).

The site's shape (what a crawler meets on real portals):
- three categories, each rendered in the style of a kind of Indonesian portal: `opini` like the
  seed page (regional WordPress: ticker, `Baca :` inserts, `Share :`, a `Baca Juga` list with
  category labels, `Oleh:Name` byline, `Minggu, 2 Juli 2023 - 19:17 WIB`), `nasional` like detik
  (`table.linksisip` inserts, the ADVERTISEMENT / SCROLL TO CONTINUE WITH CONTENT block), `ekonomi`
  like kompas (`Baca juga:` paragraphs, `Penulis` credit, a `Halaman` pager);
- category pagination in three forms (`/page/N/` with `Selanjutnya`, `?page=N` with rel=next,
  numbered pager with `»`), a date index `/indeks?date=YYYY-MM-DD`;
- robots.txt with a Sitemap line and Disallow paths (`/cetak/`, `/cari`) that pages link into;
  a sitemap index with a post sitemap and a news sitemap; an RSS feed;
- one multi-page article (`?page=2`, `?page=3`), one old URL that redirects (301), one link that
  is gone (404), one that breaks (500), and links to another site;
- the same article reached by several spellings: listings, related lists and the ticker add
  tracking parameters (`?utm_source=...&utm_medium=...`, `?fbclid=...`) and `#comments`
  fragments to some links, as real portals do (the server ignores them, as real servers do);
- pages that are not news (about, contact, staff, advertising, editorial guideline, privacy:
  `info_pages.py`) linked from the footer and the navigation and listed in `page-sitemap.xml`.

Which links carry tracking parameters is decided by article number, not by the random stream,
so adding them left every article's words exactly as they were.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from string import Template
from urllib.parse import parse_qsl, urlencode, urlsplit
from xml.sax.saxutils import escape as xml_escape

from newsarchive.demo.info_pages import INFO_LASTMOD, INFO_PAGES, InfoPage

TEMPLATES = Path(__file__).parent / "templates"
WIB = timezone(timedelta(hours=7), "WIB")
# The newest article is published at the seed page's date; older ones step back from it.
NEWEST = datetime(2023, 7, 2, 19, 17, tzinfo=WIB)
PER_LISTING_PAGE = 8
DEFAULT_OFFSITE = "https://portal-lain.example/"

DAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
MONTHS = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni",
    "Juli", "Agustus", "September", "Oktober", "November", "Desember",
)  # fmt: skip
MONTHS_SHORT = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")

CATEGORIES = (
    # slug, label, page style
    ("opini", "Opini", "seed"),
    ("nasional", "Nasional", "detik"),
    ("ekonomi", "Ekonomi", "kompas"),
)

# Word banks for headlines and sentences.
ACTORS = (
    "Pemerintah Provinsi Jambi", "Dinas Kesehatan Kota Jambi", "Kementerian Sosial",
    "Pemerintah Kabupaten Kerinci", "Bank Indonesia", "Badan Pusat Statistik",
    "Kapolresta Jambi", "Korem 042/Gapu", "DPRD Provinsi Jambi", "Kementerian Keuangan",
    "Otoritas Jasa Keuangan", "Dinas Pendidikan", "Badan Penanggulangan Bencana Daerah",
    "Pemerintah Kota Sungai Penuh", "Kementerian Pertanian", "Kodim 0415/Jambi",
)  # fmt: skip
ACTIONS = (
    "meluncurkan program", "mengevaluasi pelaksanaan", "memperkuat pengawasan",
    "menggelar sosialisasi", "menyiapkan anggaran untuk", "meninjau langsung",
    "menargetkan penyelesaian", "membuka pendaftaran", "mempercepat pembangunan",
    "mendorong kerja sama", "menyalurkan bantuan untuk", "menertibkan",
)  # fmt: skip
TOPICS = (
    "pekerja sosial masyarakat", "harga beras di pasar tradisional", "jalan provinsi yang rusak",
    "penerimaan siswa baru", "vaksinasi anak sekolah", "usaha mikro kecil dan menengah",
    "kebakaran hutan dan lahan", "inflasi daerah", "irigasi persawahan", "pariwisata danau Kerinci",
    "layanan kesehatan puskesmas", "ketahanan pangan desa", "sampah plastik di sungai Batanghari",
    "kredit usaha rakyat", "rumah tidak layak huni", "air bersih di desa terpencil",
)  # fmt: skip
PLACES = (
    "Kota Jambi", "Kabupaten Muaro Jambi", "Sungai Penuh", "Kabupaten Tebo", "Kabupaten Bungo",
    "Kabupaten Sarolangun", "Kabupaten Merangin", "Tanjung Jabung Barat", "Jakarta", "Palembang",
)  # fmt: skip
CONNECTORS = (
    "Selain itu,", "Menurut dia,", "Dalam kesempatan tersebut,", "Di sisi lain,",
    "Lebih lanjut,", "Sementara itu,", "Oleh karena itu,", "Hingga saat ini,",
)  # fmt: skip
CLAIMS = (
    "langkah ini menjadi tonggak penting dalam memperkuat pelayanan kepada masyarakat",
    "masyarakat diharapkan ikut berperan aktif agar program berjalan dengan baik",
    "koordinasi lintas sektor terus dilakukan untuk memastikan hasil yang maksimal",
    "anggaran yang disiapkan dinilai cukup untuk menjangkau seluruh kecamatan",
    "evaluasi berkala akan dilakukan setiap tiga bulan sekali",
    "data yang dihimpun menunjukkan tren yang terus membaik sejak awal tahun",
    "warga menyambut baik kebijakan tersebut meski masih ada sejumlah kendala di lapangan",
    "pihaknya berkomitmen menuntaskan persoalan ini sebelum akhir tahun anggaran",
    "kegiatan tersebut melibatkan tokoh masyarakat, pemuda, dan perangkat desa",
    "sejumlah catatan dari lapangan akan menjadi bahan perbaikan ke depan",
)  # fmt: skip
FIRST_NAMES = (
    "Yulfi", "Siti", "Ahmad", "Dedek", "Nirma", "Rahmat", "Dewi", "Budi", "Khairul", "Ayu",
    "Fajar", "Intan", "Rizki", "Wulan", "Hendra", "Lestari",
)  # fmt: skip
LAST_NAMES = (
    "Noer", "Rahmawati", "Kusnadi", "Fahmi", "Saputra", "Anggraini", "Hidayat", "Pratama",
    "Simanjuntak", "Harahap", "Nasution", "Lubis", "Wijaya", "Susanti",
)  # fmt: skip
ACADEMIC = ("S.IP., M.AP", "Dr.", "M.Si", "S.Sos", "S.H., M.H.", "")
ROLES = (
    "Tenaga Ahli Gubernur Bidang Tata Kelola Pemerintahan", "Dosen Universitas Jambi",
    "Pengamat Kebijakan Publik", "Pegiat Literasi Jambi", "Peneliti Sosial",
)  # fmt: skip
TAGS = ("pemerintahan", "jambi", "ekonomi", "sosial", "pendidikan", "kesehatan", "pangan")


@dataclass
class DemoArticle:
    number: int
    category: str
    label: str
    style: str
    title: str
    slug: str
    author: str
    role: str
    published: datetime
    paragraphs: list[str]
    tags: list[str]
    path: str  # where the article lives
    link_path: str  # what listings link to (differs only for the redirected article)
    pages: int = 1  # >1: split over ?page=N


@dataclass
class Portal:
    """The whole site in memory: path (with query) -> (status, headers, body)."""

    base_url: str
    articles: list[DemoArticle]
    pages: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    # Paths the portal links to but a polite crawler must never request (robots.txt Disallow).
    disallowed_prefixes: tuple[str, ...] = ("/cetak/", "/cari")
    redirect_from: str = ""
    redirect_to: str = ""
    gone_path: str = ""
    broken_path: str = ""
    multipage_path: str = ""
    offsite_url: str = DEFAULT_OFFSITE
    # The pages that are not news (about, contact, policies): never records in `articles`.
    info_paths: tuple[str, ...] = tuple(page.path for page in INFO_PAGES)

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def response(self, path: str) -> tuple[int, dict[str, str], bytes]:
        if path in self.pages:
            return self.pages[path]
        # Like a real server, the portal ignores the tracking parameters its own links carry.
        plain = strip_tracking(path)
        if plain in self.pages:
            return self.pages[plain]
        return 404, {"Content-Type": "text/html; charset=utf-8"}, _not_found_page()


def is_tracking_param(name: str) -> bool:
    """The demo's tracking parameters (a deliberately small, independent list: the tests check
    the crawler's own normalisation against it)."""
    return name.startswith("utm_") or name in ("fbclid", "gclid")


def strip_tracking(path: str) -> str:
    """`path` (with its query) without fragment and tracking parameters; the rest kept in order."""
    parts = urlsplit(path.split("#", 1)[0])
    kept = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not is_tracking_param(k)
    ]
    return parts.path + (f"?{urlencode(kept)}" if kept else "")


def tracked(link: str, number: int, where: str) -> str:
    """How a link to article `number` is spelled in `where` (a listing, a related list, the
    ticker): most links plain, some with tracking parameters or a fragment, fixed by number."""
    if where == "related":
        if number % 3 == 2:
            return f"{link}?fbclid=IwAR0{number:06d}dEm0"
        if number % 3 == 0:
            return f"{link}?utm_source=related&utm_medium=artikel#comments"
        return link
    if where == "ticker":
        return f"{link}?utm_source=ticker&utm_medium=terkini"
    if number % 3 == 1:
        return f"{link}?utm_source={where}&utm_medium=listing&utm_campaign=terkini"
    if where == "beranda" and number % 3 == 2:
        return f"{link}#comments"
    return link


def _slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower())[:80].strip("-")


def _long_date(dt: datetime) -> str:
    return f"{DAYS[dt.weekday()]}, {dt.day} {MONTHS[dt.month - 1]} {dt.year} - {dt:%H:%M} WIB"


def _detik_date(dt: datetime) -> str:
    return f"{DAYS[dt.weekday()]}, {dt:%d} {MONTHS_SHORT[dt.month - 1]} {dt.year} {dt:%H:%M} WIB"


def _kompas_date(dt: datetime) -> str:
    return f"Kompas.com - {dt:%d/%m/%Y}, {dt:%H:%M} WIB"


def _esc(text: str) -> str:
    return xml_escape(text, {'"': "&quot;"})


def _make_articles(rng: random.Random, count: int) -> list[DemoArticle]:
    articles = []
    seen_titles: set[str] = set()
    used_slugs: set[str] = set()
    for n in range(count):
        slug_cat, label, style = CATEGORIES[n % len(CATEGORIES)]
        while True:
            actor, action, topic = rng.choice(ACTORS), rng.choice(ACTIONS), rng.choice(TOPICS)
            place = rng.choice(PLACES)
            title = f"{actor} {action} {topic} di {place}"
            title = title[0].upper() + title[1:]
            if title not in seen_titles or len(seen_titles) > 5000:
                break
        if title in seen_titles:
            title = f"{title} ({n})"
        seen_titles.add(title)
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        academic = rng.choice(ACADEMIC) if style == "seed" else ""
        if academic == "Dr.":
            author = f"Dr. {first} {last}"
        elif academic:
            author = f"{first} {last} {academic}"
        else:
            author = f"{first} {last}"
        # About two articles a day, newest first, at varied times of day.
        published = NEWEST - timedelta(days=n // 2, hours=(n % 2) * 5, minutes=(n * 17) % 60)
        paras = _paragraphs(rng, actor, topic, place, style, rng.randint(8, 13))
        slug = _slugify(title)
        if slug in used_slugs:  # long titles can agree on their first 80 characters
            slug = f"{slug[:70]}-{n}"
        used_slugs.add(slug)
        if style == "seed":
            path = f"/{published:%Y/%m/%d}/{slug}/"
        elif style == "detik":
            path = f"/nasional/d-{6800000 + n * 37}/{slug}"
        else:
            path = f"/read/{published:%Y/%m/%d}/{published:%H%M}{n:04d}/{slug}"
        articles.append(
            DemoArticle(
                number=n,
                category=slug_cat,
                label=label,
                style=style,
                title=title,
                slug=slug,
                author=author,
                role=rng.choice(ROLES),
                published=published,
                paragraphs=paras,
                tags=rng.sample(TAGS, 3),
                path=path,
                link_path=path,
            )
        )
    return articles


def _paragraphs(
    rng: random.Random, actor: str, topic: str, place: str, style: str, count: int
) -> list[str]:
    paras = []
    for i in range(count):
        sentences = []
        for _ in range(rng.randint(2, 3)):
            sentences.append(f"{rng.choice(CONNECTORS)} {rng.choice(CLAIMS)}.")
        if i == 0:
            lead = f"{actor} menaruh perhatian besar pada {topic} di {place}."
            if style == "kompas":
                lead = f"{place.upper()}, KOMPAS.com - {lead}"
            elif style == "detik":
                lead = f"{place} - {lead}"
            else:
                first_word, rest = lead.split(" ", 1)
                lead = f"{first_word.upper()} {rest}"
            sentences.insert(0, lead)
        paras.append(" ".join(sentences))
    if style == "seed":
        paras[-1] += " ***"
    elif style == "detik":
        paras[-1] += f" ({rng.choice(('rdp', 'fas', 'idn'))}/{rng.choice(('imk', 'dnu', 'aik'))})"
    return paras


_TEMPLATE_CACHE: dict[str, Template] = {}


def _template(name: str) -> Template:
    if name not in _TEMPLATE_CACHE:
        _TEMPLATE_CACHE[name] = Template((TEMPLATES / name).read_text(encoding="utf-8"))
    return _TEMPLATE_CACHE[name]


class _AllBut(Sequence):
    """`articles` without the one at index `skip` (none when it is None), as a read-only
    sequence."""

    def __init__(self, articles: list[DemoArticle], skip: int | None) -> None:
        self.articles = articles
        self.skip = len(articles) if skip is None else skip
        self.size = len(articles) - (skip is not None)

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index):  # noqa: ANN001, ANN204 (Sequence's int-or-slice signature)
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.size))]
        if index < 0:
            index += self.size
        if not 0 <= index < self.size:
            raise IndexError(index)
        return self.articles[index + (index >= self.skip)]


def _html(body: str) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "text/html; charset=utf-8"}, body.encode("utf-8")


def _xml(body: str, kind: str = "application/xml") -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": f"{kind}; charset=utf-8"}, body.encode("utf-8")


def _not_found_page() -> bytes:
    return (
        b"<!DOCTYPE html><html lang='id'><head><title>Halaman tidak ditemukan</title></head>"
        b"<body><h1>404</h1><p>Halaman yang Anda cari tidak ditemukan.</p></body></html>"
    )


class _Renderer:
    def __init__(self, portal: Portal, rng: random.Random):
        self.portal = portal
        self.rng = rng
        # Where each article is in portal.articles, by number (for _others).
        self._index: dict[int, int] = {}
        newest = portal.articles[:6]
        # The ticker links the newest articles, tagged with where the click came from.
        self.ticker = " ".join(
            f'<a href="{tracked(a.link_path, a.number, "ticker")}">{_esc(a.title)}</a>'
            for a in newest
        )
        self.nav = (
            "\n".join(
                f'<li><a href="{self._category_path(slug)}">{label}</a></li>'
                for slug, label, _ in CATEGORIES
            )
            + f'\n<li><a href="/indeks?date={NEWEST:%Y-%m-%d}">Indeks</a></li>'
            + "".join(
                f'\n<li><a href="{page.path}">{page.link_text}</a></li>'
                for page in INFO_PAGES
                if page.in_nav
            )
        )
        self.footer = (
            " · ".join(f'<a href="{page.path}">{page.link_text}</a>' for page in INFO_PAGES)
            + f' · <a href="/cetak/">Edisi Cetak</a> · <a href="{portal.offsite_url}">Jaringan Portal Lain</a>'
        )

    @staticmethod
    def _category_path(slug: str) -> str:
        return f"/kategori/{slug}/" if slug == "opini" else f"/{slug}/"

    def common(self, title: str) -> dict[str, str]:
        return {
            "page_title": _esc(title),
            "ticker": self.ticker,
            "nav": self.nav,
            "footer": self.footer,
            "base": self.portal.base_url.rstrip("/"),
        }

    # ----- articles -------------------------------------------------------------------------
    def _others(self, art: DemoArticle, k: int) -> list[DemoArticle]:
        # The other articles as a view, not a copied list: a copy per call made generating a
        # large portal quadratic (50,000 articles took over ten minutes). sample() draws the same
        # indices either way, so the site is byte for byte what it was.
        articles = self.portal.articles
        if len(self._index) != len(articles):
            self._index = {a.number: i for i, a in enumerate(articles)}
        pool = _AllBut(articles, self._index.get(art.number))
        return self.rng.sample(pool, min(k, len(pool)))

    def _body_with_inserts(self, art: DemoArticle, paras: list[str]) -> str:
        out = []
        inserts = self._others(art, 3)
        slots = {len(paras) // 4, len(paras) // 2, (3 * len(paras)) // 4}
        for i, para in enumerate(paras):
            out.append(f"<p>{_esc(para)}</p>")
            if i in slots and inserts:
                other = inserts.pop()
                out.append(self._insert(art.style, other))
            if art.style == "detik" and i == 1:
                out.append(
                    '<div class="paradetail"><p id="para_caption">ADVERTISEMENT</p>'
                    '<div class="para_ads"><div id="div-gpt-ad-parallax"></div></div>'
                    '<p id="para_caption2">SCROLL TO CONTINUE WITH CONTENT</p></div>'
                )
        if art.style != "detik":
            out.insert(
                2,
                f'<p>Sumber data: <a href="{self.portal.offsite_url.rstrip("/")}/2023/06/30/'
                f'laporan-{art.number}/">laporan lembaga terkait</a> yang dirilis pekan lalu.</p>',
            )
        return "\n".join(out)

    @staticmethod
    def _insert(style: str, other: DemoArticle) -> str:
        if style == "seed":
            return f'<p><strong>Baca :</strong>  <a href="{other.link_path}">{_esc(other.title)}</a></p>'
        if style == "detik":
            return (
                '<table class="linksisip"><tbody><tr><td><div class="lihatjg">'
                f'<strong>Baca juga:</strong><a href="{other.link_path}">{_esc(other.title)}</a>'
                "</div></td></tr></tbody></table>"
            )
        return f'<p><strong>Baca juga: </strong><a href="{other.link_path}">{_esc(other.title)}</a></p>'

    def _related(self, art: DemoArticle) -> str:
        items = []
        for other in self._others(art, 6):
            items.append(
                f'<li><span class="cat">{other.label}</span>'
                f'<h3><a href="{tracked(other.link_path, other.number, "related")}">'
                f"{_esc(other.title)}</a></h3></li>"
            )
        return "\n".join(items)

    def _tags(self, art: DemoArticle) -> str:
        return " ".join(f'<a href="/cari?q={t}" rel="tag">{t}</a>' for t in art.tags)

    def article_pages(self, art: DemoArticle) -> dict[str, str]:
        """path -> html for every page of the article (one, or ?page=N continuations)."""
        values = self.common(art.title)
        values.update(
            title=_esc(art.title),
            author=_esc(art.author),
            role=_esc(art.role),
            label=art.label,
            category_path=self._category_path(art.category),
            long_date=_long_date(art.published),
            detik_date=_detik_date(art.published),
            kompas_date=_kompas_date(art.published),
            iso_date=art.published.isoformat(),
            canonical=self.portal.url(art.path),
            description=_esc(art.paragraphs[0][:150]),
            related=self._related(art),
            tags=self._tags(art),
            print_path="/cetak" + art.path,
            image=self.portal.url(f"/img/{art.number}.jpg"),
        )
        template = _template(f"article_{art.style}.html")
        if art.pages == 1:
            values["body"] = self._body_with_inserts(art, art.paragraphs)
            values["pager"] = ""
            return {art.path: template.substitute(values)}
        out = {}
        per = -(-len(art.paragraphs) // art.pages)
        for page in range(1, art.pages + 1):
            chunk = art.paragraphs[(page - 1) * per : page * per]
            path = art.path if page == 1 else f"{art.path}?page={page}"
            links = " ".join(
                f"<span>{p}</span>" if p == page else f'<a href="{art.path}?page={p}">{p}</a>'
                for p in range(1, art.pages + 1)
            )
            nxt = (
                f' <a class="paging__link--next" rel="next" href="{art.path}?page={page + 1}">Selanjutnya</a>'
                if page < art.pages
                else ""
            )
            values["body"] = self._body_with_inserts(art, chunk)
            values["pager"] = f'<div class="paging"><span>Halaman:</span> {links}{nxt}</div>'
            out[path] = template.substitute(values)
        return out

    # ----- listings -------------------------------------------------------------------------
    def listing_item(self, art: DemoArticle, where: str = "kanal") -> str:
        return (
            f'<article class="post"><span class="cat">{art.label}</span>'
            f'<h2><a href="{tracked(art.link_path, art.number, where)}">{_esc(art.title)}</a></h2>'
            f'<time datetime="{art.published.isoformat()}">{_long_date(art.published)}</time>'
            f"<p>{_esc(art.paragraphs[0][:140])}…</p></article>"
        )

    def listing(self, heading: str, items: list[str], pager: str, head_extra: str = "") -> str:
        values = self.common(heading)
        values.update(
            heading=_esc(heading), items="\n".join(items), pager=pager, head_extra=head_extra
        )
        return _template("listing.html").substitute(values)

    def info_page(self, page: InfoPage) -> str:
        values = self.common(page.title)
        values.update(
            title=_esc(page.title),
            description=_esc(page.paragraphs[0][:150]),
            canonical=self.portal.url(page.path),
            body="\n".join(f"<p>{_esc(p)}</p>" for p in page.paragraphs),
        )
        return _template("page.html").substitute(values)

    def date_index(
        self, arts: Sequence[DemoArticle]
    ) -> dict[str, tuple[int, dict[str, str], bytes]]:
        """The date index: a page per day that has articles, each linking the day before."""
        by_day: dict[str, list[DemoArticle]] = {}
        for art in arts:
            by_day.setdefault(f"{art.published:%Y-%m-%d}", []).append(art)
        days = sorted(by_day, reverse=True)
        pages = {}
        for i, day in enumerate(days):
            prev = (
                f'<a class="prev-day" href="/indeks?date={days[i + 1]}">« Sebelumnya</a>'
                if i + 1 < len(days)
                else ""
            )
            items = [self.listing_item(a, "indeks") for a in by_day[day]]
            pages[f"/indeks?date={day}"] = _html(self.listing(f"Indeks Berita {day}", items, prev))
        return pages


def _pager(style: str, base: str, page: int, last: int) -> tuple[str, str]:
    """The pager HTML and <head> links of listing page `page` of `last`, in one of three forms."""

    def page_url(p: int) -> str:
        if style == "wordpress":
            return base if p == 1 else f"{base}page/{p}/"
        return base if p == 1 else f"{base}?page={p}"

    nums = " ".join(
        f'<span class="current">{p}</span>'
        if p == page
        else f'<a class="page-numbers" href="{page_url(p)}">{p}</a>'
        for p in range(1, last + 1)
    )
    head = ""
    nxt = ""
    if page < last:
        if style == "wordpress":
            nxt = f' <a class="next page-numbers" href="{page_url(page + 1)}">Selanjutnya</a>'
        elif style == "relnext":
            head = f'<link rel="next" href="{page_url(page + 1)}">'
            nxt = f' <a href="{page_url(page + 1)}">Berikutnya</a>'
        else:  # numbered pager with a bare arrow
            nxt = f' <a href="{page_url(page + 1)}">»</a>'
    return f'<nav class="pagination">{nums}{nxt}</nav>', head


LISTING_STYLES = {"opini": "wordpress", "nasional": "relnext", "ekonomi": "numbered"}


# Lines of the article templates a redesign drops: JSON-LD, date and author metadata, bylines
# and date lines (each sits on lines of its own in every template).
_REDESIGN_DROPS = re.compile(
    r'application/ld\+json|<meta (?:name|property)="(?:author|publishdate|content_PublishedDate|'
    r'article:[a-z_]+)"|class="(?:detail__author|detail__date|read__time|read__credit|'
    r'entry-meta|entry-author|author-role)"'
)


def redesigned(html: str) -> str:
    """An article page as the redesigned site serves it (see generate_portal)."""
    return "\n".join(line for line in html.splitlines() if not _REDESIGN_DROPS.search(line))


def generate_portal(
    base_url: str,
    *,
    articles: int = 60,
    seed: int = 20230702,
    offsite_url: str = DEFAULT_OFFSITE,
    redesign: bool = False,
) -> Portal:
    """Build the whole site for `base_url` (e.g. http://127.0.0.1:8123/).

    `redesign`: the same site re-templated the way a portal redesign breaks an archive without
    breaking the crawl: article pages without structured data, meta dates and bylines (the
    health alarms must notice)."""
    rng = random.Random(seed)
    arts = _make_articles(rng, articles)
    portal = Portal(base_url=base_url, articles=arts, offsite_url=offsite_url)
    # The multi-page article: an ekonomi (kompas-style) one, three pages long.
    multi = next((a for a in arts[6:] if a.style == "kompas"), None)
    if multi is not None:
        multi.pages = 3
        multi.paragraphs += _paragraphs(
            rng, "Bank Indonesia", "inflasi daerah", "Jambi", "kompas", 6
        )[1:]
        portal.multipage_path = multi.path
    # The moved article: listings still link its old URL, which answers 301.
    moved = next((a for a in arts[8:] if a.style == "detik"), None)
    if moved is not None:
        moved.link_path = f"/berita/{100000 + moved.number}/{moved.slug}"
        portal.redirect_from, portal.redirect_to = moved.link_path, moved.path
    portal.gone_path = "/nasional/d-6799999/berita-yang-sudah-dihapus-redaksi"
    portal.broken_path = "/2023/06/15/halaman-ini-sedang-rusak-di-server/"

    render = _Renderer(portal, rng)
    pages = portal.pages
    for art in arts:
        for path, html in render.article_pages(art).items():
            pages[path] = _html(redesigned(html) if redesign else html)
    if moved is not None:
        pages[moved.link_path] = (301, {"Location": portal.url(moved.path)}, b"")
    pages[portal.broken_path] = (
        500,
        {"Content-Type": "text/html"},
        b"<h1>500 Internal Server Error</h1>",
    )

    # Category listings with pagination.
    for slug, label, _style in CATEGORIES:
        in_cat = [a for a in arts if a.category == slug]
        base = render._category_path(slug)
        last = max(1, -(-len(in_cat) // PER_LISTING_PAGE))
        for page in range(1, last + 1):
            chunk = in_cat[(page - 1) * PER_LISTING_PAGE : page * PER_LISTING_PAGE]
            items = [render.listing_item(a) for a in chunk]
            if page == 1 and slug == "nasional":
                items.append(
                    f'<article class="post"><span class="cat">Nasional</span><h2><a href="{portal.gone_path}">'
                    "Berita yang sudah dihapus redaksi</a></h2></article>"
                )
            if page == 1 and slug == "opini":
                items.append(
                    f'<article class="post"><span class="cat">Opini</span><h2><a href="{portal.broken_path}">'
                    "Halaman ini sedang rusak di server</a></h2></article>"
                )
            pager, head = _pager(LISTING_STYLES[slug], base, page, last)
            style = LISTING_STYLES[slug]
            path = (
                base
                if page == 1
                else (f"{base}page/{page}/" if style == "wordpress" else f"{base}?page={page}")
            )
            pages[path] = _html(
                render.listing(
                    f"{label} - halaman {page}" if page > 1 else label, items, pager, head
                )
            )

    pages.update(render.date_index(arts))

    # Home page: the newest of each category, plus the links a crawler must not follow.
    home_items = [render.listing_item(a, "beranda") for a in arts[:12]]
    pages["/"] = _html(
        render.listing(
            "Beranda",
            home_items,
            "",
            '<link rel="alternate" type="application/rss+xml" title="RSS" href="/feed/">',
        )
    )
    for info in INFO_PAGES:
        pages[info.path] = _html(render.info_page(info))

    pages["/robots.txt"] = (
        200,
        {"Content-Type": "text/plain; charset=utf-8"},
        (
            "User-agent: *\nDisallow: /cetak/\nDisallow: /cari\n\n"
            f"Sitemap: {portal.url('/sitemap_index.xml')}\n"
        ).encode(),
    )
    listed = [a for a in arts if a is not moved]
    pages["/sitemap_index.xml"] = _xml(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        f"<sitemap><loc>{portal.url('/post-sitemap.xml')}</loc><lastmod>{NEWEST.isoformat()}</lastmod></sitemap>\n"
        f"<sitemap><loc>{portal.url('/news-sitemap.xml')}</loc><lastmod>{NEWEST.isoformat()}</lastmod></sitemap>\n"
        f"<sitemap><loc>{portal.url('/page-sitemap.xml')}</loc><lastmod>{INFO_LASTMOD}</lastmod></sitemap>\n"
        "</sitemapindex>\n"
    )
    # WordPress (Yoast) lists the site's static pages in a sitemap of their own.
    pages["/page-sitemap.xml"] = _xml(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        + "".join(
            f"<url><loc>{_esc(portal.url(info.path))}</loc><lastmod>{INFO_LASTMOD}</lastmod></url>\n"
            for info in INFO_PAGES
        )
        + "</urlset>\n"
    )
    pages["/post-sitemap.xml"] = _xml(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        + "".join(
            f"<url><loc>{_esc(portal.url(a.path))}</loc><lastmod>{a.published.isoformat()}</lastmod></url>\n"
            for a in listed
        )
        + "</urlset>\n"
    )
    pages["/news-sitemap.xml"] = _xml(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n'
        + "".join(
            f"<url><loc>{_esc(portal.url(a.path))}</loc><news:news><news:publication>"
            "<news:name>Portal Demo</news:name><news:language>id</news:language></news:publication>"
            f"<news:publication_date>{a.published.isoformat()}</news:publication_date>"
            f"<news:title>{_esc(a.title)}</news:title></news:news></url>\n"
            for a in listed[:20]
        )
        + "</urlset>\n"
    )
    pages["/feed/"] = _xml(
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>Portal Demo</title><link>{portal.url('/')}</link><description>Berita terkini</description>\n"
        + "".join(
            f"<item><title>{_esc(a.title)}</title><link>{_esc(portal.url(a.path))}</link>"
            f"<pubDate>{a.published.strftime('%a, %d %b %Y %H:%M:%S +0700')}</pubDate></item>\n"
            for a in listed[:15]
        )
        + "</channel></rss>\n",
        "application/rss+xml",
    )
    return portal
