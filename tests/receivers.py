"""Test peers on loopback shared by several test modules."""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.conftest import free_port


class WebhookReceiver:
    """A webhook receiver on loopback keeping every request's JSON document; it can be down (not
    started), answer an error status, or kill the sender once it has the request (before answering)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.documents: list[dict[str, Any]] = []
        self.status = 204
        self.kill_pid_on_first: int | None = None
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"webhook+http://127.0.0.1:{self.port}/hook"

    @property
    def ids(self) -> list[str]:
        return [document["alert_id"] for document in self.documents]

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.documents.append(json.loads(body))
                if receiver.kill_pid_on_first is not None:
                    os.kill(receiver.kill_pid_on_first, signal.SIGKILL)
                    receiver.kill_pid_on_first = None
                    return
                self.send_response(receiver.status)
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@contextmanager
def serve_body(body: bytes | Callable[[], bytes]) -> Iterator[str]:
    """``body`` as an RSS feed on a loopback port, at the URL yielded; a function makes the body
    afresh at each request (a feed the test adds to)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            served = body() if callable(body) else body
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(served)))
            self.end_headers()
            self.wfile.write(served)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/feed.xml"
    finally:
        httpd.shutdown()
        httpd.server_close()
