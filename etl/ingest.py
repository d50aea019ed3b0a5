"""Ingestion: poll due feeds, parse them, fetch article pages, de-duplicate and store articles.

Identity of an article (the de-duplication contract, also in the README):

1. the same feed and GUID is the same article (a feed re-listing an item adds nothing);
2. the same canonical URL (see :func:`etl.urls.canonical_url`) is the same article, from any feed;
3. the same content (sha256 of the normalised main text) under another URL is a *different* row,
   stored again with ``duplicate_of`` pointing at the first copy: other outlets repeating a story
   matter for corroboration later.

Each feed's articles are written in their own transaction, with the record of the poll; polls that
bring nothing to store (a 304, a failure) are recorded in batches. A failing feed is a ``feed_fetches``
row with a one-line reason and backs off exponentially, and never stops the others.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import re
import time
import zlib
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
from sqlalchemy import (
    Boolean,
    DateTime,
    Integer,
    LargeBinary,
    Text,
    and_,
    bindparam,
    case,
    cast,
    column,
    func,
    insert,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from etl.fetch import PAGE_ACCEPT, Fetcher, FetchError, FetchPolicy, FetchResult
from etl.settings import Settings
from etl.text import extract_main_text, html_language, strip_tags
from etl.urls import canonical_url
from models import Article, Feed, FeedFetch

# A DOCTYPE that declares entities is how entity-expansion bombs are built; real feeds do not.
MAX_KEY_BYTES = 2000  # B-tree entries are limited to ~2700 bytes; real GUIDs and URLs are far shorter
STORE_LOCK_KEY = 0x7061726C6579  # "parley": the advisory lock that serialises article stores
RECORDS_PER_WRITE = 100  # records of polls that stored nothing, written in one transaction
CHAR_REF = re.compile(rb"&#([xX][0-9a-fA-F]{1,8}|[0-9]{1,10});")
ENTITY_DECLARATION = re.compile(rb"<!DOCTYPE[^>\[]*\[[^\]]*<!ENTITY", re.IGNORECASE | re.DOTALL)


@dataclass
class ParsedFeed:
    title: str | None
    language: str | None
    entries: list[Any]
    problem: str | None
    """Why the feed is only partly usable (kept entries anyway), or None."""


class FeedRejected(Exception):
    """The body is not a usable feed; the message is a one-line reason."""


def parse_feed(body: bytes, url: str, content_type: str = "") -> ParsedFeed:
    """Parse fetched bytes with feedparser (which never fetches anything itself here).

    Bozo feeds keep their good entries and carry the problem; a body with no feed at all, or an
    entity bomb, is rejected.
    """
    if ENTITY_DECLARATION.search(body[:65536]):
        raise FeedRejected("refused: XML declares entities (possible entity-expansion bomb)")
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    body = CHAR_REF.sub(_safe_char_ref, body)
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=True, resolve_relative_uris=True)
    entries = list(parsed.entries)
    problem = None
    if parsed.bozo:
        exc = parsed.get("bozo_exception")
        problem = _bozo_reason(exc)
    if not parsed.version and not entries:
        kind = content_type.split(";")[0].strip() or "unknown content type"
        raise FeedRejected(f"not a feed: no RSS/Atom/RDF document found ({kind})")
    if problem and not entries and not parsed.feed.get("title"):
        raise FeedRejected(f"unusable feed: {problem}")
    feed = parsed.feed
    return ParsedFeed(
        title=strip_tags(feed.get("title", "")) or None,
        language=_primary_language(feed.get("language")),
        entries=entries,
        problem=problem,
    )


def _safe_char_ref(match: re.Match[bytes]) -> bytes:
    """A numeric character reference to NUL, a surrogate or past U+10FFFF becomes U+FFFD: feedparser
    would otherwise build strings that cannot be encoded (and raise) or stored."""
    digits = match.group(1)
    try:
        code = int(digits[1:], 16) if digits[:1] in (b"x", b"X") else int(digits)
    except ValueError:
        return match.group(0)
    if code == 0 or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
        return b"&#xFFFD;"
    return match.group(0)


def _bozo_reason(exc: object) -> str:
    name = type(exc).__name__
    if name == "CharacterEncodingOverride":
        return f"wrong declared encoding: {exc}"
    if name == "NonXMLContentType":
        return f"not served as XML: {exc}"
    if name == "SAXParseException":
        return f"malformed XML: {exc}"
    return f"{name}: {_one_line(exc)}" if isinstance(exc, BaseException) else name


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _primary_language(tag: object) -> str | None:
    if not isinstance(tag, str) or not tag.strip():
        return None
    primary = re.split(r"[-_]", tag.strip().lower())[0]
    return primary[:16] if primary.isalpha() else None


@dataclass
class ArticleDraft:
    """A feed entry, normalised, before its page is fetched."""

    guid: str
    url: str | None
    canonical_url: str | None
    title: str
    summary: str
    published_at: datetime | None
    language: str | None
    raw_entry: dict[str, Any]
    text: str = ""
    text_source: str = "summary"
    page_status: str | None = None
    raw_html: bytes | None = None

    @property
    def content_hash(self) -> str:
        return content_hash(self.title, self.text)


def content_hash(title: str, text: str) -> str:
    """sha256 of the normalised main text (the title when there is no text)."""
    basis = text if text.strip() else title
    normal = re.sub(r"\s+", " ", basis).strip().casefold()
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


def clean_text(value: object) -> str:
    """A string PostgreSQL will store: no NUL characters, no lone surrogates."""
    if not isinstance(value, str):
        return ""
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def draft_from_entry(entry: Any, feed_language: str | None) -> ArticleDraft | None:
    """Normalise one feedparser entry; None when it has nothing to identify it by."""
    link = clean_text(entry.get("link")).strip() or None
    title = clean_text(strip_tags(clean_text(entry.get("title", ""))))
    summary = clean_text(strip_tags(clean_text(entry.get("summary", "") or _first_content(entry))))
    guid = clean_text(entry.get("id")).strip() or link or ""
    if not guid:
        if not title and not summary:
            return None
        guid = "sha256:" + content_hash(title, summary)
    if len(guid.encode()) > MAX_KEY_BYTES:  # keys must fit a B-tree index entry
        guid = "sha256:" + hashlib.sha256(guid.encode()).hexdigest()
    canonical = canonical_url(link) if link else None
    if canonical is not None and len(canonical.encode()) > MAX_KEY_BYTES:
        canonical = None  # an absurdly long URL: identified by feed and GUID only
    published = _entry_time(entry)
    return ArticleDraft(
        guid=guid,
        url=link,
        canonical_url=canonical,
        title=title,
        summary=summary,
        published_at=published,
        language=_primary_language(entry.get("language")) or feed_language,
        raw_entry=_jsonable(entry),
        text=summary,
        text_source="summary" if summary else "title",
    )


def _first_content(entry: Any) -> str:
    for content in entry.get("content", []) or []:
        value = content.get("value")
        if value:
            return str(value)
    return ""


def _entry_time(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed:
            try:
                return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
            except (OverflowError, ValueError, OSError):
                continue
    return None


def _jsonable(value: Any) -> Any:
    """The entry as plain JSON (feedparser dicts hold struct_time and bytes)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items() if not str(k).endswith("_parsed")}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, int | float | bool) or value is None:
        return value
    if isinstance(value, bytes):
        return clean_text(value.decode("utf-8", "replace"))
    return clean_text(str(value))


