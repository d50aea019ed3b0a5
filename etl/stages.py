"""The stage layer: each of parley's stages as one call, the same for every caller.

The command line (``etl.cli``), the demo (``etl.demo``) and the Airflow DAGs (``dags/``) call these
functions and nothing below them. A stage takes the database engine, the settings and an
:class:`Observer` (what the caller wants to hear while it works: progress and warnings; silent by
default) and returns its summary, whose ``line()`` is what a person reads and whose :func:`counts`
is what an orchestrator keeps (small enough for XCom).

Every stage works on "everything not yet done" in the database, so a retried, repeated or coalesced
call is a no-op where its work was already done:

    ingest → check_health → extract → diff → deliver_alerts
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl import db
from etl.alerts import outbox
from etl.alerts.channels import channels_from_settings
from etl.alerts.health import HealthSummary, check_channel_health, check_feed_health
from etl.alerts.outbox import DeliverySummary
from etl.extract import store as claims
from etl.extract.store import ExtractSummary
from etl.ingest import poll
from etl.ingest.poll import FeedOutcome, IngestSummary
from etl.ingest.urls import without_credentials
from etl.ledger import store as ledger
from etl.ledger.store import DiffSummary
from etl.settings import Settings
from models import Alert, Article
from models.enums import AlertStatus, PollStatus

log = logging.getLogger(__name__)

FEEDS_PER_BATCH = 20
"""Feeds one ingest batch polls (``settings.ingest_workers`` at a time): the unit an orchestrator
spreads over workers."""

Summary = IngestSummary | HealthSummary | ExtractSummary | DiffSummary | DeliverySummary


class Progress(Protocol):
    def total(self, total: int) -> None: ...

    def advance(self, done: int = 1) -> None: ...


class _NoProgress:
    def total(self, total: int) -> None:
        pass

    def advance(self, done: int = 1) -> None:
        pass


class Observer:
    """Hears a stage at work. This one is silent; the command line shows progress bars and prints
    warnings (``etl.console.TerminalObserver``), an orchestrator logs them (:data:`LOGGED`)."""

    @contextmanager
    def progress(self, label: str, total: int | None = None) -> Iterator[Progress]:
        yield _NoProgress()

    def warn(self, message: str) -> None:
        pass


class LogObserver(Observer):
    """Warnings to the ``etl.stages`` logger (Airflow shows them in the task log); no progress."""

    def warn(self, message: str) -> None:
        log.warning("%s", message)


SILENT = Observer()
LOGGED = LogObserver()


def plan_ingest(engine: Engine, batch_size: int = FEEDS_PER_BATCH) -> list[list[int]]:
    """The ids of the feeds due now, in batches of ``batch_size``; fails when the schema is not at
    the code's revision, before any feed is polled."""
    db.require_schema(engine)
    with Session(engine) as session:
        ids = [feed.id for feed in poll.due_feeds(session, datetime.now(UTC))]
    return [ids[start : start + batch_size] for start in range(0, len(ids), batch_size)]


def new_articles(engine: Engine, reported: Sequence[int], since: datetime) -> int:
    """How many articles an ingest run stored: what its batches ``reported``, or, when more, how many
    the database holds fetched since the run began (``since``). A batch retried after a crashed try
    reports only what its last try stored; the articles the crashed try stored count all the same."""
    with Session(engine) as session:
        stored = session.scalar(select(func.count()).select_from(Article).where(Article.fetched_at >= since))
    return max(sum(reported), int(stored or 0))


def ingest(
    engine: Engine,
    settings: Settings,
    observer: Observer = SILENT,
    *,
    poll_all: bool = False,
    tag: str | None = None,
    feed_ids: Sequence[int] | None = None,
) -> IngestSummary:
    """Poll the due feeds (every feed with ``poll_all``; only ``tag``'s, or those of ``feed_ids`` still
    due) and store their new articles; a line per failed or partial feed goes to the observer."""
    with observer.progress("polling feeds") as progress:

        def done(outcome: FeedOutcome) -> None:
            progress.advance()
            if outcome.status in (PollStatus.FAILED, PollStatus.PARTIAL):
                # a feed may need a password: never print it (its error is recorded without it)
                observer.warn(f"{outcome.status} {without_credentials(outcome.url)}: {outcome.error or ''}")

        return poll.ingest(
            engine,
            settings,
            poll_all=poll_all,
            tag=tag,
            feed_ids=feed_ids,
            on_start=progress.total,
            on_feed=done,
        )


