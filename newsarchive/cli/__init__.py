"""The command line: a thin click layer over the library.

Each subcommand parses arguments, calls the library and turns domain errors (NewsarchiveError)
into one-line messages: this package is the only place that does.
"""

from __future__ import annotations

import errno
import functools
import io
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from newsarchive import __version__
from newsarchive.errors import ArchiveDamaged, GarbledValue, NewsarchiveError

# The most worker processes a command starts (`import -j`, `crawl --workers`): extraction and
# crawling are CPU work, workers past the cores only wait, each with its own extractor in memory
# (~100 MB), and a mistyped count (`-j 99999999`) forked until the machine gave out.
PROCESSES_MAX = 4 * (os.cpu_count() or 1)


class Seconds(click.FloatRange):
    """A number of seconds within the range, and finite: click's FloatRange lets nan through
    every bound (a progress line never printed, a wait never ended)."""

    name = "seconds"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        import math

        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        return number


class FilePath(click.Path):
    """click.Path, with the empty string refused in one line: pathlib reads it as ".", the current
    directory (`backup ''` backed up into it, `extract ''` said ". is a directory")."""

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, str) and not value:
            raise click.ClickException(f"{_label(param)} '': not a file's path")
        return super().convert(value, param, ctx)


def _label(param: Any) -> str:
    return param.opts[0] if param is not None and param.opts else "path"


def usable_path(ctx: Any, param: Any, value: Path | None) -> Path | None:
    """Click callback for a file option: a path no file can be at (empty, a directory's root, a
    name too long, a symbolic link loop) or a FIFO or device (a read waiting for ever) is one
    Error line naming the option, exit 1, where it was a traceback or a hang."""
    return _checked_path(param, value, directory=False)


def usable_directory(ctx: Any, param: Any, value: Path | None) -> Path | None:
    """usable_path for a directory argument (`.` and `/` are directories)."""
    return _checked_path(param, value, directory=True)


def _checked_path(param: Any, value: Path | None, *, directory: bool) -> Path | None:
    import stat

    if value is None:
        return value
    text = str(value)
    option = _label(param)
    if not text or not (directory or value.name):
        raise click.ClickException(f"{option} {text!r}: not a file's path")
    try:
        mode = value.stat().st_mode
    except FileNotFoundError:
        return value
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENAMETOOLONG, errno.ENOTDIR):
            raise click.ClickException(f"{option} {text}: {exc.strerror}") from None
        return value  # permission denied and the like: the command's own check says it
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISSOCK(mode):
        raise click.ClickException(
            f"{option} {text}: not a regular file (a FIFO, device or socket)"
        )
    return value


def db_option(*, default: Path | None = None, help: str | None = None) -> Callable[..., Any]:
    """The `--db ARCHIVE` option of every command that reads or writes an archive; $NEWSARCHIVE_DB
    sets it for a whole shell or cron job."""
    from newsarchive.storage.archive import DEFAULT_DB

    return click.option(
        "--db",
        # Any path: a directory or an unreadable file is one line from the archive's own checks
        # (opening.inspect_file), as for its pages file, not a three-line usage error.
        type=FilePath(readable=False, path_type=Path),
        callback=usable_path,
        default=default or DEFAULT_DB,
        envvar="NEWSARCHIVE_DB",
        show_default=True,
        show_envvar=True,
        help=help or "The archive file (raw pages live next to it: archive.db -> pages.db).",
    )


plan_option = click.option(
    "--plan",
    "plan_path",
    type=FilePath(dir_okay=False, path_type=Path),
    callback=usable_path,
    help="The plan file (default: $NEWSARCHIVE_PLAN, else ./newsarchive.toml).",
)


def friendly_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a NewsarchiveError into `Error: <one line>` and exit status 1 (a Busy one: 75); so
    too SQLite saying a file of the archive is damaged, wherever a command meets it (a b-tree
    page of either file, an overflow page of a long body, the full-text index), naming the file
    and what to do."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ArchiveDamaged as exc:
            # SQLite's own error tells which file it is: the line says so, and what to do.
            line = _damage_line(exc.cause, kwargs) if exc.cause is not None else None
            raise click.ClickException(line or _one_line(exc, kwargs)) from None
        except NewsarchiveError as exc:
            error = click.ClickException(_one_line(exc, kwargs))
            error.exit_code = getattr(exc, "exit_code", error.exit_code)  # Busy: 75
            raise error from None
        except KeyboardInterrupt:
            # Ctrl-C where the command has no stop of its own (as it starts, or a second signal
            # that stops at once): one line and the shell's status for SIGINT, not click's
            # bare "Aborted!" with 1. SQLite keeps what was committed.
            click.echo("Error: stopped (interrupted); what was stored before is kept", err=True)
            sys.exit(130)
        except MemoryError:
            # SQLite reading a garbled size (a full-text segment's, say) asks for gigabytes and
            # fails so: what a damaged archive looks like to a read, said as damage.
            db = kwargs.get("db")
            if db is None:
                raise
            raise click.ClickException(
                f"{db}: out of memory reading it, as a garbled size in a damaged file makes "
                f"SQLite; `newsarchive verify --db {db}` lists the damage"
            ) from None
        except Exception as exc:
            line = _damage_line(exc, kwargs)
            if line is None:
                raise
            raise click.ClickException(line) from None

    return wrapper


