"""Page bytes to text, the way a browser does it, and a cheap refusal of what is not HTML.

The encoding is chosen in the WHATWG order (https://html.spec.whatwg.org/#determining-the-character-encoding):
a byte-order mark, then the HTTP Content-Type charset, then a `<meta charset>` / http-equiv
declaration, then sniffing (UTF-8 when the bytes are UTF-8, else windows-1252). Labels are read
through the WHATWG alias table, so `latin-1`, `iso-8859-1` and `ascii` mean windows-1252 and an
unknown label is ignored, as browsers do. One departure: bytes that are valid UTF-8 are read as
UTF-8 whatever the label says (see _LABEL_DECIDES). Once chosen, the encoding is applied with
errors='replace': one stray byte costs one U+FFFD where it stands, never a re-decode of the whole
page in another encoding (which turns every curly quote and accented word into mojibake).
"""

from __future__ import annotations

import re

from newsarchive.errors import NotHtmlError
from newsarchive.extract import patterns

# WHATWG encoding name -> (Python codec, labels). From the Encoding Standard's table; the
# "replacement" labels (iso-2022-kr, hz-gb-2312...) are left out on purpose: a browser shows such
# a page as one U+FFFD, an archive does better to ignore the label and sniff.
_ENCODINGS: dict[str, tuple[str, str]] = {
    "utf-8": ("utf-8", "unicode-1-1-utf-8 unicode11utf8 unicode20utf8 utf-8 utf8 x-unicode20utf8"),
    "ibm866": ("cp866", "866 cp866 csibm866 ibm866"),
    "iso-8859-2": (
        "iso8859-2",
        "csisolatin2 iso-8859-2 iso-ir-101 iso8859-2 iso88592 iso_8859-2 iso_8859-2:1987 l2 latin2",
    ),
    "iso-8859-3": (
        "iso8859-3",
        "csisolatin3 iso-8859-3 iso-ir-109 iso8859-3 iso88593 iso_8859-3 iso_8859-3:1988 l3 latin3",
    ),
    "iso-8859-4": (
        "iso8859-4",
        "csisolatin4 iso-8859-4 iso-ir-110 iso8859-4 iso88594 iso_8859-4 iso_8859-4:1988 l4 latin4",
    ),
    "iso-8859-5": (
        "iso8859-5",
        "csisolatincyrillic cyrillic iso-8859-5 iso-ir-144 iso8859-5 iso88595 iso_8859-5 "
        "iso_8859-5:1988",
    ),
    "iso-8859-6": (
        "iso8859-6",
        "arabic asmo-708 csiso88596e csiso88596i csisolatinarabic ecma-114 iso-8859-6 "
        "iso-8859-6-e iso-8859-6-i iso-ir-127 iso8859-6 iso88596 iso_8859-6 iso_8859-6:1987",
    ),
    "iso-8859-7": (
        "iso8859-7",
        "csisolatingreek ecma-118 elot_928 greek greek8 iso-8859-7 iso-ir-126 iso8859-7 iso88597 "
        "iso_8859-7 iso_8859-7:1987 sun_eu_greek",
    ),
    "iso-8859-8": (
        "iso8859-8",
        "csiso88598e csisolatinhebrew hebrew iso-8859-8 iso-8859-8-e iso-ir-138 iso8859-8 "
        "iso88598 iso_8859-8 iso_8859-8:1988 visual csiso88598i iso-8859-8-i logical",
    ),
    "iso-8859-10": (
        "iso8859-10",
        "csisolatin6 iso-8859-10 iso-ir-157 iso8859-10 iso885910 l6 latin6",
    ),
    "iso-8859-13": ("iso8859-13", "iso-8859-13 iso8859-13 iso885913"),
    "iso-8859-14": ("iso8859-14", "iso-8859-14 iso8859-14 iso885914"),
    "iso-8859-15": (
        "iso8859-15",
        "csisolatin9 iso-8859-15 iso8859-15 iso885915 iso_8859-15 l9",
    ),
    "iso-8859-16": ("iso8859-16", "iso-8859-16"),
    "koi8-r": ("koi8-r", "cskoi8r koi koi8 koi8-r koi8_r"),
    "koi8-u": ("koi8-u", "koi8-ru koi8-u"),
    "macintosh": ("mac-roman", "csmacintosh mac macintosh x-mac-roman"),
    "windows-874": ("cp874", "dos-874 iso-8859-11 iso8859-11 iso885911 tis-620 windows-874"),
    "windows-1250": ("cp1250", "cp1250 windows-1250 x-cp1250"),
    "windows-1251": ("cp1251", "cp1251 windows-1251 x-cp1251"),
    "windows-1252": (
        "cp1252",
        "ansi_x3.4-1968 ascii cp1252 cp819 csisolatin1 ibm819 iso-8859-1 iso-ir-100 iso8859-1 "
        "iso88591 iso_8859-1 iso_8859-1:1987 l1 latin1 us-ascii windows-1252 x-cp1252 "
        # x-user-defined: the spec's prescan turns it into windows-1252 too.
        "x-user-defined",
    ),
    "windows-1253": ("cp1253", "cp1253 windows-1253 x-cp1253"),
    "windows-1254": (
        "cp1254",
        "cp1254 csisolatin5 iso-8859-9 iso-ir-148 iso8859-9 iso88599 iso_8859-9 iso_8859-9:1989 "
        "l5 latin5 windows-1254 x-cp1254",
    ),
    "windows-1255": ("cp1255", "cp1255 windows-1255 x-cp1255"),
    "windows-1256": ("cp1256", "cp1256 windows-1256 x-cp1256"),
    "windows-1257": ("cp1257", "cp1257 windows-1257 x-cp1257"),
    "windows-1258": ("cp1258", "cp1258 windows-1258 x-cp1258"),
    "x-mac-cyrillic": ("mac-cyrillic", "x-mac-cyrillic x-mac-ukrainian"),
    # The spec's GBK decoder is its gb18030 decoder.
    "gbk": (
        "gb18030",
        "chinese csgb2312 csiso58gb231280 gb2312 gb_2312 gb_2312-80 gbk iso-ir-58 x-gbk",
    ),
    "gb18030": ("gb18030", "gb18030"),
    "big5": ("big5hkscs", "big5 big5-hkscs cn-big5 csbig5 x-x-big5"),
    "euc-jp": ("euc_jp", "cseucpkdfmtjapanese euc-jp x-euc-jp"),
    "iso-2022-jp": ("iso2022_jp", "csiso2022jp iso-2022-jp"),
    "shift_jis": (
        "cp932",
        "csshiftjis ms932 ms_kanji shift-jis shift_jis sjis windows-31j x-sjis",
    ),
    "euc-kr": (
        "cp949",
        "cseuckr csksc56011987 euc-kr iso-ir-149 korean ks_c_5601-1987 ks_c_5601-1989 ksc5601 "
        "ksc_5601 windows-949",
    ),
    "utf-16be": ("utf-16-be", "unicodefffe utf-16be"),
    "utf-16le": (
        "utf-16-le",
        "csunicode iso-10646-ucs-2 ucs-2 unicode unicodefeff utf-16 utf-16le",
    ),
}
_LABELS: dict[str, str] = {
    label: name for name, (_codec, labels) in _ENCODINGS.items() for label in labels.split()
}
_UTF16 = ("utf-16be", "utf-16le")

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xfe\xff", "utf-16be"),
    (b"\xff\xfe", "utf-16le"),
)
_HTTP_CHARSET = patterns.compile(r"""charset\s*=\s*["']?\s*([^"';,\s]+)""", re.I)
# `<meta charset=x>` and `<meta http-equiv="Content-Type" content="text/html; charset=x">` alike.
_META_CHARSET = patterns.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.I)
# The spec prescans 1024 bytes; portals put long <head> scripts before their meta, and a
# declaration found a little later is still the page's own statement.
META_PRESCAN_BYTES = 4096


