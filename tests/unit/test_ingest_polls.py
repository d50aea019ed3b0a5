"""etl.ingest.poll: how polls are recorded (a tick of 304s is one commit, not one per feed; failures and
feeds without validators recorded in that batch keep their promises), and etl.ingest.fetch's share in
keeping such a tick cheap (a 304 keeps its connection; one TLS context per process).

Real PostgreSQL (the session's test database, emptied) and real HTTP on loopback.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl.catalog import add_feeds
from etl.ingest import fetch
from etl.ingest.fetch import Fetcher, FetchPolicy
from etl.ingest.poll import IngestSummary, due_feeds, ingest, poll_feed
from etl.seeds import FeedSeed
from etl.settings import Settings
from models import Article, Feed, FeedFetch

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


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
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


@pytest.fixture
def quick(settings: Settings) -> Settings:
    return settings.with_changes(fetch_articles=False, poll_interval_seconds=INTERVAL)


@pytest.fixture
def commits(clean_db: Engine) -> Iterator[list[int]]:
    """One entry per COMMIT the engine sends while the test runs."""
    seen: list[int] = []

    def count(*_args: object) -> None:
        seen.append(1)

    event.listen(clean_db, "commit", count)
    yield seen
    event.remove(clean_db, "commit", count)


def statuses(summary: IngestSummary) -> list[str]:
    return [o.status for o in summary.outcomes]


def feed_row(engine: Engine, url: str) -> Feed:
    with Session(engine) as session:
        return session.scalars(select(Feed).where(Feed.url == url)).one()


def fetch_rows(engine: Engine, url: str) -> list[FeedFetch]:
    with Session(engine) as session:
        return list(
            session.scalars(select(FeedFetch).join(Feed).where(Feed.url == url).order_by(FeedFetch.id))
        )


def test_a_tick_of_304s_is_recorded_in_one_commit(
    clean_db: Engine, quick: Settings, server: FeedServer, commits: list[int]
) -> None:
    urls = [server.url(f"a{n}") for n in range(6)]
    add_feeds(clean_db, [FeedSeed(url=u) for u in urls])
    first = ingest(clean_db, quick, poll_all=True)
    assert statuses(first) == ["ok"] * 6 and first.new_articles == 12
    before = {u: feed_row(clean_db, u) for u in urls}

    commits.clear()
    again = ingest(clean_db, quick, poll_all=True)

    assert statuses(again) == ["not_modified"] * 6
    assert len(commits) == 1
    for url in urls:
        feed = feed_row(clean_db, url)
        polls = fetch_rows(clean_db, url)
        assert [(p.status, p.http_status, p.new_items) for p in polls] == [
            ("ok", 200, 2),
            ("not_modified", 304, 0),
        ]
        assert (feed.last_status, feed.last_http_status, feed.last_error) == ("not_modified", 304, None)
        assert (feed.etag, feed.last_modified) == (before[url].etag, before[url].last_modified)
        assert feed.title == before[url].title == f"Feed {url.rsplit('/', 1)[1].removesuffix('.xml')}"
        assert feed.consecutive_failures == 0
        assert feed.last_polled_at is not None and feed.next_poll_at is not None
        assert feed.last_success_at == feed.last_polled_at > before[url].last_polled_at
        assert feed.next_poll_at - feed.last_polled_at == timedelta(seconds=INTERVAL)
        # the record carries the poll's own start, not the time the batch was written
        assert polls[1].started_at <= feed.last_polled_at


def test_a_tick_stores_articles_per_feed_and_records_the_rest_together(
    clean_db: Engine, quick: Settings, server: FeedServer, commits: list[int]
) -> None:
    old = [server.url(f"b{n}") for n in range(3)]
    add_feeds(clean_db, [FeedSeed(url=u) for u in old])
    ingest(clean_db, quick, poll_all=True)
    new = [server.url(f"c{n}") for n in range(2)]
    add_feeds(clean_db, [FeedSeed(url=u) for u in new])

    commits.clear()
    summary = ingest(clean_db, quick, poll_all=True)

    by_url = {o.url: o for o in summary.outcomes}
    assert [by_url[u].status for u in old] == ["not_modified"] * 3
    assert [(by_url[u].status, by_url[u].new_items) for u in new] == [("ok", 2)] * 2
    assert len(commits) == len(new) + 1  # each feed's articles, then the 304s together
    with Session(clean_db) as session:
        assert session.scalar(select(func.count()).select_from(FeedFetch)) == 2 * len(old) + len(new)
        assert session.scalar(select(func.count()).select_from(Article)) == 2 * (len(old) + len(new))


def test_failures_recorded_in_a_batch_back_off_and_keep_validators_and_last_success(
    clean_db: Engine, quick: Settings, server: FeedServer
) -> None:
    urls = [server.url("d0"), server.url("d1")]
    add_feeds(clean_db, [FeedSeed(url=u) for u in urls])
    ingest(clean_db, quick, poll_all=True)
    healthy = feed_row(clean_db, urls[0])
    server.failing.add("d0")
    try:
        for failures in (1, 2):
            summary = ingest(clean_db, quick, poll_all=True)
            assert statuses(summary) == ["failed", "not_modified"]
            feed = feed_row(clean_db, urls[0])
            assert (feed.last_status, feed.last_http_status) == ("failed", 500)
            assert feed.last_error is not None and feed.last_error.startswith("HTTP 500")
            assert feed.consecutive_failures == failures
            backoff = feed.next_poll_at - feed.last_polled_at
            assert backoff == timedelta(seconds=INTERVAL * 2**failures)
            assert (feed.etag, feed.last_modified, feed.title) == (
                healthy.etag,
                healthy.last_modified,
                healthy.title,
            )
            assert feed.last_success_at == healthy.last_success_at
        assert [p.status for p in fetch_rows(clean_db, urls[0])] == ["ok", "failed", "failed"]
    finally:
        server.failing.discard("d0")

    recovered = ingest(clean_db, quick, poll_all=True)  # the validators it kept earn a 304 again
    assert statuses(recovered) == ["not_modified", "not_modified"]
    assert feed_row(clean_db, urls[0]).consecutive_failures == 0


def test_a_batch_of_polls_that_got_no_answer_at_all_is_recorded(clean_db: Engine, quick: Settings) -> None:
    with socket.socket() as sock:  # a port nobody listens on: no HTTP status to record
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    urls = [f"http://127.0.0.1:{closed}/h{n}.xml" for n in range(2)]
    add_feeds(clean_db, [FeedSeed(url=u) for u in urls])

    summary = ingest(clean_db, quick, poll_all=True)

    assert statuses(summary) == ["failed", "failed"]
    for url in urls:
        feed = feed_row(clean_db, url)
        assert (feed.last_status, feed.last_http_status, feed.consecutive_failures) == ("failed", None, 1)
        assert feed.last_error is not None and feed.last_error.startswith("connection failed")
        assert (feed.etag, feed.last_success_at) == (None, None)
        assert [(p.status, p.http_status) for p in fetch_rows(clean_db, url)] == [("failed", None)]


def test_a_feed_without_validators_bringing_nothing_new_is_recorded_with_the_batch(
    clean_db: Engine, quick: Settings, server: FeedServer, commits: list[int]
) -> None:
    url = server.url("e0", kind="plain")
    add_feeds(clean_db, [FeedSeed(url=url)])
    ingest(clean_db, quick, poll_all=True)
    with Session(clean_db) as session, session.begin():
        session.execute(update(Feed).where(Feed.url == url).values(title=None))

    commits.clear()
    summary = ingest(clean_db, quick, poll_all=True)

    assert [(o.status, o.entries, o.new_items) for o in summary.outcomes] == [("ok", 2, 0)]
    assert len(commits) == 1
    feed = feed_row(clean_db, url)
    assert (feed.etag, feed.last_modified) == (None, None)
    assert feed.title == "Feed e0"  # a feed without a title takes the one it serves
    assert feed.last_success_at == feed.last_polled_at


def test_poll_feed_on_its_own_records_its_poll(clean_db: Engine, quick: Settings, server: FeedServer) -> None:
    url = server.url("f0")
    add_feeds(clean_db, [FeedSeed(url=url)])
    ingest(clean_db, quick, poll_all=True)
    with Session(clean_db) as session:
        [due] = due_feeds(session, datetime.now(UTC), poll_all=True)
    with Fetcher(FetchPolicy.from_settings(quick)) as client:
        outcome = poll_feed(clean_db, client, quick, due)
    assert outcome.status == "not_modified"
    assert [p.status for p in fetch_rows(clean_db, url)] == ["ok", "not_modified"]


def test_304s_from_one_host_reuse_one_connection(server: FeedServer, quick: Settings) -> None:
    url = server.url("g0")
    with Fetcher(FetchPolicy.from_settings(quick)) as client:
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
    fetch._tls_context.cache_clear()
    try:
        for _ in range(3):
            Fetcher(FetchPolicy()).close()
    finally:
        fetch._tls_context.cache_clear()
    assert len(built) == 1
