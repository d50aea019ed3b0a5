"""Polls without a database: the record a poll leaves (when the feed is polled next, backing off after
failures; which validators and title it keeps), and etl.ingest.fetch's share in keeping a tick of
304s cheap (a 304 keeps its connection; one TLS context per process), over real HTTP on loopback.

How polls are written to PostgreSQL is in tests/db/test_ingest_polls.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from etl.ingest import fetch
from etl.ingest.fetch import Fetcher, FetchPolicy, FetchResult
from etl.ingest.parse import ParsedFeed
from etl.ingest.poll import DueFeed, FeedOutcome, PollResult
from etl.ingest.records import seconds_to_next_poll
from etl.settings import Settings
from models.enums import PollStatus

INTERVAL = 3600


@dataclass
class FeedServer:
    """Loopback feeds: ``/feed/<name>.xml`` answers conditional GETs; ``/plain/<name>.xml`` has no
    validators; a name in ``failing`` answers 500. Counts the connections it accepted."""

    base: str
    failing: set[str] = field(default_factory=set)
    connections: int = 0

    def url(self, name: str, kind: str = "feed") -> str:
        return f"{self.base}/{kind}/{name}.xml"


def rss(name: str) -> bytes:
    items = "".join(
        f"<item><title>{name} story {n}</title><guid>{name}-{n}</guid>"
        f"<link>http://news.example/{name}/{n}</link><description>Story {n} of {name}.</description></item>"
        for n in (1, 2)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {name}</title>{items}</channel></rss>'
    ).encode()


@contextmanager
def serve_feeds() -> Iterator[FeedServer]:
    """A :class:`FeedServer` on a loopback port, for as long as the block runs."""
    state = FeedServer(base="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def setup(self) -> None:
            state.connections += 1
            super().setup()

        def do_GET(self) -> None:
            kind, _, file = self.path.strip("/").partition("/")
            name = file.removesuffix(".xml")
            if name in state.failing:
                return self.answer(500, b"broken")
            headers = {"ETag": f'"{name}-v1"', "Last-Modified": "Mon, 20 Nov 2023 00:00:00 GMT"}
            if kind == "plain":
                headers = {}
            elif self.headers.get("If-None-Match") == headers["ETag"]:
                return self.answer(304, b"", headers)
            return self.answer(200, rss(name), {"Content-Type": "application/rss+xml", **headers})

        def answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    with serve_feeds() as state:
        yield state


# --- the record a poll leaves ----------------------------------------------------------------------


def polled(
    status: PollStatus,
    *,
    failures_before: int = 0,
    response: FetchResult | None = None,
    parsed: ParsedFeed | None = None,
) -> PollResult:
    feed = DueFeed(
        7, "http://news.example/rss", '"old"', "Sun, 19 Nov 2023 00:00:00 GMT", failures_before, False
    )
    outcome = FeedOutcome(feed.id, feed.url, status, http_status=response.status if response else None)
    return PollResult(feed, outcome, datetime.now(UTC), response, parsed, [])


@pytest.mark.parametrize(
    ("failures", "seconds"),
    [
        (0, 3600),  # a success: the poll interval
        (1, 7200),  # the first failure already waits twice the interval
        (2, 14400),
        (3, 28800),
        (4, 57600),
        (5, 86400),  # 115200 capped at max_backoff_seconds
        (6, 86400),
        (200, 86400),
    ],
)
def test_failures_in_a_row_back_off_by_doubling_up_to_the_cap(failures: int, seconds: int) -> None:
    settings = Settings(poll_interval_seconds=3600, max_backoff_seconds=86400)
    # the rule it replaced: min(interval * 2**failures, cap) after a failure, the interval otherwise
    assert seconds == (min(3600 * 2**failures, 86400) if failures else 3600)

    assert seconds_to_next_poll(settings, failures) == seconds
    if failures:  # the record of the failure that made it ``failures`` in a row
        record = polled(PollStatus.FAILED, failures_before=failures - 1).record(settings)
    else:
        record = polled(PollStatus.OK, failures_before=3).record(settings)
    assert record.failures == failures
    assert record.next_poll_at - record.polled_at == timedelta(seconds=seconds)


def test_a_failed_poll_keeps_no_validators_and_no_title() -> None:
    settings = Settings(poll_interval_seconds=INTERVAL)
    response = FetchResult("http://news.example/rss", 500, headers={"etag": '"new"'})
    record = polled(PollStatus.FAILED, failures_before=2, response=response).record(settings)

    assert (record.succeeded, record.failures, record.etag, record.last_modified, record.title) == (
        False,
        3,
        None,
        None,
        None,
    )
    assert record.fetch["status"] == "failed" and record.fetch["feed_id"] == 7


def test_a_304_without_validators_keeps_those_that_earned_it() -> None:
    settings = Settings(poll_interval_seconds=INTERVAL)
    response = FetchResult("http://news.example/rss", 304)
    record = polled(PollStatus.NOT_MODIFIED, failures_before=3, response=response).record(settings)

    assert (record.succeeded, record.failures) == (True, 0)
    assert (record.etag, record.last_modified) == ('"old"', "Sun, 19 Nov 2023 00:00:00 GMT")
    assert record.next_poll_at - record.polled_at == timedelta(seconds=INTERVAL)


def test_a_200_takes_its_own_validators_or_none_and_offers_its_title() -> None:
    settings = Settings(poll_interval_seconds=INTERVAL)
    parsed = ParsedFeed(title="Feed", language="en", entries=[], problem=None)
    bare = polled(PollStatus.OK, response=FetchResult("http://news.example/rss", 200), parsed=parsed)
    tagged = polled(
        PollStatus.OK,
        response=FetchResult("http://news.example/rss", 200, headers={"etag": '"new"'}),
        parsed=parsed,
    )

    assert (bare.record(settings).etag, bare.record(settings).last_modified) == (None, None)
    assert (tagged.record(settings).etag, tagged.record(settings).title) == ('"new"', "Feed")


# --- what keeps a tick of 304s cheap ---------------------------------------------------------------


def test_304s_from_one_host_reuse_one_connection(server: FeedServer) -> None:
    url = server.url("g0")
    with Fetcher(FetchPolicy(allowed_names=frozenset({"127.0.0.1"}))) as client:
        etag = client.get(url).headers["etag"]
        before = server.connections
        results = [client.get(url, etag=etag) for _ in range(5)]
    assert [r.status for r in results] == [304] * 5
    assert all(r.body == b"" for r in results)
    assert server.connections == before  # the connection of the first GET served them all


def test_fetchers_share_one_tls_context(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[int] = []
    real = httpx.create_ssl_context

    def counting(*args: object, **kwargs: object) -> object:
        built.append(1)
        return real()

    monkeypatch.setattr(httpx, "create_ssl_context", counting)
    fetch.tls_context.cache_clear()
    try:
        for _ in range(3):
            Fetcher(FetchPolicy()).close()
    finally:
        fetch.tls_context.cache_clear()
    assert len(built) == 1
