"""Poll records: what a poll writes besides articles, its ``feed_fetches`` row and the feed's new
state (status, error, validators, title, and when to poll it next, backing off after failures).

A record is written either with the articles its poll brought (:mod:`etl.ingest.poll` stores both
in one transaction) or, for polls that bring nothing (a 304, a failure), with the records of other
such polls in one cheap commit (:func:`record_polls_without_news`).

A record is written only if no other poll of its feed was recorded since the feed was read as due
(:func:`lock_unrecorded`): two runs of one ingest batch at once (a worker presumed lost that still
runs, and its retry) poll the same feeds, but each poll of a tick is recorded once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, Integer, Text, case, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl.backoff import backoff_seconds
from etl.db import unnested
from etl.settings import Settings
from models import Feed, FeedFetch
from models.enums import PollStatus


@dataclass(frozen=True)
class PollRecord:
    """What a poll writes besides articles: its ``feed_fetches`` row and the feed's new state."""

    fetch: dict[str, Any]
    feed_id: int
    status: PollStatus
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
    seen_polled_at: datetime | None = None
    """the feed's ``last_polled_at`` when the poll read it as due: the record is written only if it is
    still that (no other poll of the feed was recorded meanwhile)"""


def seconds_to_next_poll(settings: Settings, failures: int) -> float:
    """How long a feed waits after a poll that leaves it with ``failures`` failures in a row: the
    poll interval after a success, doubled for each failure (the first failure already waits twice
    the interval), at most ``max_backoff_seconds``."""
    if not failures:
        return settings.poll_interval_seconds
    return backoff_seconds(settings.poll_interval_seconds, failures + 1, settings.max_backoff_seconds)


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


def record_polls_without_news(engine: Engine, records: Sequence[PollRecord]) -> None:
    """Write the records of polls that stored nothing, in one transaction.

    It is only bookkeeping: were it lost in a server crash, those feeds would just be polled again.
    So it is one commit for many feeds, and that commit does not wait for the WAL flush: a commit and
    a disk write (~4 ms) per feed made a tick of 304s several times slower than its round trips.
    """
    if not records:
        return
    with Session(engine) as session, session.begin():
        session.connection().exec_driver_sql("SET LOCAL synchronous_commit = off")
        write_poll_records(session, records)


def lock_unrecorded(session: Session, polls: Sequence[tuple[int, datetime | None]]) -> set[int]:
    """Lock the rows of the polls' feeds until the transaction ends (in id order, so that two runs
    writing records at the same time cannot deadlock) and return the ids of the feeds whose last
    recorded poll is still the one each poll saw, ``(feed id, last_polled_at seen)``: those whose poll
    may be recorded. A feed another run recorded since is left out: its poll of this tick is written."""
    if not polls:
        return set()
    rows = session.execute(
        select(Feed.id, Feed.last_polled_at)
        .where(Feed.id.in_(sorted({feed_id for feed_id, _ in polls})))
        .order_by(Feed.id)
        .with_for_update(key_share=True)
    ).all()
    current = {feed_id: last_polled_at for feed_id, last_polled_at in rows}
    return {feed_id for feed_id, seen in polls if feed_id in current and current[feed_id] == seen}


def write_poll_records(session: Session, records: Sequence[PollRecord]) -> list[PollRecord]:
    """The same statements however many records: the feed_fetches rows, and one UPDATE of the feeds.
    Only the records of feeds no other poll was recorded for since they were read are written (see
    :func:`lock_unrecorded`); returns those."""
    unrecorded = lock_unrecorded(session, [(record.feed_id, record.seen_polled_at) for record in records])
    records = [record for record in records if record.feed_id in unrecorded]
    if not records:
        return []
    session.execute(insert(FeedFetch), [record.fetch for record in records])
    columns = {name: [getattr(record, name) for record in records] for name, _ in _POLL_COLUMNS}
    session.execute(_UPDATE_POLLED_FEEDS, columns)
    return records
