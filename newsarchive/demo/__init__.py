"""The offline demo portal: a generated Indonesian news site served on 127.0.0.1.

    from newsarchive.demo import DemoServer
    with DemoServer() as server:        # http://127.0.0.1:<free port>/
        ...crawl server.base_url...
        server.requested_paths()        # the request log
"""

from newsarchive.demo.generator import Portal, generate_portal
from newsarchive.demo.server import DemoServer

__all__ = ["DemoServer", "Portal", "generate_portal"]
