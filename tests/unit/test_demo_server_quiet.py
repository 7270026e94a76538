"""The demo portal's server says nothing when a client goes away mid-answer (a crawl stopped or
killed): socketserver printed a traceback for each such connection."""

from __future__ import annotations

import contextlib
import io
import socket
import struct
import time

from newsarchive.demo import DemoServer


def test_a_client_gone_mid_answer_prints_no_traceback() -> None:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), DemoServer(articles=200) as server:
        for _ in range(30):
            client = socket.create_connection(("127.0.0.1", server.port))
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
            # Closed with a reset, not a FIN, while the server still writes its answers.
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.sendall(b"GET /post-sitemap.xml HTTP/1.1\r\nHost: x\r\n\r\n" * 5)
            time.sleep(0.01)
            client.close()
        time.sleep(0.3)
        # The server goes on answering.
        with socket.create_connection(("127.0.0.1", server.port)) as client:
            client.sendall(b"GET /robots.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := client.recv(65536):
                answer += chunk
    assert answer.startswith(b"HTTP/1.1 200")
    assert err.getvalue() == ""
