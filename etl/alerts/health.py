"""Feed health alerts: a feed failing many polls in a row, or silent far longer than usual.

Each condition raises one alert per episode, not one per run: the alert key names the episode (the
failure streak by the last success before it, the silence by the last poll that brought news), and
the outbox's unique (alert_key, channel) turns a repeat into nothing.

Silence is measured on parley's own clock — polls that brought new items — not on publication
dates, so a feed that republishes old items or a replayed archive is judged the same way.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Literal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl.alerts.messages import AlertText, feed_failing_alert, feed_silent_alert
from etl.alerts.routing import AlertRules, RouteKind
from etl.settings import Settings
from models import Alert, Feed, FeedFetch
from models.enums import AlertKind

HISTORY = 20  # polls with news that define a feed's usual rhythm


@dataclass
class HealthSummary:
    failing: int = 0
    silent: int = 0
    alerts: int = 0

    def line(self) -> str:
        return f"feed health: {self.failing} failing, {self.silent} silent; {self.alerts} alerts queued"


@dataclass(frozen=True)
class FeedProblem:
    feed_id: int
    kind: Literal["failing", "silent"]
    episode: str
    text: AlertText


def find_problems(session: Session, settings: Settings, now: datetime) -> list[FeedProblem]:
    problems: list[FeedProblem] = []
    for feed in session.scalars(select(Feed).where(Feed.active.is_(True)).order_by(Feed.id)):
        if feed.consecutive_failures >= settings.feed_failure_alert_after:
            since = feed.last_success_at or feed.created_at
            problems.append(
                FeedProblem(feed.id, "failing", f"{since:%Y%m%dT%H%M%S.%f}", feed_failing_alert(feed))
            )
            continue
        silence = _silence(session, feed.id, settings, now)
        if silence is not None:
            last_news, usual = silence
            problems.append(
                FeedProblem(
                    feed.id,
                    "silent",
                    f"{last_news:%Y%m%dT%H%M%S.%f}",
                    feed_silent_alert(feed, last_news, usual, now),
                )
            )
    return problems


def _silence(
    session: Session, feed_id: int, settings: Settings, now: datetime
) -> tuple[datetime, timedelta] | None:
    """(last poll with news, usual gap) when the feed has been quiet far longer than usual."""
    times = list(
        session.scalars(
            select(FeedFetch.started_at)
            .where(FeedFetch.feed_id == feed_id, FeedFetch.new_items > 0)
            .order_by(FeedFetch.started_at.desc())
            .limit(HISTORY)
        )
    )
    if len(times) < settings.feed_silence_min_history:
        return None  # too young a feed to know its rhythm
    usual = timedelta(seconds=statistics.median((a - b).total_seconds() for a, b in pairwise(times)))
    quiet = now - times[0]
    threshold = max(
        usual * settings.feed_silence_factor, timedelta(seconds=settings.feed_silence_min_seconds)
    )
    return (times[0], usual) if quiet > threshold else None


def check_feed_health(engine: Engine, settings: Settings, channels: Sequence[str]) -> HealthSummary:
    """Queue one alert per routed channel for every feed problem not alerted on yet."""
    summary = HealthSummary()
    now = datetime.now(UTC)
    rules = AlertRules.load(settings)  # before the transaction: a bad rules file writes nothing
    routed = rules.channels_for(
        kind=RouteKind.FEED_HEALTH, actor=None, issue=None, channels=channels, now=now
    )
    with Session(engine) as session, session.begin():
        problems = find_problems(session, settings, now)
        rows = [
            {
                "alert_key": f"parley-feed-{p.feed_id}-{p.kind}-{p.episode}",
                "kind": AlertKind.FEED_HEALTH,
                "feed_id": p.feed_id,
                "channel": channel,
                "subject": p.text.subject,
                "body": p.text.body,
                "payload": p.text.payload,
            }
            for p in problems
            for channel in routed
        ]
        if rows:
            inserted = session.execute(
                pg_insert(Alert).values(rows).on_conflict_do_nothing().returning(Alert.id)
            )
            summary.alerts = len(inserted.all())
    summary.failing = sum(p.kind == "failing" for p in problems)
    summary.silent = sum(p.kind == "silent" for p in problems)
    return summary
