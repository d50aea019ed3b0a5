"""Ingestion: poll due feeds, parse them, fetch article pages, de-duplicate and store articles.

Identity of an article (the de-duplication contract, also in the README):

1. the same feed and GUID is the same article (a feed re-listing an item adds nothing);
2. the same canonical URL (see :func:`etl.ingest.urls.canonical_url`) is the same article, from any feed;
3. the same content (sha256 of the normalised main text) under another URL is a *different* row,
   stored again with ``duplicate_of`` pointing at the first copy: other outlets repeating a story
   matter for corroboration later.

A feed's articles are written in one transaction with the record of the poll (together with the
articles and records of the other polls that ended meanwhile); polls that bring nothing to store (a
304, a failure) are recorded in batches. A failing feed is a ``feed_fetches`` row with a one-line
reason and backs off exponentially, and never stops the others.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import re
import time
import zlib
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
from sqlalchemy import (
    Boolean,
    DateTime,
    Integer,
    Text,
    and_,
    case,
    func,
    insert,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy import text as sql_text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from etl.db import copy_rows, unnested
from etl.ingest.fetch import PAGE_ACCEPT, Fetcher, FetchError, FetchPolicy, FetchResult
from etl.ingest.urls import canonical_url
from etl.settings import Settings
from etl.text import extract_main_text, html_language, strip_tags
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
    # whitespace runs as one space, ends trimmed: str.split() knows the same whitespace as re's \s
    # (tests/unit check every code point) and is several times faster on long texts
    normal = " ".join(basis.split()).casefold()
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


_listed_guids = unnested("listed_guids", [("feed_ids", Integer), ("guids", Text)])
_listed_urls = unnested("listed_urls", [("urls", Text)])
# The stored articles that have one of the listed (feed, GUID) pairs or canonical URLs.
_KNOWN_DRAFTS = union_all(
    select(_articles.c.feed_id, _articles.c.guid, _articles.c.canonical_url).join_from(
        _listed_guids,
        _articles,
        and_(_articles.c.feed_id == _listed_guids.c.feed_ids, _articles.c.guid == _listed_guids.c.guids),
    ),
    select(_articles.c.feed_id, _articles.c.guid, _articles.c.canonical_url).join_from(
        _listed_urls, _articles, _articles.c.canonical_url == _listed_urls.c.urls
    ),
)

_STORE_LOCK = select(func.pg_advisory_xact_lock(STORE_LOCK_KEY))
_ARTICLE_COLUMNS = (
    "id",
    "feed_id",
    "guid",
    "url",
    "canonical_url",
    "title",
    "summary",
    "text",
    "text_source",
    "language",
    "published_at",
    "content_hash",
    "page_status",
    "raw_entry",
    "raw_html",
    "duplicate_of",
)
# ids for n new rows, in the order they are drawn (under the store lock: the order they commit in)
_NEW_ARTICLE_IDS = sql_text(
    "SELECT nextval(sequence) AS id"
    " FROM (SELECT pg_get_serial_sequence('articles', 'id')::regclass AS sequence) AS articles_id,"
    " generate_series(1, :n) ORDER BY id"
)
_listed_hashes = unnested("listed_hashes", [("hashes", Text)])
_stored = _articles.alias("stored")
# The first stored copy of each listed content hash, if any: the first entry under the hash in
# ix_articles_content_hash_id (migration 0008), however many copies there are.
_FIRST_STORED_COPIES = select(
    _listed_hashes.c.hashes,
    select(_stored.c.id)
    .where(_stored.c.content_hash == _listed_hashes.c.hashes)
    .order_by(_stored.c.id)
    .limit(1)
    .scalar_subquery(),
)
_JSON = json.JSONEncoder(ensure_ascii=False, check_circular=False)  # raw entries are plain trees


def unseen_drafts(session: Session, feed_id: int, drafts: Sequence[ArticleDraft]) -> list[ArticleDraft]:
    """Drop drafts already stored (same feed+GUID or same canonical URL) or repeated in the batch."""
    return [draft for _, draft in _unseen(session, [(feed_id, draft) for draft in drafts])]


def _unseen(session: Session, rows: Sequence[tuple[int, ArticleDraft]]) -> list[tuple[int, ArticleDraft]]:
    """The (feed id, draft) pairs whose draft is neither stored (same feed+GUID or same canonical
    URL) nor the repeat of an earlier pair's."""
    if not rows:
        return []
    known = session.execute(
        _KNOWN_DRAFTS,
        {
            "feed_ids": [feed_id for feed_id, _ in rows],
            "guids": [draft.guid for _, draft in rows],
            "urls": [draft.canonical_url for _, draft in rows if draft.canonical_url],
        },
    ).all()
    known_guids = {(feed_id, guid) for feed_id, guid, _ in known}
    known_urls = {url for _, _, url in known if url}
    fresh: list[tuple[int, ArticleDraft]] = []
    for feed_id, draft in rows:
        if (feed_id, draft.guid) in known_guids or (
            draft.canonical_url and draft.canonical_url in known_urls
        ):
            continue
        known_guids.add((feed_id, draft.guid))
        if draft.canonical_url:
            known_urls.add(draft.canonical_url)
        fresh.append((feed_id, draft))
    return fresh


