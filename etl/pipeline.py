"""The stages run one after another, with progress on a terminal: what ``parley run``, ``parley demo``
and the per-stage commands call. Each runner takes the console that progress and warnings go to."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.engine import Engine

from etl.alerts import outbox
from etl.alerts.channels import channels_from_settings
from etl.alerts.health import HealthSummary, check_feed_health
from etl.alerts.outbox import DeliverySummary
from etl.extract import store as claims
from etl.extract.store import ExtractSummary
from etl.ingest.poll import FeedOutcome, IngestSummary, ingest
from etl.ledger import store as ledger
from etl.ledger.store import DiffSummary
from etl.settings import Settings


def progress_bar(label: str, console: Console) -> Progress:
    return Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=True, disable=not console.is_terminal,
    )  # fmt: skip


def run_ingest(
    engine: Engine, settings: Settings, console: Console, *, poll_all: bool = False, tag: str | None = None
) -> IngestSummary:
    """Ingest with a progress bar on a terminal, and a line per failed feed everywhere."""
    progress = progress_bar("polling feeds", console)
    task = progress.add_task("poll", total=None)

    def started(total: int) -> None:
        progress.update(task, total=total)

    def done(outcome: FeedOutcome) -> None:
        progress.advance(task)
        if outcome.status in ("failed", "partial"):
            progress.console.print(
                f"[yellow]{outcome.status}[/] {outcome.url}: {outcome.error}", highlight=False, soft_wrap=True
            )

    with progress:
        return ingest(engine, settings, poll_all=poll_all, tag=tag, on_start=started, on_feed=done)


def run_extract(
    engine: Engine, settings: Settings, console: Console, *, reprocess: bool = False
) -> ExtractSummary:
    from etl.extract.engine import EXTRACTOR_VERSION

    total = claims.pending_count(engine, EXTRACTOR_VERSION, reprocess=reprocess)
    if total == 0:
        return ExtractSummary()
    with progress_bar("loading the language model", console):
        extractor = claims.load_extractor(settings)
    with progress_bar("extracting claims", console) as progress:
        task = progress.add_task("extract", total=total)
        return claims.extract_articles(
            engine, settings, extractor, reprocess=reprocess, on_batch=lambda n: progress.advance(task, n)
        )


def run_diff(engine: Engine, settings: Settings, *, rebuild: bool = False) -> DiffSummary:
    from etl.extract.engine import EXTRACTOR_VERSION

    names = [channel.name for channel in channels_from_settings(settings)]
    return ledger.apply_claims(engine, settings, names, version=EXTRACTOR_VERSION, rebuild=rebuild)


def run_health(engine: Engine, settings: Settings) -> HealthSummary:
    names = [channel.name for channel in channels_from_settings(settings)]
    return check_feed_health(engine, settings, names)


def run_alerts(
    engine: Engine, settings: Settings, console: Console, *, flush_digests: bool = False
) -> DeliverySummary:
    def failed(alert: Any, error: str | None) -> None:
        if error:
            console.print(f"[yellow]alert {alert.alert_key} not delivered[/] to {alert.channel}: {error}")

    return outbox.deliver_pending(
        engine, settings, channels_from_settings(settings), on_alert=failed, flush_digests=flush_digests
    )


def run_once(
    engine: Engine, settings: Settings, console: Console, *, poll_all: bool = False, tag: str | None = None
) -> list[str]:
    """ingest → feed health → extract → diff → alerts, once; returns each stage's summary line."""
    return [
        run_ingest(engine, settings, console, poll_all=poll_all, tag=tag).line(),
        run_health(engine, settings).line(),
        run_extract(engine, settings, console).line(),
        run_diff(engine, settings).line(),
        run_alerts(engine, settings, console).line(),
    ]
