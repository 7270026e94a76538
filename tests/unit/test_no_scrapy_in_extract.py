"""Extraction must stay a pure function: nothing under newsarchive.extract may import Scrapy."""

import subprocess
import sys


def test_extract_package_never_imports_scrapy():
    code = (
        "import sys, newsarchive.extract, newsarchive.extract.body, newsarchive.extract.dates, "
        "newsarchive.extract.bylines, newsarchive.extract.fields; "
        "print(sorted(m for m in sys.modules if m == 'scrapy' or m.startswith('scrapy.') or m == 'twisted'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
