"""Health alerts: a feed failing many polls in a row, or silent far longer than usual; an alert
channel that has delivered nothing for a while although it had alerts to deliver.

Each condition raises one alert per episode, not one per run: the alert key names the episode (a
feed's failure streak by the last success before it, its silence by the last poll that brought news,
a channel's failure by its last delivery), and the outbox's unique (alert_key, channel) turns a
repeat into nothing. A failing channel is reported on the other channels only.

Silence is measured on parley's own clock — polls that brought new items — not on publication
dates, so a feed that republishes old items or a replayed archive is judged the same way.
"""

from __future__ import annotations

import hashlib
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any, Literal

from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl.alerts.messages import AlertText, channel_failing_alert, feed_failing_alert, feed_silent_alert
from etl.alerts.routing import AlertRules, RouteKind
from etl.settings import Settings
from models import Alert, Feed, FeedFetch
from models.enums import AlertKind, AlertStatus

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


# --- alert channels ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelProblem:
    channel: str
    last_delivery: datetime | None
    undelivered: int
    last_error: str | None


def find_failing_channels(
    session: Session, channels: Sequence[str], threshold: timedelta, now: datetime
) -> list[ChannelProblem]:
    """The channels among ``channels`` that have delivered nothing for ``threshold`` (or ever) while an
    alert queued at least ``threshold`` ago was tried on them and not delivered (it is pending with
    attempts, or was given up since their last delivery)."""
    problems: list[ChannelProblem] = []
    for name in channels:
        last_delivery = session.scalar(
            select(func.max(Alert.sent_at)).where(Alert.channel == name, Alert.status == AlertStatus.SENT)
        )
        if last_delivery is not None and now - last_delivery < threshold:
            continue
        given_up = Alert.status == AlertStatus.FAILED
        if last_delivery is not None:
            given_up &= Alert.failed_at > last_delivery
        tried = (
            Alert.channel == name,
            Alert.attempts > 0,
            or_(Alert.status == AlertStatus.PENDING, given_up),
        )
        count, oldest = session.execute(select(func.count(), func.min(Alert.created_at)).where(*tried)).one()
        if not count or oldest > now - threshold:
            continue
        last_error = session.scalar(select(Alert.last_error).where(*tried).order_by(Alert.id.desc()).limit(1))
        problems.append(ChannelProblem(name, last_delivery, count, last_error))
    return problems


def check_channel_health(engine: Engine, settings: Settings, channels: Sequence[str]) -> list[str]:
    """Queue one alert on each other routed channel for every failing channel not alerted on yet in
    its episode; the names of the failing channels."""
    now = datetime.now(UTC)
    rules = AlertRules.load(settings)
    threshold = timedelta(hours=settings.alert_channel_failing_hours)
    with Session(engine) as session, session.begin():
        problems = find_failing_channels(session, channels, threshold, now)
        routed = rules.channels_for(
            kind=RouteKind.CHANNEL_HEALTH, actor=None, issue=None, channels=channels, now=now
        )
        rows: list[dict[str, Any]] = []
        for problem in problems:
            text = channel_failing_alert(
                problem.channel, problem.last_delivery, problem.undelivered, problem.last_error, now
            )
            episode = f"{problem.last_delivery:%Y%m%dT%H%M%S.%f}" if problem.last_delivery else "never"
            # the name may be long or not ASCII; the key is an HTTP header value
            named = hashlib.sha256(problem.channel.encode("utf-8")).hexdigest()[:12]
            rows.extend(
                {
                    "alert_key": f"parley-channel-{named}-failing-{episode}",
                    "kind": AlertKind.CHANNEL_HEALTH,
                    "channel": channel,
                    "subject": text.subject,
                    "body": text.body,
                    "payload": text.payload,
                }
                for channel in routed
                if channel != problem.channel
            )
        if rows:
            session.execute(pg_insert(Alert).values(rows).on_conflict_do_nothing())
    return [problem.channel for problem in problems]