def fill_from_page(draft: ArticleDraft, fetcher: Fetcher) -> None:
    """Fetch the article page and take its main text; on any failure keep the feed summary."""
    if not draft.url:
        draft.page_status = "no link"
        return
    try:
        page = fetcher.get(draft.url, accept=PAGE_ACCEPT)
    except FetchError as exc:
        draft.page_status = f"page not fetched: {exc}"
        return
    kind = page.content_type.split(";")[0].strip().lower()
    if kind and "html" not in kind and "xml" not in kind:
        draft.page_status = f"page is {kind}, not HTML"
        return
    markup = _decode_page(page)
    text = extract_main_text(markup, url=page.url)
    draft.raw_html = zlib.compress(page.body, 6)
    draft.language = (
        html_language(markup) or _primary_language(page.headers.get("content-language")) or (draft.language)
    )
    if not text:
        draft.page_status = "page has no main text"
        return
    first, _, rest = text.partition("\n")
    if rest and first.strip() == draft.title.strip():  # the page repeats the headline as its <h1>
        text = rest.strip()
    draft.text = text
    draft.text_source = "page"


def _decode_page(page: FetchResult) -> str:
    match = re.search(r"charset=([\w.:-]+)", page.content_type, re.IGNORECASE)
    if match:
        try:
            return page.body.decode(match.group(1), "replace")
        except LookupError:
            pass
    return page.body.decode("utf-8", "replace")


