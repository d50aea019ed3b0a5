"""Text from outside printed by the ``parley`` command line is printed as it is, never read as Rich
markup (a status line, a feed's title, a receiver's error body holding ``[/]``), and a feed URL's
password never reaches the terminal: run through the real CLI against loopback servers."""

from __future__ import annotations

import subprocess
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from models import Feed, FeedFetch
from tests.conftest import run_parley

REASON = "[/bogus] oops"  # Rich raised MarkupError on it: a closing tag with nothing open
TITLE = "Wire [/] [red]news[/red] {0}"
ERROR_BODY = b"receiver says [/] no [bold]way"


class _Handler(BaseHTTPRequestHandler):
    base: ClassVar[str] = ""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/bogus.xml":
            self.send_response(500, REASON)  # the status line's reason phrase is REASON
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/titled.xml":
            body = (
                b'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire [/] [red]news[/red] {0}'
                b"</title><item><title>Talks</title><guid>t-1</guid><description>Talks resumed.</description>"
                b"</item></channel></rss>"
            )
            self._send(200, body, "application/rss+xml")
        else:
            self._send(404, b"not found", "text/plain")

    def do_POST(self) -> None:  # a webhook receiver refusing every alert with a bracketed body
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._send(500, ERROR_BODY, "text/plain")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "MarkupError" not in result.stderr, result.stderr
    return result


def fetches(engine: Engine) -> list[tuple[str, str | None]]:
    with Session(engine) as session:
        return [(f.status, f.error) for f in session.scalars(select(FeedFetch).order_by(FeedFetch.id))]


def wide(env: dict[str, str]) -> dict[str, str]:
    return {**env, "COLUMNS": "250"}  # rich tables would otherwise cut cells at 80 columns


# --- markup ----------------------------------------------------------------------------------------


def test_a_status_line_holding_markup_is_printed_literally_and_the_poll_recorded(
    clean_db: Engine, cli_env: dict[str, str], server: str
) -> None:
    ok(run_parley("feeds", "add", f"{server}/bogus.xml", env=cli_env))
    ingested = ok(run_parley("ingest", "--all", env=wide(cli_env)))
    assert f"failed {server}/bogus.xml: HTTP 500 {REASON}" in ingested.stderr
    assert fetches(clean_db) == [("failed", f"HTTP 500 {REASON}")]

    ran = ok(run_parley("run", "--all", env=wide(cli_env)))
    assert f"failed {server}/bogus.xml: HTTP 500 {REASON}" in ran.stderr
    assert fetches(clean_db) == [("failed", f"HTTP 500 {REASON}")] * 2  # each run's poll is recorded


def test_a_feed_title_from_the_feed_holding_markup_is_listed_literally(
    clean_db: Engine, cli_env: dict[str, str], server: str
) -> None:
    ok(run_parley("feeds", "add", f"{server}/titled.xml", env=cli_env))
    ok(run_parley("ingest", "--all", env=cli_env))
    with Session(clean_db) as session:
        assert session.scalars(select(Feed.title)).all() == [TITLE]  # the title came from the feed
    listed = ok(run_parley("feeds", "list", env=wide(cli_env)))
    assert TITLE in listed.stdout


def test_a_receiver_error_body_holding_markup_is_printed_literally_by_alerts_send(
    clean_db: Engine, cli_env: dict[str, str], server: str
) -> None:
    env = wide(
        {
            **cli_env,
            "PARLEY_ALERT_URLS": f"webhook+{server}/hook",
            "PARLEY_WEBHOOK_SECRET": "test-signing-key",
            "PARLEY_FEED_FAILURE_ALERT_AFTER": "1",  # the failing feed queues a feed-health alert
            "PARLEY_ALERT_RETRY_BASE_SECONDS": "0",  # due again at once for alerts send
        }
    )
    ok(run_parley("feeds", "add", f"{server}/bogus.xml", env=env))
    ok(run_parley("ingest", "--all", env=env))
    ok(run_parley("run", env=env))  # checks feed health: the alert is queued and tried once
    sent = ok(run_parley("alerts", "send", env=env))
    assert "[/] no [bold]way" in sent.stderr
    assert any(word in sent.stderr for word in ("not delivered", "failed", "given up")), sent.stderr


# --- a feed URL's password -------------------------------------------------------------------------


def test_a_feed_password_is_never_printed_but_kept_in_the_export(
    clean_db: Engine, cli_env: dict[str, str], server: str
) -> None:
    url = server.replace("http://", "http://alice:s3cret@") + "/bogus.xml"
    shown = server.replace("http://", "http://alice:****@") + "/bogus.xml"
    added = ok(run_parley("feeds", "add", url, env=wide(cli_env)))
    assert f"added: {shown}" in added.stdout
    again = ok(run_parley("feeds", "add", url, "--tag", "x", env=wide(cli_env)))
    assert f"already registered (tags merged): {shown}" in again.stdout
    ingested = ok(run_parley("ingest", "--all", env=wide(cli_env)))
    assert f"failed {shown}: HTTP 500" in ingested.stderr
    ran = ok(run_parley("run", "--all", env=wide(cli_env)))
    listed = ok(run_parley("feeds", "list", env=wide(cli_env)))
    assert shown in listed.stdout
    for result in (added, again, ingested, ran, listed):
        assert "s3cret" not in result.stdout + result.stderr
    # the export is the user's own feed list, to import elsewhere: it keeps the URL whole
    exported = ok(run_parley("feeds", "export", env=cli_env))
    assert [o.get("xmlUrl") for o in ET.fromstring(exported.stdout).iter("outline")] == [url]
    with Session(clean_db) as session:
        assert session.scalars(select(Feed.url)).all() == [url]  # stored as given: it is how it is fetched
        # what the polls recorded, for the analysts' views, holds no password either
        recorded = [*session.scalars(select(Feed.last_error)), *session.scalars(select(FeedFetch.error))]
        assert recorded and all(error and "s3cret" not in error for error in recorded)
