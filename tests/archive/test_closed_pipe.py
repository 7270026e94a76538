"""Output read only in part (`newsarchive export | head`): the command ends quietly with 0 once
the reader stops, and a broken pipe that is not its output's is said in one line. Output that
cannot be written at all (`> file` on a full disk; /dev/full is one) is one Error line naming
standard output, exit 1. Real processes, real pipes, a real archive."""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import click
import pytest
from archive_fixtures import make_article, make_raw
from click.testing import CliRunner

from newsarchive.cli import _LazyGroup
from newsarchive.storage import Archive

# Far more output than a pipe's buffer (64 kB), so the command is still writing when the
# reader goes.
ARTICLES = 400


@pytest.fixture(scope="module")
def archive_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("pipe") / "archive.db"
    body = "Air laut pasang menggenangi permukiman warga sejak Selasa pagi. " * 20
    with Archive(path) as archive:
        for number in range(ARTICLES):
            article = make_article(f"https://warta.example.id/{number}", body=body)
            archive.store(make_raw(article.url), article, site="warta")
    return path


@pytest.mark.parametrize(
    "command",
    [["export"], ["export", "--format", "csv"], ["search", "banjir", "--limit", "400"]],
    ids=["jsonl", "csv", "search"],
)
def test_a_reader_that_stops_early_ends_the_command_quietly_with_0(archive_path, command):
    process = subprocess.Popen(
        [sys.executable, "-m", "newsarchive", *command, "--db", str(archive_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    first = process.stdout.read(200)
    process.stdout.close()  # what `head -c 200` does
    _, errors = process.communicate(timeout=60)
    assert len(first) == 200
    assert errors == b""
    assert process.returncode == 0


def test_the_whole_output_read_is_unchanged(archive_path):
    done = subprocess.run(
        [sys.executable, "-m", "newsarchive", "export", "--db", str(archive_path)],
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0
    assert len(done.stdout.splitlines()) == ARTICLES
    # The test above stops a command that would write this much.
    assert len(done.stdout) > 4 * 65536


def test_a_broken_pipe_that_is_not_the_output_is_an_error_line():
    read_end, write_end = os.pipe()
    os.close(read_end)

    @click.group(cls=_LazyGroup)
    def group() -> None:
        pass

    @group.command()
    def send() -> None:
        os.write(write_end, b"item")  # a child process or connection that has gone

    try:
        result = CliRunner().invoke(group, ["send"])
    finally:
        os.close(write_end)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines == ["Error: a pipe closed under the command: [Errno 32] Broken pipe"]


FULL_DISK_LINE = "Error: standard output: cannot write: No space left on device"


@pytest.mark.parametrize(
    "command",
    [
        ["export"],
        ["export", "--format", "csv"],
        # The CSV header alone: it waits in the buffer until the end, where Python's own flush
        # at exit met the full disk ("Exception ignored", status 120).
        ["export", "--format", "csv", "--since", "2999-01-01"],
        ["search", "banjir"],
        ["show", "--raw", "https://warta.example.id/7"],
        ["stats"],
        ["--version"],
    ],
    ids=["jsonl", "csv", "csv-header", "search", "show-raw", "stats", "version"],
)
def test_output_to_a_full_disk_is_one_error_line(archive_path, command):
    with open("/dev/full", "wb") as full:
        done = subprocess.run(
            [sys.executable, "-m", "newsarchive", *command, "--db", str(archive_path)]
            if command != ["--version"]
            else [sys.executable, "-m", "newsarchive", *command],
            stdout=full,
            stderr=subprocess.PIPE,
            timeout=60,
        )
    assert done.stderr.decode().splitlines() == [FULL_DISK_LINE]
    assert done.returncode == 1


def test_a_full_disk_that_is_not_the_output_is_not_called_the_output():
    @click.group(cls=_LazyGroup)
    def group() -> None:
        pass

    @group.command()
    def store() -> None:
        click.echo("stored 1")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # another file's write

    result = CliRunner().invoke(group, ["store"])
    assert result.output == "stored 1\n"
    assert isinstance(result.exception, OSError)
    assert result.exception.errno == errno.ENOSPC
    assert "standard output" not in str(result.exception)


def _run_with_closed(
    descriptor: int, command: list[str], archive_path
) -> subprocess.CompletedProcess:
    """The command started with `descriptor` closed, as `>&-` or `<&-` start it."""
    return subprocess.run(
        [sys.executable, "-m", "newsarchive", *command, "--db", str(archive_path)],
        stdout=subprocess.DEVNULL if descriptor != 1 else None,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: os.close(descriptor),
        timeout=60,
    )


@pytest.mark.parametrize("command", [["stats"], ["export"]], ids=["stats", "export"])
def test_output_closed_from_the_start_is_one_error_line_not_silence(archive_path, command):
    done = _run_with_closed(1, command, archive_path)
    assert done.stderr.decode().splitlines() == [
        "Error: standard output: cannot write: it was closed when the command started"
    ]
    assert done.returncode == 1


@pytest.mark.parametrize(
    "command",
    [["extract", "--batch"], ["extract", "-"], ["import", "--batch"]],
    ids=["extract-batch", "extract-stdin", "import-batch"],
)
def test_input_closed_from_the_start_is_one_error_line(archive_path, command):
    if command[0] == "extract":
        done = subprocess.run(
            [sys.executable, "-m", "newsarchive", *command],
            capture_output=True,
            preexec_fn=lambda: os.close(0),
            timeout=60,
        )
    else:
        before = archive_path.read_bytes()
        done = _run_with_closed(0, command, archive_path)
        assert archive_path.read_bytes() == before
    assert done.stderr.decode().splitlines() == [
        "Error: standard input is closed: nothing to read the pages from"
    ]
    assert done.returncode == 1


def test_a_current_directory_deleted_under_the_shell_is_one_error_line(archive_path, tmp_path):
    """A shell left in a directory since deleted (a checkout removed and cloned again): every
    relative path failed in os.getcwd() with a FileNotFoundError traceback. One line now; with
    absolute paths the command still works."""
    gone = tmp_path / "gone"
    gone.mkdir()

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "newsarchive", *args],
            cwd=gone,
            capture_output=True,
            text=True,
            preexec_fn=lambda: os.rmdir(gone),  # in the child, once it is in it
            timeout=60,
        )

    relative = run("stats")
    assert relative.stderr.splitlines() == [
        "Error: the current directory no longer exists (deleted after the shell went into it): "
        "cd into one that does, or give absolute paths"
    ]
    assert relative.returncode == 1
    gone.mkdir()
    absolute = run("stats", "--db", str(archive_path))
    assert absolute.returncode == 0 and "warta" in absolute.stdout, absolute.stderr