# --- storing -------------------------------------------------------------------------------------

_articles = Article.metadata.tables["articles"]


def _unnested(name: str, columns: Sequence[tuple[str, Any]], ordinality: str | None = None) -> Any:
    """``unnest`` of one array parameter per column, as a table: a batch of rows in a statement of
    fixed text, compiled once, and index probes per row (an ``IN`` list of 50 keys is estimated at a
    quarter of a table without statistics, and read as a sequential scan)."""
    arrays = (cast(bindparam(column_name), ARRAY(kind)) for column_name, kind in columns)
    columns_out = (column(column_name, kind) for column_name, kind in columns)
    return (
        func.unnest(*arrays).table_valued(*columns_out, with_ordinality=ordinality).render_derived(name=name)
    )


_listed_guids = _unnested("listed_guids", [("guids", Text)])
_listed_urls = _unnested("listed_urls", [("urls", Text)])
_KNOWN_DRAFTS = union_all(
    select(_articles.c.feed_id, _articles.c.guid, _articles.c.canonical_url).join_from(
        _listed_guids,
        _articles,
        and_(_articles.c.feed_id == bindparam("feed_id"), _articles.c.guid == _listed_guids.c.guids),
    ),
    select(_articles.c.feed_id, _articles.c.guid, _articles.c.canonical_url).join_from(
        _listed_urls, _articles, _articles.c.canonical_url == _listed_urls.c.urls
    ),
)

# What a draft brings to its row, one array per column (see _draft_columns).
_DRAFT_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("guid", Text),
    ("url", Text),
    ("canonical_url", Text),
    ("title", Text),
    ("summary", Text),
    ("text", Text),
    ("text_source", Text),
    ("language", Text),
    ("published_at", DateTime(timezone=True)),
    ("content_hash", Text),
    ("page_status", Text),
    ("raw_entry", JSONB),
    ("raw_html", LargeBinary),
)
_drafts = _unnested("drafts", _DRAFT_COLUMNS, ordinality="position")
_stored = _articles.alias("stored")
# The first stored copy of the same content. GROUP BY keeps PostgreSQL from answering min(id) by
# walking the primary key until a row matches, which reads the whole table for content never seen.
_first_copy = (
    select(func.min(_stored.c.id))
    .where(_stored.c.content_hash == _drafts.c.content_hash)
    .group_by(_stored.c.content_hash)
    .scalar_subquery()
)
_INSERT_DRAFTS = (
    pg_insert(_articles)
    .from_select(
        ["feed_id", *(name for name, _ in _DRAFT_COLUMNS), "duplicate_of"],
        select(
            cast(bindparam("feed_id"), Integer),
            *(_drafts.c[name] for name, _ in _DRAFT_COLUMNS),
            _first_copy,
        ).order_by(_drafts.c.position),
    )
    .on_conflict_do_nothing()
)
_STORE_LOCK = select(func.pg_advisory_xact_lock(STORE_LOCK_KEY))


