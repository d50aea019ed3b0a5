"""etl.ingest.poll.ingest against PostgreSQL: how polls are recorded (a tick of 304s is one commit, not
one per feed; failures and feeds without validators recorded in that batch keep their promises), and
what a poll of a feed longer than ``max_entries_per_poll`` stores and records.

Real PostgreSQL (the session's test database, emptied) and real HTTP on loopback.
"""

from __future__ import annotations

import email.utils
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl.catalog import add_feeds
from etl.ingest.fetch import Fetcher, FetchPolicy
from etl.ingest.poll import IngestSummary, ingest
from etl.seeds import FeedSeed
from etl.settings import Settings
from models import Article, Feed, FeedFetch
from tests.receivers import serve_body
from tests.unit.test_ingest_polls import FeedServer, serve_feeds

INTERVAL = 3600


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    with serve_feeds() as state:
        yield state


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


def test_a_tick_of_chosen_feeds_records_their_polls_only(
    clean_db: Engine, quick: Settings, server: FeedServer
) -> None:
    urls = [server.url("f0"), server.url("f1")]
    add_feeds(clean_db, [FeedSeed(url=u) for u in urls])
    ingest(clean_db, quick, poll_all=True)
    chosen = feed_row(clean_db, urls[0]).id

    with Fetcher(FetchPolicy.from_settings(quick)) as client:
        summary = ingest(clean_db, quick, poll_all=True, fetcher=client, feed_ids=[chosen])
        assert client.get(urls[1]).status == 200  # the caller's fetcher is left open

    assert [(o.feed_id, o.status) for o in summary.outcomes] == [(chosen, "not_modified")]
    assert [p.status for p in fetch_rows(clean_db, urls[0])] == ["ok", "not_modified"]
    assert [p.status for p in fetch_rows(clean_db, urls[1])] == ["ok"]


# --- a feed longer than a poll reads (issue 16, item 8) ---------------------------------------------


def test_a_huge_feed_stores_only_its_newest_entries_and_records_how_many_it_skipped(
    clean_db: Engine, quick: Settings
) -> None:
    served, limit = 20_000, 50
    start = datetime(2023, 11, 1, tzinfo=UTC)
    # dates in a scrambled order, so that the newest are not simply the first in the document
    minutes = [(n * 7919) % served for n in range(served)]
    items = "".join(
        f"<item><guid isPermaLink='false'>g{n}</guid><title>story {n}</title>"
        f"<pubDate>{email.utils.format_datetime(start + timedelta(minutes=m))}</pubDate></item>"
        for n, m in enumerate(minutes)
    )
    body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Huge</title>{items}</channel></rss>'
    newest = {f"g{n}" for n, m in enumerate(minutes) if m >= served - limit}
    capped = quick.with_changes(max_entries_per_poll=limit)
    note = f"{served - limit} older entries skipped: a poll reads the newest {limit}"

    with serve_body(body.encode()) as url:
        add_feeds(clean_db, [FeedSeed(url=url)])
        first = ingest(clean_db, capped, poll_all=True)
        again = ingest(clean_db, capped, poll_all=True)

    [outcome] = first.outcomes
    assert (outcome.status, outcome.entries, outcome.new_items) == ("partial", served, limit)
    assert outcome.error is not None and outcome.error.startswith(note)
    assert [(o.status, o.entries, o.new_items) for o in again.outcomes] == [("partial", served, 0)]
    with Session(clean_db) as session:
        assert set(session.scalars(select(Article.guid))) == newest
    polls = fetch_rows(clean_db, url)
    assert [(p.status, p.entries, p.new_items) for p in polls] == [
        ("partial", served, limit),
        ("partial", served, 0),
    ]
    assert all(p.error == outcome.error for p in polls)
    assert feed_row(clean_db, url).last_error == outcome.error
