"""Polling: which feeds are due, one poll of a feed, and the tick that polls them all and stores what
they bring as the polls end.

:func:`ingest` reads top to bottom: find the due feeds, poll them ``settings.ingest_workers`` at a
time (:func:`poll_feed`: fetch, modified?, parse, the entries not stored yet, their pages), and store
each poll as it ends (:func:`store_polls_as_they_end`). A poll's articles are written in one
transaction with its record (together with the articles and records of the other polls that ended
meanwhile); polls that bring nothing to store (a 304, a failure) are recorded in batches. A failing
feed is a ``feed_fetches`` row with a one-line reason and backs off exponentially, and never stops
the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from etl.errors import first_line
from etl.ingest.entries import ArticleDraft, draft_from_entry, newest_entries
from etl.ingest.fetch import Fetcher, FetchError, FetchPolicy, FetchResult
from etl.ingest.pages import fill_from_page
from etl.ingest.parse import FeedRejected, ParsedFeed, parse_feed
from etl.ingest.records import (
    PollRecord,
    lock_unrecorded,
    record_polls_without_news,
    seconds_to_next_poll,
    write_poll_records,
)
from etl.ingest.store import store_feeds, unseen_drafts
from etl.ingest.urls import without_credentials
from etl.settings import Settings
from models import Feed
from models.enums import PollStatus

RECORDS_PER_WRITE = 100  # records of polls that stored nothing, written in one transaction


@dataclass
class FeedOutcome:
    """How one poll of a feed ended, as the run reports it (and its ``feed_fetches`` row records it)."""

    feed_id: int
    url: str
    status: PollStatus
    http_status: int | None = None
    entries: int = 0
    new_items: int = 0
    bytes: int = 0
    error: str | None = None
    duration_ms: int = 0


@dataclass
class IngestSummary:
    outcomes: list[FeedOutcome] = field(default_factory=list)

    def count(self, status: PollStatus) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def new_articles(self) -> int:
        return sum(o.new_items for o in self.outcomes)

    def line(self) -> str:
        return (
            f"{len(self.outcomes)} feeds polled: {self.count(PollStatus.OK)} ok, "
            f"{self.count(PollStatus.PARTIAL)} partial, {self.count(PollStatus.NOT_MODIFIED)} not modified, "
            f"{self.count(PollStatus.FAILED)} failed; {self.new_articles} new articles"
        )


@dataclass(frozen=True)
class DueFeed:
    """A feed to poll, with what its poll needs from the feed's row."""

    id: int
    url: str
    etag: str | None
    last_modified: str | None
    consecutive_failures: int
    has_title: bool
    last_polled_at: datetime | None = None
    """when the feed's last recorded poll ended, as read: the new poll is recorded only if no other
    poll was recorded since (:func:`etl.ingest.records.lock_unrecorded`)"""


