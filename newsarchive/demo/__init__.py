"""The offline demo portal: a generated Indonesian news site served on 127.0.0.1.

`DemoServer()` (a context manager) serves it on a free port at `server.base_url`;
`server.requested_paths()` is its request log; `generate_portal(base_url)` builds the pages alone.
"""

from __future__ import annotations

from typing import Any

from newsarchive.demo.generator import Portal, generate_portal

__all__ = ["DemoServer", "Portal", "generate_portal"]


def __getattr__(name: str) -> Any:
    # Imported lazily so `python -m newsarchive.demo.server` does not import its own module twice.
    if name == "DemoServer":
        from newsarchive.demo.server import DemoServer

        return DemoServer
    raise AttributeError(name)
