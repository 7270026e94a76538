"""The `archive` fixture: a fresh archive (records + raw pages files) in a temp dir."""

import pytest

from newsarchive.storage import Archive


@pytest.fixture
def archive(tmp_path):
    with Archive(tmp_path / "archive.db") as opened:
        yield opened