def unseen_drafts(session: Session, feed_id: int, drafts: Sequence[ArticleDraft]) -> list[ArticleDraft]:
    """Drop drafts already stored (same feed+GUID or same canonical URL) or repeated in the batch."""
    if not drafts:
        return []
    known = session.execute(
        _KNOWN_DRAFTS,
        {
            "feed_id": feed_id,
            "guids": [d.guid for d in drafts],
            "urls": [d.canonical_url for d in drafts if d.canonical_url],
        },
    ).all()
    known_guids = {guid for feed, guid, _ in known if feed == feed_id}
    known_urls = {url for _, _, url in known if url}
    fresh: list[ArticleDraft] = []
    for draft in drafts:
        if draft.guid in known_guids or (draft.canonical_url and draft.canonical_url in known_urls):
            continue
        known_guids.add(draft.guid)
        if draft.canonical_url:
            known_urls.add(draft.canonical_url)
        fresh.append(draft)
    return fresh


def store_articles(session: Session, feed_id: int, drafts: Sequence[ArticleDraft]) -> int:
    """Insert drafts in bulk; returns how many rows were new. Idempotent by the unique keys.

    A draft whose content is already stored gets ``duplicate_of``, the first stored copy, from the
    insert itself. Copies of content that first arrives in this batch go in a second statement, which
    sees the first copies the first one stored.
    """
    if not drafts:
        return 0
    # Feeds are stored from several threads (and maybe processes) at once; without this lock two
    # copies of one story arriving together would both look like the first copy. Held until commit,
    # it also makes articles commit in id order, which etl.claims.read_through relies on.
    session.execute(_STORE_LOCK)
    first_copies: list[tuple[ArticleDraft, str]] = []
    later_copies: list[tuple[ArticleDraft, str]] = []
    seen: set[str] = set()
    for draft in drafts:
        digest = draft.content_hash  # sha256 of the whole text: computed once
        (later_copies if digest in seen else first_copies).append((draft, digest))
        seen.add(digest)
    inserted = 0
    for batch in (first_copies, later_copies):
        if batch:
            result = session.execute(_INSERT_DRAFTS, _draft_columns(feed_id, batch))
            inserted += result.rowcount  # type: ignore[attr-defined]
    return inserted


def _draft_columns(feed_id: int, drafts: Sequence[tuple[ArticleDraft, str]]) -> dict[str, Any]:
    """The parameters of :data:`_INSERT_DRAFTS`: the feed, and one list per column of the drafts."""
    return {
        "feed_id": feed_id,
        "guid": [d.guid for d, _ in drafts],
        "url": [d.url for d, _ in drafts],
        "canonical_url": [d.canonical_url for d, _ in drafts],
        "title": [d.title for d, _ in drafts],
        "summary": [d.summary for d, _ in drafts],
        "text": [d.text for d, _ in drafts],
        "text_source": [d.text_source for d, _ in drafts],
        "language": [d.language for d, _ in drafts],
        "published_at": [d.published_at for d, _ in drafts],
        "content_hash": [digest for _, digest in drafts],
        "page_status": [d.page_status for d, _ in drafts],
        # psycopg2 sends text; the statement casts it to jsonb
        "raw_entry": [json.dumps(d.raw_entry, ensure_ascii=False) for d, _ in drafts],
        "raw_html": [d.raw_html for d, _ in drafts],
    }


# --- polling -------------------------------------------------------------------------------------


@dataclass
class FeedOutcome:
    feed_id: int
    url: str
    status: str
    """ok | not_modified | partial | failed"""
    http_status: int | None = None
    entries: int = 0
    new_items: int = 0
    bytes: int = 0
    error: str | None = None
    duration_ms: int = 0