def due_feeds(
    session: Session, now: datetime, *, poll_all: bool = False, tag: str | None = None
) -> list[DueFeed]:
    query = select(Feed).where(Feed.active.is_(True)).order_by(Feed.id)
    if tag is not None:
        query = query.where(Feed.tags.contains([tag]))
    if not poll_all:
        query = query.where(or_(Feed.next_poll_at.is_(None), Feed.next_poll_at <= now))
    return [
        DueFeed(
            f.id,
            f.url,
            f.etag,
            f.last_modified,
            f.consecutive_failures,
            f.title is not None,
            f.last_polled_at,
        )
        for f in session.scalars(query)
    ]


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
    among ``feed_ids`` if given), ``settings.ingest_workers`` at a time, and store what they bring.

    Polls that bring new articles are stored as they end, with their records; those that end while
    others are being stored are stored together, in one transaction (:func:`store_polls_with_news`).
    The records of polls that bring nothing (304s, failures) are written together, up to
    ``RECORDS_PER_WRITE`` at a time, so that a tick of 304s costs network round trips rather than a
    commit per feed."""
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
            running = {pool.submit(poll_feed, engine, client, settings, f) for f in feeds}
            summary.outcomes = store_polls_as_they_end(engine, settings, running, on_feed)
    finally:
        if own:
            client.close()
    summary.outcomes.sort(key=lambda o: o.feed_id)
    return summary


@dataclass
class PollResult:
    """A poll that has ended: what it found, waiting to be stored (see :func:`store_polls_with_news`)."""

    feed: DueFeed
    outcome: FeedOutcome
    started_at: datetime
    response: FetchResult | None
    parsed: ParsedFeed | None
    fresh: list[ArticleDraft]
    """drafts not stored yet, their pages fetched"""

    def record(self, settings: Settings) -> PollRecord:
        """The poll's record, as of now (when the poll ended, however long the record waits)."""
        feed, outcome, response = self.feed, self.outcome, self.response
        now = datetime.now(UTC)
        failed = outcome.status == PollStatus.FAILED
        failures = feed.consecutive_failures + 1 if failed else 0
        etag = last_modified = None
        if not failed and response is not None:
            # a 304 may omit the validators: the ones that earned it still hold
            etag = response.headers.get("etag") or (feed.etag if response.not_modified else None)
            last_modified = response.headers.get("last-modified") or (
                feed.last_modified if response.not_modified else None
            )
        return PollRecord(
            fetch={
                "feed_id": feed.id,
                "started_at": self.started_at,
                "duration_ms": outcome.duration_ms,
                "status": outcome.status,
                "http_status": outcome.http_status,
                "bytes": outcome.bytes,
                "entries": outcome.entries,
                "new_items": outcome.new_items,
                "error": outcome.error,
            },
            feed_id=feed.id,
            status=outcome.status,
            http_status=outcome.http_status,
            error=outcome.error,
            polled_at=now,
            failures=failures,
            next_poll_at=now + timedelta(seconds=seconds_to_next_poll(settings, failures)),
            succeeded=not failed,
            etag=etag,
            last_modified=last_modified,
            title=self.parsed.title if self.parsed is not None and not failed else None,
            seen_polled_at=feed.last_polled_at,
        )


def poll_feed(engine: Engine, fetcher: Fetcher, settings: Settings, feed: DueFeed) -> PollResult:
    """Poll one feed: fetch, parse (only the newest ``settings.max_entries_per_poll`` entries: the
    rest are counted, skipped and said in the outcome's error, the poll then being partial), pick the
    drafts not stored yet and fetch their pages. A date more than ``settings.clock_skew_seconds``
    past the fetch is not believed: the fetch time stands in (see :func:`etl.ingest.entries.believed_time`).
    Nothing is written: the caller stores the new articles with the poll's record
    (:func:`store_polls_with_news`), or writes the record of a poll that brings nothing together with
    others (:func:`etl.ingest.records.record_polls_without_news`). Never raises for a feed's own failure."""
    started_at = datetime.now(UTC)
    clock = time.monotonic()
    outcome = FeedOutcome(feed_id=feed.id, url=feed.url, status=PollStatus.FAILED)
    parsed: ParsedFeed | None = None
    fresh: list[ArticleDraft] = []
    response: FetchResult | None = None
    fetched_at = started_at
    try:
        response = fetcher.get(feed.url, etag=feed.etag, last_modified=feed.last_modified)
        fetched_at = datetime.now(UTC)
        outcome.http_status = response.status
        outcome.bytes = len(response.body)
        if response.not_modified:
            outcome.status = PollStatus.NOT_MODIFIED
        else:
            limit = settings.max_entries_per_poll
            parsed = parse_feed(response.body, response.url, response.content_type, max_entries=limit)
            parsed.entries = newest_entries(parsed.entries, limit)
            outcome.entries = parsed.served
            skipped = parsed.served - len(parsed.entries)
            problems = [parsed.problem] if parsed.problem else []
            if skipped:
                problems.append(
                    f"{skipped} older entries skipped: a poll reads the newest {limit} "
                    "(PARLEY_MAX_ENTRIES_PER_POLL)"
                )
            outcome.status = PollStatus.PARTIAL if problems else PollStatus.OK
            outcome.error = "; ".join(problems) or None
    except FetchError as exc:
        outcome.error = str(exc)
        outcome.http_status = exc.http_status
    except FeedRejected as exc:
        outcome.status = PollStatus.FAILED
        outcome.error = str(exc)
    except Exception as exc:  # feedparser on hostile input: record it, never stop the other feeds
        outcome.status = PollStatus.FAILED
        outcome.error = f"could not parse feed: {type(exc).__name__}: {first_line(exc)}"
        parsed = None

    if parsed is not None:
        skew = timedelta(seconds=settings.clock_skew_seconds)
        drafts = [
            draft
            for entry in parsed.entries
            if (draft := draft_from_entry(entry, parsed.language, fetched_at=fetched_at, skew=skew))
        ]
        with Session(engine) as session:
            fresh = unseen_drafts(session, feed.id, drafts)
        if settings.fetch_articles and fresh:
            with ThreadPoolExecutor(settings.page_workers, thread_name_prefix="page") as pages:
                list(pages.map(lambda draft: fill_from_page(draft, fetcher), fresh))
    if outcome.error:  # what is recorded (feed_fetches, feeds.last_error) never holds the feed's password
        outcome.error = outcome.error.replace(feed.url, without_credentials(feed.url))
    outcome.duration_ms = int((time.monotonic() - clock) * 1000)
    return PollResult(feed, outcome, started_at, response, parsed, fresh)


