"""The demo portal's HTTP server: stdlib, loopback only, every request logged.

The request log is how the end-to-end tests see what a crawl asked for (nothing disallowed by
robots.txt, no article fetched twice). `python -m newsarchive.demo.server --articles 5000` serves
a large portal in its own process (the benchmark does this, so the server does not compete with
the crawler for the interpreter).
"""

from __future__ import annotations

import argparse
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from newsarchive.demo.generator import DEFAULT_OFFSITE, Portal, generate_portal


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str  # with the query string
    status: int
    user_agent: str


class _Handler(BaseHTTPRequestHandler):
    # Keep-alive, as real portals do; Scrapy reuses connections.
    protocol_version = "HTTP/1.1"
    server: _PortalHTTPServer

    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        self._answer(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(send_body=False)

    def _answer(self, *, send_body: bool) -> None:
        status, headers, body = self.server.portal.response(self.path)
        self.server.record(
            LoggedRequest(self.command, self.path, status, self.headers.get("User-Agent", ""))
        )
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        # The request log replaces stderr chatter; a log file is written when one is set.
        pass


class _PortalHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], portal: Portal | None, log_path: Path | None):
        super().__init__(address, _Handler)
        self.portal: Portal = portal  # type: ignore[assignment]  # set right after binding
        self.requests: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self._log_file = open(log_path, "a", encoding="utf-8", buffering=1) if log_path else None  # noqa: SIM115

    def record(self, entry: LoggedRequest) -> None:
        with self._lock:
            self.requests.append(entry)
            if self._log_file:
                self._log_file.write(f"{entry.method} {entry.status} {entry.path}\n")

    def handle_error(self, request: object, client_address: tuple[str, int]) -> None:
        # A client that goes away mid-answer (a crawl stopped or killed) is no error of the
        # portal's: socketserver would print a traceback for it.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]

    def server_close(self) -> None:
        super().server_close()
        if self._log_file:
            self._log_file.close()


class DemoServer:
    """The demo portal served on 127.0.0.1 (a free port unless one is given), in a thread.

    >>> with DemoServer() as server:
    ...     server.base_url  # 'http://127.0.0.1:PORT/'
    """

    def __init__(
        self,
        *,
        articles: int = 60,
        seed: int = 20230702,
        port: int = 0,
        offsite_url: str = DEFAULT_OFFSITE,
        log_path: Path | None = None,
        host: str = "127.0.0.1",
        redesign: bool = False,
    ):
        if not host.startswith("127."):
            raise ValueError("the demo portal serves on loopback only (127.x.x.x)")
        self._httpd = _PortalHTTPServer((host, port), None, log_path)
        self.port: int = self._httpd.server_address[1]
        self.base_url = f"http://{host}:{self.port}/"
        # The pages carry absolute URLs (sitemaps, canonical links), so they are made for the port.
        self.portal = generate_portal(
            self.base_url,
            articles=articles,
            seed=seed,
            offsite_url=offsite_url,
            redesign=redesign,
        )
        self._httpd.portal = self.portal
        self._thread: threading.Thread | None = None

    @property
    def requests(self) -> list[LoggedRequest]:
        """Every request served so far, in order."""
        with self._httpd._lock:
            return list(self._httpd.requests)

    def requested_paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def clear_log(self) -> None:
        with self._httpd._lock:
            self._httpd.requests.clear()

    def start(self) -> DemoServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="demo-portal", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the demo portal on 127.0.0.1.")
    parser.add_argument("--articles", type=int, default=60)
    parser.add_argument("--seed", type=int, default=20230702)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--offsite-url", default=DEFAULT_OFFSITE)
    parser.add_argument("--log", type=Path, help="append one line per request to this file")
    parser.add_argument("--url-file", type=Path, help="write the base URL here once serving")
    args = parser.parse_args(argv)
    server = DemoServer(
        articles=args.articles,
        seed=args.seed,
        port=args.port,
        offsite_url=args.offsite_url,
        log_path=args.log,
    )
    if args.url_file:
        args.url_file.write_text(server.base_url + "\n")
    print(server.base_url, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
