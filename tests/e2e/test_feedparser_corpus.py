"""The parse-and-store path (etl.ingest: parse_feed -> draft_from_entry -> store_feeds) over
feedparser's own well- and ill-formed test feeds and a set of real captured feeds, from ../shared/.

A rejected feed (FeedRejected) is a handled outcome; anything else escaping is a bug. Storing every
file's drafts a second time must add nothing. Hostile entries that break the store follow.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl.catalog import add_feeds
from etl.ingest.entries import MAX_KEY_BYTES, ArticleDraft, draft_from_entry
from etl.ingest.parse import FeedRejected, parse_feed
from etl.ingest.poll import ingest
from etl.ingest.store import store_feeds
from etl.seeds import FeedSeed
from etl.settings import Settings
from models import Article, Feed
from tests.conftest import shared_path

CORPUS_FEED = "http://127.0.0.1/corpus.xml"


@dataclass
class CorpusRun:
    files: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    stored: int = 0
    stored_again: int = 0
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"{self.files} files: {self.outcomes['ok']} ok, {self.outcomes['partial']} partial, "
            f"{self.outcomes['rejected']} rejected; {self.stored} articles stored"
        )


def corpus_feed(engine: Engine) -> int:
    add_feeds(engine, [FeedSeed(url=CORPUS_FEED)])
    with Session(engine) as session:
        feed_id = session.scalar(select(Feed.id).where(Feed.url == CORPUS_FEED))
    assert feed_id is not None
    return feed_id


def store_one_feed(session: Session, feed_id: int, drafts: list[ArticleDraft]) -> int:
    """``store_feeds`` with one feed's drafts: how many rows were new."""
    return store_feeds(session, [(feed_id, drafts)]).get(feed_id, 0)


def parse_and_store(engine: Engine, feed_id: int, root: Path) -> CorpusRun:
    run = CorpusRun()
    kept: list[tuple[Path, list[ArticleDraft]]] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        run.files += 1
        where = path.relative_to(root)
        try:
            parsed = parse_feed(path.read_bytes(), f"http://127.0.0.1/corpus/{where}", "application/xml")
        except FeedRejected:
            run.outcomes["rejected"] += 1
            continue
        except Exception as exc:
            run.errors.append(f"{where}: parse_feed: {type(exc).__name__}: {exc}")
            continue
        run.outcomes["partial" if parsed.problem else "ok"] += 1
        try:
            drafts = [d for d in (draft_from_entry(e, parsed.language) for e in parsed.entries) if d]
            with Session(engine) as session, session.begin():
                run.stored += store_one_feed(session, feed_id, drafts)
        except Exception as exc:
            run.errors.append(f"{where}: store: {type(exc).__name__}: {str(exc).splitlines()[0]}")
            continue
        kept.append((where, drafts))
    for where, drafts in kept:  # every write twice: a second store of the same drafts adds nothing
        with Session(engine) as session, session.begin():
            again = store_one_feed(session, feed_id, drafts)
        if again:
            run.errors.append(f"{where}: storing again added {again} rows")
        run.stored_again += again
    return run


def stored_articles(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Article)) or 0


def test_every_feedparser_test_file_parses_and_stores_without_an_unhandled_error(clean_db: Engine) -> None:
    root = shared_path("corpus", "feedparser-tests")
    run = parse_and_store(clean_db, corpus_feed(clean_db), root)
    print(run.line())
    assert run.errors == []
    assert run.files >= 2000
    assert sum(run.outcomes.values()) == run.files
    # ill-formed cases exist in the corpus: some must be partial, and they still give entries
    assert run.outcomes["partial"] > 100
    assert run.outcomes["ok"] > 1000
    assert run.stored > 0 and run.stored == stored_articles(clean_db)
    assert run.stored_again == 0


def test_real_captured_feeds_parse_and_store_without_an_unhandled_error(clean_db: Engine) -> None:
    root = shared_path("corpus", "feeds")
    run = parse_and_store(clean_db, corpus_feed(clean_db), root)
    print(run.line())
    assert run.errors == []
    assert run.files >= 150
    # these are real feeds: nearly all usable, and they carry thousands of stories
    assert run.outcomes["ok"] + run.outcomes["partial"] >= 0.8 * run.files
    assert run.stored >= 1000 and run.stored == stored_articles(clean_db)
    assert run.stored_again == 0


# --- hostile entries -------------------------------------------------------------------------------


def rss(item: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>hostile</title>'
        f"{item}</channel></rss>"
    ).encode()


def item(link: str, *, guid: str | None = None, title: str = "t") -> str:
    guid_element = f"<guid>{guid}</guid>" if guid else ""
    return f"<item><title>{title}</title><link>{link}</link>{guid_element}<description>d</description></item>"