def check_health(engine: Engine, settings: Settings) -> HealthSummary:
    """Queue alerts for feeds that fail or fell silent, on every configured channel."""
    return check_feed_health(engine, settings, _channel_names(settings))


def extract(
    engine: Engine, settings: Settings, observer: Observer = SILENT, *, reprocess: bool = False
) -> ExtractSummary:
    """Claims from every article the current extractor version has not read (every article with
    ``reprocess``). The language model is loaded only when there is work."""
    from etl.extract.engine import EXTRACTOR_VERSION  # spaCy: only when extracting

    total = claims.pending_count(engine, EXTRACTOR_VERSION, reprocess=reprocess)
    if total == 0:
        return ExtractSummary()
    with observer.progress("loading the language model"):
        extractor = claims.load_extractor(settings)
    with observer.progress("extracting claims", total) as progress:
        return claims.extract_articles(
            engine, settings, extractor, reprocess=reprocess, on_batch=progress.advance
        )


def diff(engine: Engine, settings: Settings, *, rebuild: bool = False) -> DiffSummary:
    """Every claim of the current extractor version not yet in the position ledger, applied; alerts
    queued for the events. ``rebuild`` empties the ledger and rebuilds it silently."""
    from etl.extract.engine import EXTRACTOR_VERSION

    return ledger.apply_claims(
        engine, settings, _channel_names(settings), version=EXTRACTOR_VERSION, rebuild=rebuild
    )


def deliver_alerts(
    engine: Engine, settings: Settings, observer: Observer = SILENT, *, flush_digests: bool = False
) -> DeliverySummary:
    """Report alert channels failing for a while on the other channels, then send every due pending
    alert of the configured channels; a line per alert not delivered, per channel down or failing."""

    def sent(alert: Alert, error: str | None) -> None:
        if error and alert.status == AlertStatus.FAILED:
            observer.warn(f"alert {alert.alert_key} given up on {alert.channel}: {alert.last_error}")
        elif error:
            observer.warn(f"alert {alert.alert_key} not delivered to {alert.channel}: {error}")

    channels = channels_from_settings(settings)
    failing = check_channel_health(engine, settings, [channel.name for channel in channels])
    summary = outbox.deliver_pending(engine, settings, channels, on_alert=sent, flush_digests=flush_digests)
    for name in summary.channels_down:
        observer.warn(f"alert channel {name} is down: its alerts stay pending for the next run")
    for name in summary.channels_refusing:
        observer.warn(
            f"alert channel {name} refused {outbox.REFUSALS_IN_A_ROW} alerts in a row: its other alerts"
            " wait for the next run (check its URL and credentials)"
        )
    for name in failing:
        observer.warn(
            f"alert channel {name} has delivered nothing for a while: reported on the other channels"
        )
    if summary.given_up:
        observer.warn(f"{summary.given_up} alerts given up: parley alerts list --failed, parley alerts retry")
    return summary


def run_once(
    engine: Engine,
    settings: Settings,
    observer: Observer = SILENT,
    *,
    poll_all: bool = False,
    tag: str | None = None,
) -> list[str]:
    """ingest → feed health → extract → diff → alerts, once; returns each stage's summary line."""
    return [
        ingest(engine, settings, observer, poll_all=poll_all, tag=tag).line(),
        check_health(engine, settings).line(),
        extract(engine, settings, observer).line(),
        diff(engine, settings).line(),
        deliver_alerts(engine, settings, observer).line(),
    ]


def counts(summary: Summary) -> dict[str, int]:
    """A stage's summary as a few counts: what an orchestrator keeps of a run."""
    if isinstance(summary, IngestSummary):
        by_status = {str(status): summary.count(status) for status in PollStatus}
        return {"feeds": len(summary.outcomes), **by_status, "new_articles": summary.new_articles}
    if isinstance(summary, DeliverySummary):
        return {
            "sent": summary.sent,
            "failed": summary.failed,
            "given_up": summary.given_up,
            "channels_down": len(summary.channels_down),
            "digests": summary.digests,
        }
    return {key: int(value) for key, value in asdict(summary).items()}


def positions_moved(diff_counts: dict[str, int]) -> bool:
    """Whether a diff recorded anything downstream consumers act on (a position event or an alert)."""
    return any(diff_counts.get(key, 0) for key in ("new_positions", "changes", "confirmations", "alerts"))


def _channel_names(settings: Settings) -> list[str]:
    return [channel.name for channel in channels_from_settings(settings)]