def encoding_for_label(label: str | None) -> str | None:
    """The WHATWG encoding name for a charset label ('latin-1' -> 'windows-1252'), None if unknown."""
    if not label:
        return None
    return _LABELS.get(label.strip().strip("\"'").lower())


def http_charset(content_type: str | None) -> str | None:
    """The WHATWG encoding named by a Content-Type header's charset parameter, if any."""
    if not content_type:
        return None
    # Remembered: a crawl sends the same few headers with every page, each read twice a page.
    try:
        return _charsets[content_type]
    except KeyError:
        pass
    m = _HTTP_CHARSET.search(content_type)
    found = encoding_for_label(m.group(1)) if m else None
    if len(_charsets) >= CHARSETS_KEPT:
        _charsets.clear()
    _charsets[content_type] = found
    return found


_charsets: dict[str, str | None] = {}
CHARSETS_KEPT = 256


def meta_charset(data: bytes) -> str | None:
    """The encoding a page declares in its first bytes (`<meta charset>` or http-equiv)."""
    for m in _META_CHARSET.finditer(data[:META_PRESCAN_BYTES]):
        name = encoding_for_label(m.group(1).decode("ascii", "ignore"))
        if name is not None:
            # A page that declares UTF-16 in ASCII bytes cannot be UTF-16 (the spec's rule).
            return "utf-8" if name in _UTF16 else name
    return None


