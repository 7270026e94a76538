"""Domain errors. The CLI turns each into a one-line message; nothing else catches them."""


class NewsarchiveError(Exception):
    """Base class: a user-facing problem with input, configuration or the archive."""


# The exit status when another process is doing the same work now (EX_TEMPFAIL: try again
# later): cron's next call while the last one still runs is no failure of the site.
EXIT_BUSY = 75


class Busy(NewsarchiveError):
    """Another process holds what this command needs (a `run` the archive, a writer the shared
    crawl): the command leaves it to that one and exits EXIT_BUSY."""

    exit_code = EXIT_BUSY


class NotHtmlError(NewsarchiveError):
    """The input is not an HTML page (empty, binary, unparseable)."""


class ProfileError(NewsarchiveError):
    """A site profile is invalid: the message names the file and the key."""


class ArchiveUnwritable(NewsarchiveError):
    """The archive's files cannot be written now (disk full, a write refused by the file system,
    read-only), or a write met a damaged page of them (SQLite cannot change a damaged file
    safely): every later write would fail the same way, so the command stops. What was
    committed before is kept; `lost` counts the items stored since the last commit, which were
    not (store() outcomes)."""

    # A crawl's finish reason (crawl_runs.finish_reason, Scrapy's stats) when it stopped for this.
    finish_reason = "archive_unwritable"

    def __init__(self, message: str, lost: dict[str, int] | None = None) -> None:
        super().__init__(message)
        self.lost = dict(lost or {})

    def __reduce__(self) -> tuple:
        # Raised in the writer process and re-raised in the crawl's: `lost` goes along.
        return (type(self), (str(self), self.lost))


class ArchiveDamaged(ArchiveUnwritable):
    """A write met a damaged page of the archive's files: the command stops as for a full disk.
    `cause` is SQLite's error (in this process only), which tells the CLI which file to name."""

    def __init__(
        self, message: str, lost: dict[str, int] | None = None, cause: Exception | None = None
    ) -> None:
        super().__init__(message, lost)
        self.cause = cause


class PageDamaged(NewsarchiveError):
    """A stored raw page cannot be read back as it was fetched: its compressed bytes do not
    inflate, or inflate to bytes whose sha256 is not the one stored with them (the file was
    damaged on disk or edited). The record made from it stays as it was."""

    def __init__(self, message: str, page_id: int) -> None:
        super().__init__(message)
        self.page_id = page_id

    def __reduce__(self) -> tuple:
        return (type(self), (str(self), self.page_id))


class GarbledValue(NewsarchiveError, ValueError):
    """A value read back from the archive that newsarchive never writes (a stored time that is
    no time): bytes garbled on disk inside a row, which SQLite's own checks pass, or an edit by
    hand. A command given `--db` adds what lists the damage."""