def store_polls_as_they_end(
    engine: Engine,
    settings: Settings,
    running: set[Future[PollResult]],
    on_feed: Callable[[FeedOutcome], None] | None = None,
) -> list[FeedOutcome]:
    """Store the polls as they end: every poll that has ended by the time the last store is done is
    stored in the next one, while the pool goes on polling. Returns the polls' outcomes."""
    outcomes: list[FeedOutcome] = []
    records: list[PollRecord] = []
    while running:
        ended, running = wait(running, return_when=FIRST_COMPLETED)
        # a database error ends the run; feed errors do not raise
        polls = [future.result() for future in ended]
        with_news = [polled for polled in polls if polled.fresh]
        if with_news:
            store_polls_with_news(engine, settings, with_news)
        records.extend(polled.record(settings) for polled in polls if not polled.fresh)
        if len(records) >= RECORDS_PER_WRITE:
            record_polls_without_news(engine, records)
            records = []
        for polled in polls:
            outcomes.append(polled.outcome)
            if on_feed:
                on_feed(polled.outcome)
    record_polls_without_news(engine, records)
    return outcomes


def store_polls_with_news(engine: Engine, settings: Settings, polls: Sequence[PollResult]) -> None:
    """Store the new articles of polls that ended together, with their records, in one transaction.

    Should the server refuse some feed's rows, each poll is stored again in a transaction of its own,
    so that only the feed at fault fails: its outcome says why, its ``fresh`` is emptied, and its record
    is left for the caller to write with the polls that stored nothing.
    """
    try:
        _store_in_one_transaction(engine, settings, polls)
        return
    except DBAPIError as exc:
        if getattr(exc.orig, "pgcode", None) is None:
            raise  # no answer from the server: the database is down, the run cannot go on
        if len(polls) == 1:
            _refused(polls[0], exc)
            return
    for polled in polls:
        try:
            _store_in_one_transaction(engine, settings, [polled])
        except DBAPIError as exc:
            if getattr(exc.orig, "pgcode", None) is None:
                raise
            _refused(polled, exc)


def _store_in_one_transaction(engine: Engine, settings: Settings, polls: Sequence[PollResult]) -> None:
    with Session(engine) as session, session.begin():
        # a poll of a feed another run has recorded since (the same batch run twice at once) stores
        # nothing: that run's poll is this tick's, with its articles
        unrecorded = lock_unrecorded(
            session, [(polled.feed.id, polled.feed.last_polled_at) for polled in polls]
        )
        for polled in polls:
            if polled.feed.id not in unrecorded:
                polled.fresh, polled.outcome.new_items = [], 0
        polls = [polled for polled in polls if polled.feed.id in unrecorded]
        stored = store_feeds(
            session,
            [(polled.feed.id, polled.fresh) for polled in polls],
            lock_timeout=settings.lock_timeout_seconds,
        )
        for polled in polls:
            polled.outcome.new_items = stored.get(polled.feed.id, 0)
        write_poll_records(session, [polled.record(settings) for polled in polls])


def _refused(polled: PollResult, exc: DBAPIError) -> None:
    """The server refused this feed's rows: the feed fails, nothing of it was written."""
    outcome = polled.outcome
    outcome.status, outcome.new_items = PollStatus.FAILED, 0
    outcome.error = f"could not store entries: {first_line(exc.orig or exc)}"
    polled.response = polled.parsed = None  # a failed poll keeps the feed's validators and title
    polled.fresh = []
