"""What benchmarks/fuzz_config.py found a user can write that newsarchive did not refuse in one
line: values past what Python's clocks, regexes and time zones take, selectors lxml cannot
compile or use, settings no crawl can run with (a hang), and paths that are a symlink loop, a
FIFO, too long or empty. Each must be a one-line error naming the file and the key, or the
option, before anything runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from newsarchive.cli import cli
from newsarchive.cli.crawl import check_setting
from newsarchive.errors import NewsarchiveError, ProfileError
from newsarchive.plan import PlanError, load_plan
from newsarchive.sites.schema import load_profile_file, parse_profile

PLAN = """
db = "archive.db"
[[sites]]
name = "warta"
site = "{site}"
every = "{every}"
"""
# Long enough for a validation error, far too short for a hang.
ENDS_WITHIN = 10


def write_plan(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.toml"
    path.write_text(text, encoding="utf-8")
    return path


def one_error_line(result) -> str:
    """The one `Error:` line of a failed command run by CliRunner (no traceback)."""
    assert result.exit_code in (1, 2), (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def invoke(monkeypatch: pytest.MonkeyPatch):
    """Run the CLI in-process from a directory, as a user in it would."""

    def run(*args: str, cwd: Path):
        monkeypatch.chdir(cwd)
        return CliRunner().invoke(cli, list(args))

    return run


# --- Plans


def test_an_interval_past_any_clock_is_a_plan_error(tmp_path: Path) -> None:
    # Before: OverflowError out of timedelta, a traceback from `schedule`, `run` and `health`.
    plan = write_plan(tmp_path, PLAN.format(site="https://warta.example.id/", every="9" * 20 + "w"))
    with pytest.raises(PlanError, match=r"plan\.toml: sites\[0\]\.every: "):
        load_plan(plan)


@pytest.mark.parametrize(
    ("db", "site", "key"),
    [
        ("arch\\u0000ive.db", "https://warta.example.id/", "db"),
        ("archive.db", "mine\\u0000.toml", r"sites\[0\]\.site"),
    ],
)
def test_a_nul_byte_in_a_plan_path_is_a_plan_error(
    tmp_path: Path, db: str, site: str, key: str
) -> None:
    # Before: ValueError ("embedded null byte") from `run` and `health`, and in `site` from
    # every command reading the plan; `schedule` printed a crontab line for the db.
    text = PLAN.format(site=site, every="6h").replace("archive.db", db)
    with pytest.raises(PlanError, match=rf"plan\.toml: {key}: "):
        load_plan(write_plan(tmp_path, text))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DOWNLOAD_DELAY", "nan"),
        ("DOWNLOAD_DELAY", "inf"),  # before: a crawl that never fetches, and ignores SIGTERM
        ("DOWNLOAD_DELAY", "-1"),  # refused in a profile's download_delay, taken here
        ("CONCURRENT_REQUESTS_PER_DOMAIN", "0"),  # before: a crawl that hangs, SIGTERM or not
        ("CONCURRENT_REQUESTS", "0"),
        ("LOG_LEVEL", "LOUD"),  # before: ValueError from logging, a traceback
        ("ITEM_PIPELINES", "x"),  # before: JSONDecodeError out of Settings(), a traceback
        ("DOWNLOADER_MIDDLEWARES", "{"),
        # fuzz_config seed 3722: taken, and sent as "a b" (Twisted makes a space of it).
        ("USER_AGENT", "lab-crawler\n(+https://lab.example/)"),
    ],
)
def test_settings_no_crawl_can_run_with_are_refused(name: str, value: str) -> None:
    # The one check of `crawl -s` and a plan's [settings] tables.
    with pytest.raises(NewsarchiveError, match=name):
        check_setting(name, value)


@pytest.mark.parametrize(
    ("setting", "key"),
    [
        ("CONCURRENT_REQUESTS_PER_DOMAIN = 0", "CONCURRENT_REQUESTS_PER_DOMAIN"),
        ('USER_AGENT = "a\\nb"', "USER_AGENT"),
    ],
)
def test_a_plan_setting_no_crawl_can_run_with_names_the_key(
    tmp_path: Path, setting: str, key: str
) -> None:
    text = PLAN.format(site="https://warta.example.id/", every="6h")
    text += f"settings = {{ {setting} }}\n"
    with pytest.raises(PlanError, match=rf"sites\[0\]\.settings\.{key}"):
        load_plan(write_plan(tmp_path, text))


def test_a_user_agent_of_one_line_is_taken() -> None:
    agent = "lab-crawler/1.0 (+https://lab.example/newsarchive)"
    assert check_setting("USER_AGENT", agent) == agent


@pytest.mark.parametrize(
    ("setting", "key"), [('"" = 1', r'settings\.""'), ('"DOWNLOAD DELAY" = 2', "DOWNLOAD DELAY")]
)
def test_a_plan_setting_that_is_no_settings_name_is_a_plan_error(
    tmp_path: Path, setting: str, key: str
) -> None:
    # fuzz_config seed 3606: `schedule` took `"" = 1`, and the crawl `run` started was refused
    # as "-s '=1': expected NAME=VALUE", an option the plan never wrote.
    text = PLAN.format(site="https://warta.example.id/", every="6h")
    text += f"settings = {{ {setting} }}\n"
    with pytest.raises(PlanError, match=key):
        load_plan(write_plan(tmp_path, text))


def test_schedule_refuses_a_plan_whose_profile_file_is_missing(tmp_path: Path, invoke) -> None:
    # Before: a crontab line for a plan whose every run fails on this entry, exit 0.
    write_plan(tmp_path, PLAN.format(site="profiles/warta.toml", every="6h"))
    line = one_error_line(invoke("schedule", "--plan", "plan.toml", cwd=tmp_path))
    assert "warta.toml" in line, line
    # The plan and the entry's key, as every other mistake in a plan is named.
    assert "plan.toml: sites[0].site: " in line, line


@pytest.mark.parametrize("site", ["127.0.0.1:8123/", "warta.example.id/berita"])
def test_an_address_without_its_scheme_in_a_plan_is_named_as_one(
    tmp_path: Path, site: str, invoke
) -> None:
    # Read as a profile file beside the plan (it has a "/"): before, `schedule` and every `run`
    # said only "/abs/path/127.0.0.1:8123: no such profile file", a path nobody wrote.
    write_plan(tmp_path, PLAN.format(site=site, every="6h"))
    with pytest.raises(PlanError) as raised:
        load_plan(tmp_path / "plan.toml")
    meant = ("http://" if site[0].isdigit() else "https://") + site
    assert str(raised.value) == (
        f"{tmp_path / 'plan.toml'}: sites[0].site: {site}: no such profile file; to crawl a "
        f"site by its address, give its URL: {meant}"
    )
    for command in ("run", "schedule"):
        line = one_error_line(invoke(command, "--plan", "plan.toml", cwd=tmp_path))
        assert f"sites[0].site: {site}: " in line and meant in line, line
    # A profile file of that name, if there is one, is what it means.
    (tmp_path / site).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / site).write_text("name = 'x'\n")
    assert load_plan(tmp_path / "plan.toml").sites[0].site == str((tmp_path / site).resolve())


def test_a_percent_sign_in_the_plan_path_reaches_cron_and_systemd_escaped(
    tmp_path: Path, invoke
) -> None:
    # cron reads % as a line break (what follows goes to the command's stdin), systemd as a
    # specifier: before, `run` got a cut path from cron, and the unit did not load.
    folder = tmp_path / "50% sample"
    folder.mkdir()
    write_plan(folder, PLAN.format(site="https://warta.example.id/", every="6h"))
    cron = invoke("schedule", "--plan", "plan.toml", "--cron", cwd=folder)
    assert cron.exit_code == 0, cron.output
    assert "\\%" in cron.stdout and not re.search(r"(?<!\\)%", cron.stdout), cron.stdout
    units = invoke("schedule", "--plan", "plan.toml", "--systemd", cwd=folder)
    assert units.exit_code == 0, units.output
    assert "%%" in units.stdout and not re.search(r"(?<!%)%(?!%)", units.stdout), units.stdout


def test_a_line_break_in_the_plan_path_is_refused_by_schedule(tmp_path: Path, invoke) -> None:
    # A crontab entry is one line: before, the entry was split in two, the second no command.
    write_plan(tmp_path, PLAN.format(site="https://warta.example.id/", every="6h"))
    (tmp_path / "plan.toml").rename(tmp_path / "pl\nan.toml")
    line = one_error_line(invoke("schedule", "--plan", "pl\nan.toml", cwd=tmp_path))
    assert "line break" in line, line


# --- Site profiles


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('timezone = "+99:00"', "timezone"),  # before: ValueError from datetime.timezone
        ('timezone = "+24:00"', "timezone"),
        ('timezone = "-24"', "timezone"),
        ('timezone = "+07:99"', "timezone"),  # before: taken as +08:39
        ("[crawl]\narticle_patterns = ['a{4294967296}']", "crawl.article_patterns"),
        ("[selectors]\ntitle = [\"a[b='\\u0001']\"]", "selectors.title"),
        ("[selectors]\ntitle = ['p" + ":not(.x)" * 500 + "']", "selectors.title"),
        ("[selectors]\ntitle = ['ns|h1']", "selectors.title"),  # no page can be searched so
        ("[chrome]\nremove = [\"div[x='\\u0007']\"]", "chrome.remove"),
        ('[[layouts]]\nvalid_until = "2024-13-45"', "layouts[0].valid_until"),
        ("[crawl]\nfeeds = ['javascript:alert(1)']", "crawl.feeds"),
        ("[crawl]\nstart_urls = ['mailto:redaksi@warta.example.id']", "crawl.start_urls"),
        ("[crawl]\nconcurrent_requests_per_domain = 0", "crawl.concurrent_requests_per_domain"),
        ("[crawl]\ndownload_delay = nan", "crawl.download_delay"),
        ("[crawl]\ndownload_delay = inf", "crawl.download_delay"),
        ("[crawl]\nrevisit_hours = [1, inf]", "crawl.revisit_hours"),
        ("[crawl]\nrevisit_hours = [1e300]", "crawl.revisit_hours"),
    ],
)
def test_profile_values_found_by_the_fuzzer_are_profile_errors(
    tmp_path: Path, text: str, key: str
) -> None:
    import tomllib

    data = tomllib.loads('name = "warta"\n' + text)
    with pytest.raises(ProfileError) as caught:
        parse_profile(data, tmp_path / "warta.toml")
    assert str(caught.value).startswith(f"{tmp_path / 'warta.toml'}: {key}: "), caught.value


# --- Paths and option values


@pytest.fixture
def odd_paths(tmp_path: Path) -> Path:
    (tmp_path / "loop").symlink_to("loop")
    os.mkfifo(tmp_path / "fifo")
    for plan, db in [("fifo-db", "fifo"), ("long-db", "x" * 300 + ".db"), ("loop-db", "loop")]:
        (tmp_path / f"{plan}.toml").write_text(
            f'db = "{db}"\n\n[[sites]]\nname = "demo"\nsite = "demo"\nevery = "6h"\n'
            'base_url = "http://127.0.0.1:9/"\n'
        )
    (tmp_path / "loop-site.toml").write_text(
        '[[sites]]\nname = "demo"\nsite = "loop/demo.toml"\nevery = "6h"\n'
    )
    return tmp_path


@pytest.mark.parametrize(
    "args",
    [
        ["stats", "--db", "loop"],  # before: RuntimeError ("Symlink loop"), a traceback
        ["verify", "--db", "x" * 300 + ".db"],  # before: OSError ("File name too long")
        ["stats", "--db", ""],  # before: ValueError ("PosixPath('.') has an empty name")
        ["search", "--db", "", "banjir"],
        ["show", "--db", "/", "https://warta.example.id/1"],  # before: PosixPath('/') ...
        ["schedule", "--plan", "loop"],  # before: OSError ("Too many levels of symbolic links")
        ["schedule", "--plan", "x" * 300 + ".toml"],
        ["backup", "x" * 300],  # before: OSError ("File name too long")
        ["backup", "loop/sub"],
        # A plan's `db` (fuzz_config seed 3711): no --db option checked it first.
        ["health", "--plan", "long-db.toml"],  # before: OSError ("File name too long")
        ["health", "--plan", "loop-db.toml"],
        ["run", "--plan", "loop-db.toml"],  # before: RuntimeError ("Symlink loop")
        ["schedule", "--plan", "loop-site.toml"],
    ],
)
def test_paths_no_file_can_be_at_are_one_line(odd_paths: Path, args: list[str], invoke) -> None:
    one_error_line(invoke(*args, cwd=odd_paths))


@pytest.mark.parametrize(
    "args",
    [
        ["backup", "", "--db", "../arsip/a.db"],  # before: backed up into the current directory
        ["extract", ""],  # before: ". is a directory"
        ["import", "", "--url", "https://warta.example.id/1", "--db", "../arsip/a.db"],
        ["schedule", "--plan", ""],
    ],
)
def test_an_empty_path_is_refused_in_one_line(tmp_path: Path, args: list[str], invoke) -> None:
    # pathlib reads "" as ".", the current directory.
    archive, here = tmp_path / "arsip", tmp_path / "kerja"
    archive.mkdir()
    here.mkdir()
    (archive / "page.html").write_text("<h1>Banjir</h1><p>" + "Warga mengungsi. " * 40)
    url = "https://warta.example.id/2"
    invoke("import", "page.html", "--url", url, "--db", "a.db", "-j", "1", cwd=archive)
    before = sorted(path.name for path in archive.iterdir())
    assert "a.db" in before
    line = one_error_line(invoke(*args, cwd=here))
    assert "'': not a file's path" in line, line
    assert sorted(path.name for path in archive.iterdir()) == before
    assert list(here.iterdir()) == []


def test_a_plan_and_a_profile_saved_with_a_bom_are_read(tmp_path: Path) -> None:
    # Windows editors save UTF-8 with a byte order mark; tomllib refused it as "Invalid
    # statement (line 1, column 1)", naming nothing a user could see.
    plan = tmp_path / "plan.toml"
    plan.write_bytes(
        b"\xef\xbb\xbf" + PLAN.format(site="https://warta.example.id/", every="6h").encode()
    )
    assert [entry.name for entry in load_plan(plan).sites] == ["warta"]
    profile = tmp_path / "warta.toml"
    profile.write_bytes(b'\xef\xbb\xbfname = "warta"\ntimezone = "WITA"\n')
    assert load_profile_file(profile).name == "warta"


@pytest.mark.parametrize("name", ["warta\nX", "", "\x1b[2J"])
def test_a_crawl_name_no_plan_would_take_is_refused(tmp_path: Path, name: str, invoke) -> None:
    # A plan's entry names must be short identifiers; `crawl --name` took anything: a line
    # break split the crawl's summary and Error lines in two, "" was dropped without a word.
    # (--db is no archive here: whatever is checked first, no crawl starts.)
    (tmp_path / "notes.db").write_text("my notes, not an archive\n")
    args = ["crawl", "demo", "--name", name, "--db", "notes.db"]
    line = one_error_line(invoke(*args, "--base-url", "http://127.0.0.1:9/", cwd=tmp_path))
    assert "--name" in line, line


@pytest.mark.parametrize("site", ["\n", "warta\tbaru"])
def test_an_import_site_name_no_plan_would_take_is_refused(
    tmp_path: Path, site: str, invoke
) -> None:
    # Before: the article was filed under "\n", which split the rows of `stats` and `search`.
    (tmp_path / "page.html").write_text("<h1>Banjir</h1><p>" + "Warga mengungsi. " * 40)
    args = ["import", "page.html", "--url", "https://warta.example.id/1", "--site", site]
    line = one_error_line(invoke(*args, "--db", "a.db", "-j", "1", cwd=tmp_path))
    assert "--site" in line, line
    assert not (tmp_path / "a.db").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["stats", "--db", "fifo"],
        ["schedule", "--plan", "fifo"],
        ["extract", "fifo"],
        ["import", "fifo", "--url", "https://warta.example.id/1", "--db", "a.db"],
        # A plan's `db` naming one (fuzz_config seed 3604): no --db option checked it first.
        ["run", "--plan", "fifo-db.toml", "--json"],
        ["health", "--plan", "fifo-db.toml"],
    ],
)
def test_a_fifo_given_as_a_file_is_refused_not_waited_on(odd_paths: Path, args: list[str]) -> None:
    # Before: each waited for a writer to open the FIFO, for ever.
    proc = subprocess.run(
        [sys.executable, "-m", "newsarchive", *args],
        cwd=odd_paths,
        capture_output=True,
        text=True,
        timeout=ENDS_WITHIN,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert [line for line in proc.stderr.splitlines() if line.strip()][0].startswith("Error: ")
    assert "fifo" in proc.stderr


def test_importing_a_folder_that_holds_a_fifo_ends(tmp_path: Path) -> None:
    # Before: the import waited on the FIFO for ever, the pages beside it never stored.
    folder = tmp_path / "saved"
    folder.mkdir()
    os.mkfifo(folder / "fifo")
    (folder / "page.html").write_text("<h1>x</h1>")
    proc = subprocess.run(
        [sys.executable, "-m", "newsarchive", "import", str(folder), "--db", "a.db", "-j", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=ENDS_WITHIN,
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr
    assert "imported 1 pages" in proc.stdout, proc.stdout


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["run", "--plan", "plan.toml", "--progress-every", "nan"], "--progress-every"),
        (
            ["import", "page.html", "--progress-seconds", "nan", "--db", "a.db"],
            "--progress-seconds",
        ),
        (["reextract", "--progress-seconds", "nan", "--db", "a.db"], "--progress-seconds"),
        (["worker", "--redis", "redis://127.0.0.1:1/0", "--wait", "nan"], "--wait"),
    ],
)
def test_nan_is_no_number_of_seconds(tmp_path: Path, args: list[str], option: str, invoke) -> None:
    # click's FloatRange lets NaN through every bound: `run` then never printed progress.
    (tmp_path / "page.html").write_text("<h1>x</h1>")
    line = one_error_line(invoke(*args, cwd=tmp_path))
    assert option in line, line


@pytest.mark.parametrize("url", ["", " ", "a\nb"])
def test_a_url_nothing_would_show_of_is_quoted(tmp_path: Path, url: str, invoke) -> None:
    # Before: "Error: : not a page's URL" named nothing a user could see.
    (tmp_path / "page.html").write_text("<h1>Banjir</h1><p>" + "Warga mengungsi. " * 40)
    line = one_error_line(invoke("extract", "page.html", "--url", url, cwd=tmp_path))
    assert line.startswith(f"Error: {url!r}: not a page's URL"), line


@pytest.mark.parametrize("command", ["schedule", "health"])
def test_a_path_with_a_line_break_is_named_quoted_in_the_error_line(
    tmp_path: Path, command: str, invoke
) -> None:
    # Before: "Error: line; break.db: no such plan file": the line break joined as "; ", the
    # file named nowhere (fuzz_config seed 3711).
    line = one_error_line(invoke(command, "--plan", "line\nbreak.db", cwd=tmp_path))
    assert line.startswith("Error: 'line\\nbreak.db': no such plan file"), line
    (tmp_path / "pl\nan.toml").write_text("db = 5\n")
    line = one_error_line(invoke(command, "--plan", "pl\nan.toml", cwd=tmp_path))
    assert line.startswith("Error: 'pl\\nan.toml': db: expected"), line


@pytest.mark.parametrize("command", ["import", "reextract", "crawl"])
def test_a_count_of_workers_past_any_use_is_refused(tmp_path: Path, command: str, invoke) -> None:
    """fuzz_config seed 4101: `import -j 99999999999999999999999` was taken (exit 0 for one page,
    which a worker never sees); past a few dozen pages it forked workers until the machine gave
    out, as `crawl --redis URL --workers N` would. More than four per core is refused before
    anything starts."""
    page = tmp_path / "page.html"
    page.write_text("<html><head><title>Judul</title></head><body><p>Isi.</p></body></html>")
    limit = 4 * (os.cpu_count() or 1)
    option = "--workers" if command == "crawl" else "-j"
    args = [command, option, str(limit + 1), "--db", str(tmp_path / "archive.db")]
    extra = {"import": [str(page)], "crawl": ["demo", "--redis", "redis://127.0.0.1:1/0"]}
    result = invoke(*args, *extra.get(command, []), cwd=tmp_path)
    assert result.exit_code == 2
    lowest = 0 if command == "crawl" else 1  # a shared crawl may have no local worker
    assert f"{limit + 1} is not in the range {lowest}<=x<={limit}" in result.output
    assert not (tmp_path / "archive.db").exists()
