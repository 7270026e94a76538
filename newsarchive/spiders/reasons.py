"""Why a request ended without a page, in words a person reading the `failures` table understands.

Every exception a fetch can end with maps to a non-empty reason; one this module does not know
still gives its class, its message and the response status, never an empty string.
"""

from __future__ import annotations

from typing import Any

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import error as tx
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseFailed

from newsarchive.bot_checks import bot_check_reason
from newsarchive.middlewares import Unfetchable, bot_check

# IgnoreRequest messages of Scrapy's own middlewares that mean a decision, not a failure.
ROBOTS_FORBIDDEN = "Forbidden by robots.txt"
OFFSITE = "Filtered offsite request"


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def failure_reason(failure: Failure, settings: Any) -> tuple[str, int | None]:
    """(reason, HTTP status or None) for a failed request."""
    exc = failure.value
    request = getattr(failure, "request", None)
    meta = request.meta if request is not None else {}
    maxsize = int(meta.get("download_maxsize") or settings.getint("DOWNLOAD_MAXSIZE"))
    if isinstance(exc, Unfetchable):
        return exc.reason, exc.status
    if isinstance(exc, HttpError):
        status = exc.response.status
        checked = bot_check(exc.response)
        if checked is not None:
            return f"HTTP {status}: {bot_check_reason(checked)}", status
        return f"HTTP {status}", status
    status = getattr(getattr(exc, "response", None), "status", None)
    message = str(exc)
    if isinstance(exc, IgnoreRequest):
        if "during decompression" in message:
            return f"compressed response inflates past {megabytes(maxsize)}", status
        if "max redirections" in message:
            limit = settings.getint("REDIRECT_MAX_TIMES", 20)
            return f"more than {limit} redirects", status
        return f"not fetched: {message or type(exc).__name__}", status
    if isinstance(exc, DownloadTimeoutError | tx.TimeoutError | tx.TCPTimedOutError):
        timeout = float(meta.get("download_timeout") or settings.getfloat("DOWNLOAD_TIMEOUT"))
        return f"timed out after {timeout:g} s", None
    if isinstance(exc, DownloadConnectionRefusedError | tx.ConnectionRefusedError):
        return "connection refused", None
    if isinstance(exc, CannotResolveHostError | tx.DNSLookupError):
        return "DNS lookup failed", None
    if isinstance(exc, ResponseDataLossError):
        return "connection closed before the whole body arrived (data loss)", None
    if isinstance(exc, DownloadCancelledError | tx.ConnectionAborted):
        # The HTTP/1.1 handler cancels a download for one reason: the body (announced or
        # received so far) is over DOWNLOAD_MAXSIZE.
        return f"response larger than {megabytes(maxsize)} (DOWNLOAD_MAXSIZE)", None
    if isinstance(
        exc, DownloadFailedError | ResponseFailed | tx.ConnectionLost | tx.ConnectionDone
    ):
        if "ConnectionRefused" in message or "Connection was refused" in message:
            return "connection refused", None
        if "ConnectionDone" in message or isinstance(exc, tx.ConnectionDone):
            return "connection closed by the server before a response", None
        if (
            "ConnectionLost" in message
            or "lost" in message.lower()
            or isinstance(exc, tx.ConnectionLost)
        ):
            return "connection lost before the response was complete", None
        return f"download failed: {_short(message) or type(exc).__name__}", None
    return (
        f"{type(exc).__name__}: {_short(message) or 'no message'} "
        f"(HTTP status {status if status is not None else 'none'})",
        status,
    )


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