def store_articles(session: Session, feed_id: int, drafts: Sequence[ArticleDraft]) -> int:
    """Insert one feed's drafts in bulk; returns how many rows were new (see :func:`store_feeds`)."""
    return store_feeds(session, [(feed_id, drafts)]).get(feed_id, 0)


def store_feeds(session: Session, batches: Sequence[tuple[int, Sequence[ArticleDraft]]]) -> dict[int, int]:
    """Store the drafts of one or more feeds with one COPY, whatever the number of feeds; returns how
    many rows were new, per feed id. Idempotent: a draft stored already (same feed+GUID or same
    canonical URL), or repeating an earlier draft's key, is skipped.

    A draft whose content is already stored, or comes earlier in this call, gets ``duplicate_of``:
    the first copy. Ids are drawn before the COPY so that such a copy can point at its first copy.
    """
    if not any(drafts for _, drafts in batches):
        return {}
    # Feeds are stored from several threads (and maybe processes) at once; without this lock two
    # copies of one story arriving together would both look like the first copy, and the check below
    # could miss a row stored meanwhile. Held until commit, it also makes articles commit in id
    # order, which etl.extract.store.read_through relies on. Whatever inserts articles must take it.
    session.execute(_STORE_LOCK)
    new = _unseen(session, [(feed_id, draft) for feed_id, drafts in batches for draft in drafts])
    ids = session.scalars(_NEW_ARTICLE_IDS, {"n": len(new)}).all()
    hashes = [draft.content_hash for _, draft in new]  # sha256 of the whole text: computed once
    first_copy = {
        digest: article_id
        for digest, article_id in session.execute(_FIRST_STORED_COPIES, {"hashes": sorted(set(hashes))})
        if article_id is not None
    }
    rows: list[tuple[Any, ...]] = []
    stored: dict[int, int] = {}
    for (feed_id, draft), digest, article_id in zip(new, hashes, ids, strict=True):
        duplicate_of = first_copy.setdefault(digest, article_id)
        rows.append(
            (
                article_id,
                feed_id,
                draft.guid,
                draft.url,
                draft.canonical_url,
                draft.title,
                draft.summary,
                draft.text,
                draft.text_source,
                draft.language,
                draft.published_at,
                digest,
                draft.page_status,
                _JSON.encode(draft.raw_entry),
                draft.raw_html,
                None if duplicate_of == article_id else duplicate_of,
            )
        )
        stored[feed_id] = stored.get(feed_id, 0) + 1
    copy_rows(session, _articles.name, _ARTICLE_COLUMNS, rows)
    return stored


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


@dataclass
class _Polled:
    """A poll that has ended: what it found, waiting to be stored (see :func:`_store_polls`)."""

    feed: _FeedToPoll
    outcome: FeedOutcome
    started_at: datetime
    result: FetchResult | None
    parsed: ParsedFeed | None
    fresh: list[ArticleDraft]
    """drafts not stored yet, their pages fetched"""

    def record(self, settings: Settings) -> _PollRecord:
        return _poll_record(self.feed, self.outcome, self.started_at, self.result, self.parsed, settings)


def poll_feed(engine: Engine, fetcher: Fetcher, settings: Settings, feed: _FeedToPoll) -> FeedOutcome:
    """Fetch, parse and store one feed, its articles with the poll's record in one transaction.
    Never raises for a feed's own failure."""
    polled = _poll(engine, fetcher, settings, feed)
    if polled.fresh:
        _store_polls(engine, settings, [polled])
    if not polled.fresh:  # nothing to store, or the server refused it
        _record_polls(engine, [polled.record(settings)])
    return polled.outcome


