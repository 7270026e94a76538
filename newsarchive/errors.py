"""Domain errors. The CLI turns each into a one-line message; nothing else catches them."""


class NewsarchiveError(Exception):
    """Base class: a user-facing problem with input, configuration or the archive."""


class NotHtmlError(NewsarchiveError):
    """The input is not an HTML page (empty, binary, unparseable)."""


class ProfileError(NewsarchiveError):
    """A site profile is invalid: the message names the file and the key."""