def _one_line(exc: NewsarchiveError, params: dict[str, Any]) -> str:
    """`exc` as one line, also when a cause quoted in it has several; a file found malformed
    gets what to do about it."""
    message = str(exc)
    for value in params.values():
        # A path or name given with a line break in it is shown quoted, so the line still
        # names it ("'line\\nbreak.db'", not "line; break.db").
        text = str(value) if isinstance(value, str | Path) else ""
        if text.strip() and not text.isprintable() and text in message:
            message = message.replace(text, repr(text))
    message = "; ".join(line.strip() for line in message.splitlines() if line.strip())
    db = params.get("db")
    if isinstance(exc, GarbledValue) and db:
        message += f" (bytes damaged on disk, or an edit by hand); `newsarchive verify --db {db}`"
        message += " lists the damage"
    if "database disk image is malformed" in message and "verify" not in message and db:
        from newsarchive.storage.verify import WHAT_TO_DO

        message += f"; {WHAT_TO_DO.format(db=db)}"
    return message


def _damage_line(exc: Exception, params: dict[str, Any]) -> str | None:
    """The Error line for `exc` when it is SQLite meeting a damaged file of the command's
    archive, else None."""
    sqlite3 = sys.modules.get("sqlite3")  # not loaded: not an SQLite error (extract's start-up)
    if sqlite3 is None or not isinstance(exc, sqlite3.DatabaseError):
        return None
    from newsarchive.storage.opening import is_damage
    from newsarchive.storage.verify import damage_line

    db = params.get("db")
    if db is None and "plan_path" in params:  # `run`, `health`: the archive the plan names
        from newsarchive.cli.run import _db_for

        try:
            db = _db_for(None, params["plan_path"])
        except NewsarchiveError:
            db = None
    if db is None:
        if not is_damage(exc):
            return None
        return f"the archive is damaged ({exc}); `newsarchive verify` lists the damage"
    return damage_line(exc, Path(db))


class _LazyGroup(click.Group):
    """The top-level group, loading subcommand modules on demand.

    `newsarchive extract --batch` is timed as a whole process against other extractors, and the
    other commands' modules pull in the archive, the crawl and Datasette (several times the
    start-up of the extractor itself). A command found in the module named like it (extract ->
    cli/extract.py) loads that module alone; any other name loads modules until one holds it,
    the extractor's last (`search`, `stats`, `show` then start ~0.15 s sooner); the command list
    (--help) loads them all.
    """

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name.isidentifier():
            _import_module(cmd_name)
            command = super().get_command(ctx, cmd_name)
        for module in _module_names():
            if command is not None:
                break
            _import_module(module)
            command = super().get_command(ctx, cmd_name)
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        _register()
        return super().list_commands(ctx)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        # Every write to standard output goes through a guard, so a failed one (`export >
        # file` on a full disk, `> /dev/full`) is told from any other OSError: one line naming
        # it, where it was a traceback (or, for what waited in the buffer, Python's "Exception
        # ignored" at exit and status 120).
        stdout = sys.stdout
        if None in (sys.stdin, stdout, sys.stderr):
            _hold_closed_descriptors()
        if stdout is None:
            # Started with it closed (`>&-`): what the command says would be lost without a
            # word, so its first line is the error.
            sys.stdout = GuardedOutput(_ClosedOutput())
        elif not isinstance(stdout, GuardedOutput):
            sys.stdout = GuardedOutput(stdout)
        try:
            try:
                return super().main(*args, **kwargs)
            finally:
                if sys.stdout is not None:
                    sys.stdout.flush()
        except FileNotFoundError as exc:
            if exc.filename is not None or _cwd_exists():
                raise
            # os.getcwd() failing, under any relative path: the shell's directory was deleted
            # (a checkout removed and cloned again) since it entered it.
            click.echo(
                "Error: the current directory no longer exists (deleted after the shell went "
                "into it): cd into one that does, or give absolute paths",
                err=True,
            )
            sys.exit(1)
        except OutputUnwritable as exc:
            if exc.errno == errno.EPIPE and _stdout_closed():
                _drop_stdout()
                sys.exit(0)  # the reader has what it asked for: see invoke
            click.echo(f"Error: standard output: cannot write: {exc.strerror}", err=True)
            _drop_stdout()
            sys.exit(1)
        finally:
            sys.stdout = stdout

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise
            if _stdout_closed():
                # The reader stopped reading (`export | head`): it has what it asked for, so
                # end quietly with 0 as ripgrep does; click's own handling exits 1, which fails
                # a `set -o pipefail` script that did nothing wrong.
                _drop_stdout()
                ctx.exit(0)
            # click would swallow any broken pipe into a bare exit 1; one that is not our
            # output's (a connection, a child process) is a failure to say.
            raise click.ClickException(f"a pipe closed under the command: {exc}") from None