@dataclass
class IngestSummary:
    outcomes: list[FeedOutcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def new_articles(self) -> int:
        return sum(o.new_items for o in self.outcomes)

    def line(self) -> str:
        return (
            f"{len(self.outcomes)} feeds polled: {self.count('ok')} ok, {self.count('partial')} partial, "
            f"{self.count('not_modified')} not modified, {self.count('failed')} failed; "
            f"{self.new_articles} new articles"
        )


@dataclass(frozen=True)
class _FeedToPoll:
    id: int
    url: str
    etag: str | None
    last_modified: str | None
    consecutive_failures: int
    has_title: bool


def due_feeds(
    session: Session, now: datetime, *, poll_all: bool = False, tag: str | None = None
) -> list[_FeedToPoll]:
    query = select(Feed).where(Feed.active.is_(True)).order_by(Feed.id)
    if tag is not None:
        query = query.where(Feed.tags.contains([tag]))
    if not poll_all:
        query = query.where(or_(Feed.next_poll_at.is_(None), Feed.next_poll_at <= now))
    return [
        _FeedToPoll(f.id, f.url, f.etag, f.last_modified, f.consecutive_failures, f.title is not None)
        for f in session.scalars(query)
    ]


@dataclass(frozen=True)
class _PollRecord:
    """What a poll writes besides articles: its ``feed_fetches`` row and the feed's new state."""

    fetch: dict[str, Any]
    feed_id: int
    status: str
    http_status: int | None
    error: str | None
    polled_at: datetime
    failures: int
    next_poll_at: datetime
    succeeded: bool
    """a success also sets last_success_at and the validators (etag, last_modified)"""
    etag: str | None
    last_modified: str | None
    title: str | None
    """the feed's title, taken only when the feed has none"""


def poll_feed(engine: Engine, fetcher: Fetcher, settings: Settings, feed: _FeedToPoll) -> FeedOutcome:
    """Fetch, parse and store one feed in one transaction. Never raises for a feed's own failure."""
    outcome, record = _poll(engine, fetcher, settings, feed)
    if record is not None:
        _record_polls(engine, [record])
    return outcome


def _poll(
    engine: Engine, fetcher: Fetcher, settings: Settings, feed: _FeedToPoll
) -> tuple[FeedOutcome, _PollRecord | None]:
    """Poll one feed. New articles are stored with the poll's record in one transaction; a poll that
    brings nothing to store (a 304, a failure, only known items) returns its record unwritten, for
    the caller to write together with others (see :func:`_record_polls`)."""
    started_at = datetime.now(UTC)
    clock = time.monotonic()
    outcome = FeedOutcome(feed_id=feed.id, url=feed.url, status="failed")
    parsed: ParsedFeed | None = None
    fresh: list[ArticleDraft] = []
    result: FetchResult | None = None
    try:
        result = fetcher.get(feed.url, etag=feed.etag, last_modified=feed.last_modified)
        outcome.http_status = result.status
        outcome.bytes = len(result.body)
        if result.not_modified:
            outcome.status = "not_modified"
        else:
            parsed = parse_feed(result.body, result.url, result.content_type)
            outcome.entries = len(parsed.entries)
            outcome.status = "partial" if parsed.problem else "ok"
            outcome.error = parsed.problem
    except FetchError as exc:
        outcome.error = str(exc)
        outcome.http_status = exc.http_status
    except FeedRejected as exc:
        outcome.status = "failed"
        outcome.error = str(exc)
    except Exception as exc:  # feedparser on hostile input: record it, never stop the other feeds
        outcome.status = "failed"
        outcome.error = f"could not parse feed: {type(exc).__name__}: {_one_line(exc)}"
        parsed = None

    if parsed is not None:
        drafts = [d for d in (draft_from_entry(e, parsed.language) for e in parsed.entries) if d]
        with Session(engine) as session:
            fresh = unseen_drafts(session, feed.id, drafts)
        if settings.fetch_articles and fresh:
            with ThreadPoolExecutor(settings.page_workers, thread_name_prefix="page") as pages:
                list(pages.map(lambda draft: fill_from_page(draft, fetcher), fresh))

    if not fresh:
        outcome.duration_ms = int((time.monotonic() - clock) * 1000)
        return outcome, _poll_record(feed, outcome, started_at, result, parsed, settings)
    try:
        with Session(engine) as session, session.begin():
            outcome.new_items = store_articles(session, feed.id, fresh)
            outcome.duration_ms = int((time.monotonic() - clock) * 1000)
            _record_poll(session, feed, outcome, started_at, result, parsed, settings)
    except DBAPIError as exc:
        if getattr(exc.orig, "pgcode", None) is None:
            raise  # no answer from the server: the database is down, the run cannot go on
        # the server refused this feed's rows: the feed fails, its transaction is rolled back whole
        outcome.status, outcome.new_items = "failed", 0
        outcome.error = f"could not store entries: {_one_line(exc.orig or exc)}"
        return outcome, _poll_record(feed, outcome, started_at, None, None, settings)
    return outcome, None


# The feeds columns a poll sets, passed as one array each: the UPDATE below is one statement, compiled
# once, for any number of polls.
_POLL_COLUMNS = (
    ("feed_id", Integer),
    ("status", Text),
    ("http_status", Integer),
    ("error", Text),
    ("polled_at", DateTime(timezone=True)),
    ("failures", Integer),
    ("next_poll_at", DateTime(timezone=True)),
    ("succeeded", Boolean),
    ("etag", Text),
    ("last_modified", Text),
    ("title", Text),
)
_polls = (
    func.unnest(*(cast(bindparam(name), ARRAY(kind)) for name, kind in _POLL_COLUMNS))
    .table_valued(*(column(name, kind) for name, kind in _POLL_COLUMNS))
    .render_derived(name="polls")
)
_UPDATE_POLLED_FEEDS = (
    update(Feed)
    .where(Feed.id == _polls.c.feed_id)
    .values(
        last_status=_polls.c.status,
        last_http_status=_polls.c.http_status,
        last_error=_polls.c.error,
        last_polled_at=_polls.c.polled_at,
        consecutive_failures=_polls.c.failures,
        next_poll_at=_polls.c.next_poll_at,
        last_success_at=case((_polls.c.succeeded, _polls.c.polled_at), else_=Feed.last_success_at),
        etag=case((_polls.c.succeeded, _polls.c.etag), else_=Feed.etag),
        last_modified=case((_polls.c.succeeded, _polls.c.last_modified), else_=Feed.last_modified),
        title=func.coalesce(Feed.title, _polls.c.title),
    )
    .execution_options(synchronize_session=False)
)


def _record_poll(
    session: Session,
    feed: _FeedToPoll,
    outcome: FeedOutcome,
    started_at: datetime,
    result: FetchResult | None,
    parsed: ParsedFeed | None,
    settings: Settings,
) -> None:
    """Write the record of a poll in the session's transaction (the one that stores its articles)."""
    _write_poll_records(session, [_poll_record(feed, outcome, started_at, result, parsed, settings)])


def _record_polls(engine: Engine, records: Sequence[_PollRecord]) -> None:
    """Write the records of polls that stored nothing, in one transaction.

    It is only bookkeeping: were it lost in a server crash, those feeds would just be polled again.
    So it is one commit for many feeds, and that commit does not wait for the WAL flush: a commit and
    a disk write (~4 ms) per feed made a tick of 304s several times slower than its round trips.
    """
    if not records:
        return
    with Session(engine) as session, session.begin():
        session.connection().exec_driver_sql("SET LOCAL synchronous_commit = off")
        _write_poll_records(session, records)


def _write_poll_records(session: Session, records: Sequence[_PollRecord]) -> None:
    """The same statements however many records: the feed_fetches rows, and one UPDATE of the feeds."""
    if len(records) > 1:
        # lock the feeds in id order (an UPDATE of many rows has no defined order), so that two runs
        # writing their records at the same time cannot deadlock
        ids = sorted(record.feed_id for record in records)
        session.execute(
            select(Feed.id).where(Feed.id.in_(ids)).order_by(Feed.id).with_for_update(key_share=True)
        )
    session.execute(insert(FeedFetch), [record.fetch for record in records])
    columns = {name: [getattr(record, name) for record in records] for name, _ in _POLL_COLUMNS}
    session.execute(_UPDATE_POLLED_FEEDS, columns)


def _poll_record(
    feed: _FeedToPoll,
    outcome: FeedOutcome,
    started_at: datetime,
    result: FetchResult | None,
    parsed: ParsedFeed | None,
    settings: Settings,
) -> _PollRecord:
    fetch = {
        "feed_id": feed.id,
        "started_at": started_at,
        "duration_ms": outcome.duration_ms,
        "status": outcome.status,
        "http_status": outcome.http_status,
        "bytes": outcome.bytes,
        "entries": outcome.entries,
        "new_items": outcome.new_items,
        "error": outcome.error,
    }
    now = datetime.now(UTC)  # when the poll ended, however long its record waits to be written
    failed = outcome.status == "failed"
    failures = feed.consecutive_failures + 1 if failed else 0
    interval = (
        min(settings.poll_interval_seconds * 2**failures, settings.max_backoff_seconds)
        if failed
        else settings.poll_interval_seconds
    )
    etag = last_modified = None
    if not failed and result is not None:
        # a 304 may omit the validators: the ones that earned it still hold
        etag = result.headers.get("etag") or (feed.etag if result.not_modified else None)
        last_modified = result.headers.get("last-modified") or (
            feed.last_modified if result.not_modified else None
        )
    return _PollRecord(
        fetch=fetch,
        feed_id=feed.id,
        status=outcome.status,
        http_status=outcome.http_status,
        error=outcome.error,
        polled_at=now,
        failures=failures,
        next_poll_at=now + timedelta(seconds=interval),
        succeeded=not failed,
        etag=etag,
        last_modified=last_modified,
        title=parsed.title if parsed is not None and not failed else None,
    )


def ingest(
    engine: Engine,
    settings: Settings,
    *,
    poll_all: bool = False,
    tag: str | None = None,
    on_start: Callable[[int], None] | None = None,
    on_feed: Callable[[FeedOutcome], None] | None = None,
    fetcher: Fetcher | None = None,
    feed_ids: Collection[int] | None = None,
) -> IngestSummary:
    """Poll every due feed (or all with ``poll_all``; only those tagged ``tag`` if given; only those
    among ``feed_ids`` if given), ``settings.ingest_workers`` at a time.

    Feeds that bring articles are stored as they come, each in its own transaction; the records of
    polls that bring nothing (304s, failures) are written together, up to ``RECORDS_PER_WRITE`` at a
    time, so that a tick of 304s costs network round trips rather than a commit per feed."""
    with Session(engine) as session:
        feeds = due_feeds(session, datetime.now(UTC), poll_all=poll_all, tag=tag)
    if feed_ids is not None:
        wanted = set(feed_ids)
        feeds = [f for f in feeds if f.id in wanted]
    if on_start:
        on_start(len(feeds))
    summary = IngestSummary()
    own = fetcher is None
    client = fetcher or Fetcher(FetchPolicy.from_settings(settings))
    try:
        pending: list[_PollRecord] = []
        with ThreadPoolExecutor(max_workers=settings.ingest_workers, thread_name_prefix="poll") as pool:
            futures = [pool.submit(_poll, engine, client, settings, f) for f in feeds]
            for future in as_completed(futures):
                # a database error ends the run; feed errors do not raise
                outcome, record = future.result()
                if record is not None:
                    pending.append(record)
                if len(pending) >= RECORDS_PER_WRITE:
                    _record_polls(engine, pending)  # while the pool goes on polling
                    pending = []
                summary.outcomes.append(outcome)
                if on_feed:
                    on_feed(outcome)
        _record_polls(engine, pending)
    finally:
        if own:
            client.close()
    summary.outcomes.sort(key=lambda o: o.feed_id)
    return summary