def _poll(engine: Engine, fetcher: Fetcher, settings: Settings, feed: _FeedToPoll) -> _Polled:
    """Poll one feed: fetch, parse, pick the drafts not stored yet and fetch their pages. Nothing is
    written: the caller stores the new articles with the poll's record (:func:`_store_polls`), or
    writes the record of a poll that brings nothing together with others (:func:`_record_polls`)."""
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
    outcome.duration_ms = int((time.monotonic() - clock) * 1000)
    return _Polled(feed, outcome, started_at, result, parsed, fresh)


def _store_polls(engine: Engine, settings: Settings, polls: Sequence[_Polled]) -> None:
    """Store the new articles of polls that ended together, with their records, in one transaction.

    Should the server refuse some feed's rows, each poll is stored again in a transaction of its own,
    so that only the feed at fault fails: its outcome says why, its ``fresh`` is emptied, and its record
    is left for the caller to write with the polls that stored nothing.
    """
    try:
        _store_together(engine, settings, polls)
        return
    except DBAPIError as exc:
        if getattr(exc.orig, "pgcode", None) is None:
            raise  # no answer from the server: the database is down, the run cannot go on
        if len(polls) == 1:
            _refused(polls[0], exc)
            return
    for polled in polls:
        try:
            _store_together(engine, settings, [polled])
        except DBAPIError as exc:
            if getattr(exc.orig, "pgcode", None) is None:
                raise
            _refused(polled, exc)


def _store_together(engine: Engine, settings: Settings, polls: Sequence[_Polled]) -> None:
    with Session(engine) as session, session.begin():
        stored = store_feeds(session, [(polled.feed.id, polled.fresh) for polled in polls])
        for polled in polls:
            polled.outcome.new_items = stored.get(polled.feed.id, 0)
        _write_poll_records(session, [polled.record(settings) for polled in polls])


def _refused(polled: _Polled, exc: DBAPIError) -> None:
    """The server refused this feed's rows: the feed fails, nothing of it was written."""
    outcome = polled.outcome
    outcome.status, outcome.new_items = "failed", 0
    outcome.error = f"could not store entries: {_one_line(exc.orig or exc)}"
    polled.result = polled.parsed = None  # a failed poll keeps the feed's validators and title
    polled.fresh = []


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
_polls = unnested("polls", _POLL_COLUMNS)
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

    Polls that bring new articles are stored as they end, with their records; those that end while
    others are being stored are stored together, in one transaction (:func:`_store_polls`). The records
    of polls that bring nothing (304s, failures) are written together, up to ``RECORDS_PER_WRITE`` at
    a time, so that a tick of 304s costs network round trips rather than a commit per feed."""
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
        with ThreadPoolExecutor(max_workers=settings.ingest_workers, thread_name_prefix="poll") as pool:
            running = {pool.submit(_poll, engine, client, settings, f) for f in feeds}
            summary.outcomes = _store_as_they_end(engine, settings, running, on_feed)
    finally:
        if own:
            client.close()
    summary.outcomes.sort(key=lambda o: o.feed_id)
    return summary


def _store_as_they_end(
    engine: Engine,
    settings: Settings,
    running: set[Future[_Polled]],
    on_feed: Callable[[FeedOutcome], None] | None = None,
) -> list[FeedOutcome]:
    """Store the polls as they end: every poll that has ended by the time the last store is done is
    stored in the next one, while the pool goes on polling. Returns the polls' outcomes."""
    outcomes: list[FeedOutcome] = []
    records: list[_PollRecord] = []
    while running:
        ended, running = wait(running, return_when=FIRST_COMPLETED)
        # a database error ends the run; feed errors do not raise
        polls = [future.result() for future in ended]
        with_news = [polled for polled in polls if polled.fresh]
        if with_news:
            _store_polls(engine, settings, with_news)
        records.extend(polled.record(settings) for polled in polls if not polled.fresh)
        if len(records) >= RECORDS_PER_WRITE:
            _record_polls(engine, records)
            records = []
        for polled in polls:
            outcomes.append(polled.outcome)
            if on_feed:
                on_feed(polled.outcome)
    _record_polls(engine, records)
    return outcomes