def standard_input() -> Any:
    """sys.stdin for a command that reads it; a command started with it closed (`<&-`, a
    daemon's way) finds None there, which was a TypeError traceback: one line instead."""
    if sys.stdin is None:
        raise NewsarchiveError("standard input is closed: nothing to read the pages from")
    return sys.stdin


def _cwd_exists() -> bool:
    try:
        os.getcwd()
    except FileNotFoundError:
        return False
    return True


class OutputUnwritable(OSError):
    """A write to standard output failed (errno and strerror are the write's own)."""


class GuardedOutput:
    """Standard output whose failed writes raise OutputUnwritable: a traceback cannot tell which
    file a bare OSError came from, and the Error line must say it was the output. Everything
    else is the stream's own (encoding, isatty, fileno); `buffer`, for bytes written as fetched,
    is guarded the same way."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, data: Any) -> int:
        try:
            return self._stream.write(data)
        except OSError as exc:
            raise OutputUnwritable(exc.errno, exc.strerror) from exc

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            raise OutputUnwritable(exc.errno, exc.strerror) from exc
        except ValueError:
            pass  # closed: nothing waits in it (click's test runner closes its own)

    @property
    def buffer(self) -> Any:
        return GuardedOutput(self._stream.buffer)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _ClosedOutput(io.TextIOBase):
    """Standard output of a command started with it closed."""

    encoding = "utf-8"
    errors = "strict"

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "it was closed when the command started")


def _hold_closed_descriptors() -> None:
    """Put /dev/null on each of descriptors 0-2 that is closed, as daemons do: otherwise the next
    file opened takes its number, and a child process's output (which goes to descriptor 1)
    would land in that file."""
    while True:
        descriptor = os.open(os.devnull, os.O_RDWR)
        if descriptor > 2:
            os.close(descriptor)
            return


def _stdout_closed() -> bool:
    """Whether the reading end of standard output has gone (a pipe or socket closed)."""
    import select

    try:
        poll = select.poll()
        poll.register(sys.stdout.fileno(), select.POLLOUT)
        events = poll.poll(0)
    except (AttributeError, OSError, ValueError):
        return False
    return any(event & (select.POLLERR | select.POLLHUP) for _, event in events)


def _drop_stdout() -> None:
    """Point standard output at /dev/null, so the interpreter's flush at exit does not meet the
    closed pipe again (and print "Exception ignored ... BrokenPipeError")."""
    try:
        fileno = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return  # not a file (click's test runner): no flush at exit to meet
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fileno)
    os.close(devnull)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="newsarchive")
def cli() -> None:
    """Crawl news portals and keep a clean, searchable archive of their articles.

    \b
    Try it offline first:
        newsarchive demo          # crawl the bundled demo portal into data/demo.db
        newsarchive extract page.html --url https://example.com/news/1
    """


def _import_module(name: str) -> None:
    """Import the subcommand module `name` if there is one (importing it attaches its commands
    to `cli`)."""
    import importlib

    module = f"{__name__}.{name}"
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:  # a missing dependency of an existing module is a real error
            raise


def _module_names() -> list[str]:
    """The subcommand modules, the extractor's last (it loads the whole extractor)."""
    import pkgutil

    return sorted(
        (mod.name for mod in pkgutil.iter_modules(__path__)), key=lambda n: n == "extract"
    )


def _register() -> None:
    # Subcommands live in their own modules; importing them attaches them to `cli`.
    for name in _module_names():
        _import_module(name)
