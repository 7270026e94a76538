"""`newsarchive extract`: one-line errors for bad input, and the batch protocol of the scorers."""

import io
import json
import subprocess
import sys

import pytest

from newsarchive.cli.extract import run_batch

PAGE = b"""<!doctype html><html lang="id"><head><title>Judul Berita - Contoh</title>
<meta property="og:title" content="Judul Berita"></head><body><h1>Judul Berita</h1>
<div class="entry-content"><p>Paragraf pertama yang cukup panjang untuk dianggap isi berita oleh pengekstrak.</p>
<p>Paragraf kedua yang juga cukup panjang agar ada isi yang bisa diambil dari halaman ini.</p></div>
</body></html>"""


def run(args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "newsarchive", *args],
        input=stdin,
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "no such file"),
        (b"", "empty file"),
        (b"   \n", "empty file"),
        (b"\x00\x01\x02binary\x00junk" * 10, "binary data"),
        (b"just some words, no markup at all", "no HTML markup"),
    ],
)
def test_bad_input_is_one_line_naming_the_file(tmp_path, content, expected):
    path = tmp_path / "page.html"
    if content is not None:
        path.write_bytes(content)
    result = run(["extract", str(path)])
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(path) in lines[0] and expected in lines[0]
    assert "Traceback" not in result.stderr


def test_single_page_prints_the_record(tmp_path):
    path = tmp_path / "page.html"
    path.write_bytes(PAGE)
    result = run(["extract", str(path), "--url", "https://contoh.co.id/berita/1"])
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["title"] == "Judul Berita"
    assert record["url"] == "https://contoh.co.id/berita/1"
    assert record["body"].startswith("Paragraf pertama")


def test_batch_echoes_ids_and_reports_failures_per_page(tmp_path):
    good = tmp_path / "good.html"
    good.write_bytes(PAGE)
    lines = [
        {"id": "a", "url": None, "path": str(good)},
        {"id": "b", "url": "https://x.id/1", "path": str(tmp_path / "missing.html")},
        {"id": "c", "url": None, "path": str(good)},
    ]
    stdin = "\n".join(json.dumps(x) for x in lines) + "\nnot json\n"
    result = run(["extract", "--batch"], stdin=stdin)
    assert result.returncode == 1  # some pages failed
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a", "b", "c", None]
    assert out[0]["title"] == "Judul Berita" and "error" not in out[0]
    assert "missing.html" in out[1]["error"]
    assert out[2]["title"] == "Judul Berita"
    assert "stdin line 4" in out[3]["error"]


def test_batch_exit_status_is_zero_when_all_pages_succeed(tmp_path):
    good = tmp_path / "good.html"
    good.write_bytes(PAGE)
    result = run(
        ["extract", "--batch"], stdin=json.dumps({"id": 1, "url": None, "path": str(good)})
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["id"] == 1


def test_batch_records_stay_one_line_for_splitlines_readers(tmp_path) -> None:
    # U+0085 and U+2028 are legal raw in JSON strings but line breaks to str.splitlines().
    page = tmp_path / "nel.html"
    page.write_text(
        "<html><head><title>Judul berita yang cukup panjang</title></head><body><article>"
        "<h1>Judul berita yang cukup panjang</h1><p>Kalimat pertama\u0085kalimat kedua\u2028"
        "kalimat ketiga yang cukup panjang untuk menjadi isi berita ini.</p></article></body></html>",
        encoding="utf-8",
    )
    out = io.StringIO()
    run_batch([json.dumps({"id": "a", "url": None, "path": str(page)})], out)
    [line] = out.getvalue().splitlines()
    assert "kalimat kedua" in json.loads(line)["body"]