def _sniffed(data: bytes) -> tuple[str, str | None]:
    """No declaration: UTF-8 when the bytes are UTF-8, else windows-1252; and the page's text when
    the bytes are valid UTF-8 (decoding them is the test).

    A page that is UTF-8 but for a few stray bytes (a cp1252 quote pasted into a template) is
    still UTF-8: valid multi-byte sequences far outnumber the bad bytes. Real cp1252 text almost
    never forms valid UTF-8 sequences, so it has close to none.
    """
    try:
        return "utf-8", data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    good = sum(1 for ch in text if ch > "\x7f") - bad
    return ("utf-8" if good >= 4 * bad else "windows-1252"), None


def choose_encoding(data: bytes, content_type: str | None = None) -> tuple[str, str]:
    """(WHATWG encoding name, why): BOM, HTTP charset, meta declaration, then sniffing."""
    name, why, _text = _chosen_encoding(data, content_type)
    return name, why


def _chosen_encoding(data: bytes, content_type: str | None) -> tuple[str, str, str | None]:
    """choose_encoding's (name, why), and the page's text when telling the encoding took decoding
    the bytes (valid UTF-8, no byte-order mark): decode_page does not decode them a second time."""
    name, why = _declared_encoding(data, content_type)
    if name is None:
        name, text = _sniffed(data)
        return name, why, text
    if why != BOM_WHY and name not in _LABEL_DECIDES:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return name, why, None
        return "utf-8", why if name == "utf-8" else f"UTF-8 bytes ({why} says {name})", text
    return name, why, None


# The one departure from the browser order: a page whose bytes are valid UTF-8 is read as UTF-8
# whatever its label says (the server's default windows-1252, a template's stale
# `<meta charset=iso-8859-1>`). Real text in another encoding almost never forms valid UTF-8
# sequences beyond ASCII (_sniffed), and in ASCII every label but these reads the same. Browsers
# show mojibake there ("cafÃ©"); an archive should not. A byte-order mark decides before any
# label; UTF-16 is no ASCII, ISO-2022-JP is ASCII bytes that mean other characters.
_LABEL_DECIDES = frozenset({*_UTF16, "iso-2022-jp"})