def random_text(length: int, alphabet_start: int = 0x4E00) -> str:
    # deterministic but incompressible enough that PostgreSQL cannot squeeze it into a btree entry
    state = 12345
    chars = []
    for _ in range(length):
        state = (state * 1103515245 + 12345) % 2**31
        chars.append(chr(alphabet_start + state % 20000))
    return "".join(chars)


HOSTILE = {
    "nul-in-link": rss(item("http://example.com/a&#0;b")),
    "lone-surrogate-in-title": rss(item("http://example.com/s", title="&#xD800;x")),
    "link-longer-than-an-index-entry": rss(
        item("http://example.com/" + "".join(f"{ord(c):x}" for c in random_text(1500, 0x100)))
    ),
    "multibyte-guid-longer-than-an-index-entry": rss(item("http://example.com/g", guid=random_text(1999))),
}


def parse_and_store_bytes(engine: Engine, feed_id: int, body: bytes) -> int:
    parsed = parse_feed(body, "http://127.0.0.1/hostile.xml", "application/rss+xml")
    drafts = [d for d in (draft_from_entry(e, parsed.language) for e in parsed.entries) if d]
    with Session(engine) as session, session.begin():
        return store_one_feed(session, feed_id, drafts)


def test_an_ordinary_entry_stores_once(clean_db: Engine) -> None:
    feed_id = corpus_feed(clean_db)
    body = rss(item("http://example.com/fine"))
    assert parse_and_store_bytes(clean_db, feed_id, body) == 1
    assert parse_and_store_bytes(clean_db, feed_id, body) == 0


# What each hostile entry is stored as: (guid, url, canonical URL, title); None where it is
# a sha256 of what it replaces (a key too long for an index entry) or dropped (a canonical URL).
HOSTILE_STORED: dict[str, tuple[str | None, str | None, str | None, str]] = {
    "nul-in-link": (
        "http://example.com/a\ufffdb",
        "http://example.com/a\ufffdb",
        "https://example.com/a\ufffdb",
        "t",
    ),
    "lone-surrogate-in-title": (
        "http://example.com/s",
        "http://example.com/s",
        "https://example.com/s",
        "\ufffdx",
    ),
    "link-longer-than-an-index-entry": (None, None, None, "t"),
    "multibyte-guid-longer-than-an-index-entry": (None, "http://example.com/g", "https://example.com/g", "t"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_entry_is_stored_or_dropped_without_an_exception(clean_db: Engine, case: str) -> None:
    feed_id = corpus_feed(clean_db)

    assert parse_and_store_bytes(clean_db, feed_id, HOSTILE[case]) == 1
    assert parse_and_store_bytes(clean_db, feed_id, HOSTILE[case]) == 0

    with Session(clean_db) as session:
        (article,) = session.scalars(select(Article)).all()
    guid, url, canonical, title = HOSTILE_STORED[case]
    if guid is None:  # too long for an index entry: identified by the sha256 of the GUID it had
        assert article.guid.startswith("sha256:") and len(article.guid) == 71
    else:
        assert article.guid == guid
    if url is not None:
        assert article.url == url
    else:  # the absurdly long link is kept as it is, but not as a key
        assert article.url is not None and len(article.url.encode()) > MAX_KEY_BYTES
    assert (article.canonical_url, article.title) == (canonical, title)


class _Feeds(BaseHTTPRequestHandler):
    bodies: ClassVar[dict[str, bytes]] = {}

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = self.bodies.get(self.path)
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")


@pytest.fixture
def hostile_server() -> Iterator[str]:
    _Feeds.bodies = {
        "/good.xml": rss(item("http://example.com/good")),
        "/hostile.xml": HOSTILE["nul-in-link"],
    }
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Feeds)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_feed_with_a_hostile_entry_does_not_stop_the_others(
    clean_db: Engine, settings: Settings, hostile_server: str
) -> None:
    add_feeds(clean_db, [FeedSeed(url=f"{hostile_server}/{name}.xml") for name in ("hostile", "good")])
    quick = settings.with_changes(fetch_articles=False)
    summary = ingest(clean_db, quick, poll_all=True)
    by_url = {o.url.rsplit("/", 1)[1]: o for o in summary.outcomes}
    assert by_url["good.xml"].status == "ok" and by_url["good.xml"].new_items == 1
    # the reference to NUL becomes U+FFFD, and the entry is stored like any other
    assert by_url["hostile.xml"].status == "ok" and by_url["hostile.xml"].new_items == 1
    with Session(clean_db) as session:
        links = session.scalars(select(Article.url)).all()
    assert "http://example.com/a\ufffdb" in links and not any("\x00" in (link or "") for link in links)
