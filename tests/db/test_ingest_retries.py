"""A mapped ingest batch under retries, as ``parley_ingest``'s ``ingest_batch`` task runs it
(:func:`etl.stages.ingest` with ``feed_ids``): run twice, retried after its process was killed in the
middle, or run twice at once (a worker presumed lost while it still runs), it stores every article
once and leaves exactly one poll record (``feed_fetches`` row) per feed, and loses none.

Real PostgreSQL (the session's test database, emptied) and real HTTP on loopback; the crash is a
SIGKILL to a real process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from etl import stages
from etl.catalog import add_feeds
from etl.seeds import FeedSeed
from etl.settings import Settings
from models import Article, FeedFetch
from tests.conftest import REPO, cli_env_for

NEWS, QUIET = ["n1", "n2", "n3"], ["q1", "q2", "q3"]  # feeds with two stories each, and empty ones
ITEMS_PER_FEED = 2


@dataclass
class Feeds:
    """Loopback feeds: ``/<name>.xml``, two stories for a name starting with ``n``, none otherwise.
    Requests are counted per name; a name in ``held`` is answered only once ``release`` is set; with
    ``pairs``, each feed is answered only when two requests for it have arrived (two runs of one batch
    overlapping for sure)."""

    base: str = ""
    requests: Counter[str] = field(default_factory=Counter)
    held: set[str] = field(default_factory=set)
    release: threading.Event = field(default_factory=threading.Event)
    pairs: bool = False
    barriers: dict[str, threading.Barrier] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, name: str) -> str:
        return f"{self.base}/{name}.xml"


def rss(name: str) -> bytes:
    count = ITEMS_PER_FEED if name.startswith("n") else 0
    items = "".join(
        f"<item><title>{name} story {n}</title><guid>{name}-{n}</guid>"
        f"<link>http://news.example/{name}/{n}</link><description>Story {n} of {name}.</description></item>"
        for n in range(1, count + 1)
    )
    channel = f"<channel><title>{name}</title>{items}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


@contextmanager
def serve(feeds: Feeds) -> Iterator[Feeds]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            name = self.path.strip("/").removesuffix(".xml")
            with feeds.lock:
                feeds.requests[name] += 1
                barrier = feeds.barriers.setdefault(name, threading.Barrier(2, timeout=20))
            if name in feeds.held:
                feeds.release.wait(timeout=60)
            if feeds.pairs:
                barrier.wait()
            body = rss(name)
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("ETag", f'"{name}"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    feeds.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield feeds
    finally:
        feeds.release.set()
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def quick(settings: Settings) -> Settings:
    return settings.with_changes(fetch_articles=False, total_timeout=30.0)


def register(engine: Engine, feeds: Feeds, names: list[str]) -> dict[str, int]:
    add_feeds(engine, [FeedSeed(url=feeds.url(name)) for name in names])
    with engine.connect() as conn:
        ids = dict(conn.execute(text("SELECT url, id FROM feeds")).all())
    return {name: int(ids[feeds.url(name)]) for name in names}


def polls_per_feed(engine: Engine) -> dict[int, int]:
    with engine.connect() as conn:
        return dict(conn.execute(select(FeedFetch.feed_id, func.count()).group_by(FeedFetch.feed_id)).all())


def article_guids(engine: Engine) -> list[str]:
    """The stored articles' GUIDs as the feeds wrote them (feedparser resolves them against the feed's
    address)."""
    with engine.connect() as conn:
        return sorted(guid.rsplit("/", 1)[-1] for guid in conn.scalars(select(Article.guid)))


EVERY_STORY = sorted(f"{name}-{n}" for name in NEWS for n in range(1, ITEMS_PER_FEED + 1))


def test_a_batch_run_twice_stores_each_article_once_and_records_each_poll_once(
    clean_db: Engine, quick: Settings
) -> None:
    with serve(Feeds()) as feeds:
        ids = register(clean_db, feeds, NEWS + QUIET)
        batch = sorted(ids.values())
        first = stages.ingest(clean_db, quick, feed_ids=batch)
        again = stages.ingest(clean_db, quick, feed_ids=batch)
    assert first.new_articles == len(EVERY_STORY) and len(first.outcomes) == len(batch)
    assert again.outcomes == []  # none of its feeds is due any more: nothing polled, nothing written
    assert article_guids(clean_db) == EVERY_STORY
    assert polls_per_feed(clean_db) == dict.fromkeys(batch, 1)
    assert set(feeds.requests.values()) == {1}


_BATCH_IN_A_PROCESS = """
import sys
from etl import db, stages
from etl.settings import load_settings
settings = load_settings()
with db.engine_for(settings) as engine:
    stages.ingest(engine, settings, feed_ids=[int(i) for i in sys.argv[1:]])