def _declared_encoding(data: bytes, content_type: str | None) -> tuple[str | None, str]:
    """The encoding named for the page and where: its byte-order mark, the HTTP charset, its meta
    declaration; (None, "sniffed") when nothing names one."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name, BOM_WHY
    declared = http_charset(content_type)
    if declared is not None:
        return declared, "HTTP Content-Type"
    declared = meta_charset(data)
    if declared is not None:
        return declared, "meta"
    return None, "sniffed"


BOM_WHY = "byte-order mark"


def utf8_when_valid(data: bytes, content_type: str | None = None) -> bool:
    """Whether decode_page reads these bytes as UTF-8 whenever they are valid UTF-8, and then
    hands back `data` itself as its text's UTF-8: unless a byte-order mark (cut off first) or a
    label no UTF-8 bytes overrule decides. Such a page can go to the parser without being decoded
    when the parser vouches for its UTF-8 (document.parse_document)."""
    name, why = _declared_encoding(data, content_type)
    return why != BOM_WHY and name not in _LABEL_DECIDES


def decode_html(data: str | bytes, content_type: str | None = None) -> str:
    """Page bytes to text in the browser's order (see the module doc). Never fails.

    `content_type` is the HTTP Content-Type header, when the page came over HTTP.
    """
    return decode_page(data, content_type)[0]


def decode_page(data: str | bytes, content_type: str | None = None) -> tuple[str, bytes | None]:
    """decode_html's text, and the bytes that are exactly its UTF-8 encoding when the page is
    valid UTF-8 (else None): the parser takes those bytes as they are, while a str makes libxml2
    convert the text back to UTF-8 first (a sixth of the parse)."""
    if isinstance(data, str):
        return data, None
    name, _why, text = _chosen_encoding(data, content_type)
    if text is not None:  # valid UTF-8, already decoded to choose
        return text, data
    codec = _ENCODINGS[name][0]
    for bom, bom_name in _BOMS:
        if bom_name == name and data.startswith(bom):
            data = data[len(bom) :]
            break
    if codec == "utf-8":
        try:
            return data.decode(codec), data
        except UnicodeDecodeError:
            pass  # replacement characters for the bad bytes, as a browser shows them
    return data.decode(codec, "replace"), None


# Magic numbers of what servers send at article URLs instead of a page (PDFs, images, archives,
# media). Checked before decoding: decoding and parsing megabytes of binary is wasted work, and
# the person reading the failure wants to know what it was.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "a PDF document"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"PK\x03\x04", "a zip archive (or an Office document)"),
    (b"PK\x05\x06", "a zip archive"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x7fELF", "an executable program"),
    (b"OggS", "an Ogg audio or video file"),
    (b"\x1a\x45\xdf\xa3", "a WebM or Matroska video"),
    (b"wOFF", "a web font"),
    (b"wOF2", "a web font"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Microsoft Office document"),
    (b"{\\rtf", "an RTF document"),
)
# Every magic number, for one startswith of them all before the one that matched is looked for.
_MAGIC_PREFIXES = tuple(magic for magic, _ in _MAGIC)
_BOM_PREFIXES = tuple(bom for bom, _ in _BOMS)
_RIFF_KINDS = {b"WEBP": "a WebP image", b"WAVE": "a WAV audio file", b"AVI ": "an AVI video"}
# Bytes no text page has (C0 controls other than tab, newline, form feed, carriage return, ESC).
_BINARY_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27))
BINARY_SAMPLE_BYTES = 1024
# Share of binary bytes in the sample beyond which the data is not text: a page may carry a stray
# NUL or two from a broken template, a binary file is full of them.
BINARY_SHARE = 0.05


def not_html_reason(data: str | bytes, content_type: str | None = None) -> str | None:
    """Why this input is plainly not an HTML page ("looks like a PDF document"), or None.

    Cheap: looks at the first bytes only. Plain text with no markup is not refused (browsers show
    it; the extractor then finds no article in it).
    """
    if isinstance(data, str):
        head_text = data[:BINARY_SAMPLE_BYTES]
        if not head_text.strip():
            return "the page is empty" if not data.strip() else None
        head = head_text.lstrip().encode("latin-1", "replace")
    else:
        if not data or data.isspace():  # not data.strip(): that copies the whole page
            return "the page is empty"
        if data.startswith(_BOM_PREFIXES):
            return None
        head = data[:BINARY_SAMPLE_BYTES]
    start = head.lstrip()
    if head.startswith(_MAGIC_PREFIXES) or start.startswith(b"%PDF-"):
        for magic, what in _MAGIC:
            # Binary formats start at byte 0; a PDF served by a script may come after a few
            # blanks.
            if head.startswith(magic) or (magic == b"%PDF-" and start.startswith(magic)):
                return f"looks like {what}"
    if head.startswith(b"RIFF") and head[8:12] in _RIFF_KINDS:
        return f"looks like {_RIFF_KINDS[head[8:12]]}"
    if head[4:8] == b"ftyp":
        return "looks like an MP4 or QuickTime video"
    if isinstance(data, bytes) and http_charset(content_type) in _UTF16:
        return None  # UTF-16 text is full of NUL bytes
    binary = len(head) - len(head.translate(None, _BINARY_BYTES))
    if binary > BINARY_SHARE * len(head):
        return "looks like binary data"
    return None


def check_html(data: str | bytes, content_type: str | None = None) -> None:
    """Raise NotHtmlError ("not an HTML page: looks like a PDF document") for what is not HTML."""
    reason = not_html_reason(data, content_type)
    if reason is not None:
        raise NotHtmlError(f"not an HTML page: {reason}")
