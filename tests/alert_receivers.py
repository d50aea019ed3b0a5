"""A webhook receiver on loopback that answers each alert as the test scripts it: a status, headers
and a body per alert id (or for every alert), recording every request it gets."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Answer:
    status: int = 204
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ScriptedReceiver:
    port: int = 0
    answers: dict[str, Answer] = field(default_factory=dict)  # by alert id
    default: Answer = field(default_factory=Answer)
    documents: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"webhook+http://127.0.0.1:{self.port}/hooks/parley"

    @property
    def ids(self) -> list[str]:
        return [document["alert_id"] for document in self.documents]


@contextmanager
def scripted_receiver() -> Iterator[ScriptedReceiver]:
    state = ScriptedReceiver()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            document = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.documents.append(document)
            answer = state.answers.get(document["alert_id"], state.default)
            self.send_response(answer.status)
            for key, value in answer.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