"""


def test_a_batch_killed_in_the_middle_then_retried_loses_nothing_and_stores_nothing_twice(
    database_url: str, clean_db: Engine, quick: Settings
) -> None:
    with serve(Feeds(held={"q3"})) as feeds:
        ids = register(clean_db, feeds, NEWS + QUIET)
        batch = sorted(ids.values())
        env = cli_env_for(database_url, TOTAL_TIMEOUT="60", FETCH_ARTICLES="false")
        crashed = subprocess.Popen(
            [sys.executable, "-c", _BATCH_IN_A_PROCESS, *map(str, batch)], env=env, cwd=REPO
        )
        try:
            # in the middle: the feeds with news stored with their records, q3 still unanswered
            deadline = time.monotonic() + 60
            while article_guids(clean_db) != EVERY_STORY or feeds.requests["q3"] == 0:
                assert crashed.poll() is None, "the batch ended before it was killed"
                assert time.monotonic() < deadline, "the batch did not store its news within 60 s"
                time.sleep(0.1)
            os.kill(crashed.pid, signal.SIGKILL)
        finally:
            crashed.kill()
            crashed.wait()
        stored_before_the_crash = polls_per_feed(clean_db)
        feeds.release.set()
        retried = stages.ingest(clean_db, quick, feed_ids=batch)

    assert stored_before_the_crash == {ids[name]: 1 for name in NEWS}  # the quiet polls were not yet written
    assert sorted(o.feed_id for o in retried.outcomes) == sorted(ids[name] for name in QUIET)
    assert retried.new_articles == 0
    assert article_guids(clean_db) == EVERY_STORY
    assert polls_per_feed(clean_db) == dict.fromkeys(batch, 1)
    # the feeds stored before the crash were not asked again; the others were, once
    assert feeds.requests == {**dict.fromkeys(NEWS, 1), **dict.fromkeys(QUIET, 2)}


def test_two_runs_of_one_batch_at_once_record_each_poll_once(clean_db: Engine, quick: Settings) -> None:
    """A worker presumed lost goes on running its batch while the retry runs it too: both read the
    same feeds as due and poll them (each feed is answered only once both runs have asked for it), but
    only the first poll of a feed to be written is kept."""
    with serve(Feeds(pairs=True)) as feeds:
        ids = register(clean_db, feeds, NEWS + QUIET)
        batch = sorted(ids.values())
        with ThreadPoolExecutor(2) as pool:
            runs = list(pool.map(lambda _: stages.ingest(clean_db, quick, feed_ids=batch), range(2)))
    assert all(len(run.outcomes) == len(batch) for run in runs)  # both polled every feed
    assert set(feeds.requests.values()) == {2}
    assert article_guids(clean_db) == EVERY_STORY
    assert polls_per_feed(clean_db) == dict.fromkeys(batch, 1)
    assert sum(run.new_articles for run in runs) == len(EVERY_STORY)
    with clean_db.connect() as conn:
        recorded = conn.scalar(select(func.sum(FeedFetch.new_items)))
    assert recorded == len(EVERY_STORY)
