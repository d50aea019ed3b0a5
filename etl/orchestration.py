"""What an orchestrator (the Airflow DAGs in ``dags/``) calls: each stage as one function of the parley
settings that opens and closes its own engine and returns a small dict of counts, small enough for
XCom, plus the settings built from an orchestrator's database connection.

Never imports airflow: a DAG looks up its ``parley_db`` Connection itself and hands the connection's
URI in as a string. Every function here works on "everything not yet done" in the database, so a
retried or coalesced run is a no-op where its work was already done.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime

from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session

from etl import db
from etl.alerts import outbox
from etl.alerts.channels import channels_from_settings
from etl.alerts.health import check_feed_health
from etl.extract import store as claims
from etl.ingest.poll import due_feeds, ingest
from etl.ledger import store as ledger
from etl.settings import Settings, load_settings

log = logging.getLogger(__name__)

FEEDS_PER_BATCH = 20
"""Feeds one ingest task polls (``settings.ingest_workers`` at a time): the unit a Celery or
Kubernetes executor spreads over workers."""

# Airflow's postgres connections carry hook options (cursor, iam, aws_conn_id …) in the same query
# string as libpq's; only libpq's may reach psycopg2, which rejects any other keyword.
_LIBPQ_OPTIONS = frozenset(
    {
        "sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword", "sslcrl", "connect_timeout",
        "application_name", "options", "target_session_attrs", "keepalives", "keepalives_idle",
        "keepalives_interval", "keepalives_count", "gssencmode", "channel_binding",
    }
)  # fmt: skip


def connection_database_url(connection_uri: str) -> str:
    """An Airflow Connection URI (``postgres://user:pass@host:5432/parley?sslmode=require``, as
    ``Connection.get_uri()`` renders it) as the SQLAlchemy URL parley's engine takes."""
    try:
        url = make_url(connection_uri)
    except ArgumentError as exc:
        raise db.DatabaseUnavailable(f"the parley_db connection is not a database URI: {exc}") from exc
    if url.drivername.split("+")[0] not in ("postgres", "postgresql"):
        raise db.DatabaseUnavailable(
            f"the parley_db connection must point at PostgreSQL, not {url.drivername!r}"
        )
    query = {key: value for key, value in url.query.items() if key in _LIBPQ_OPTIONS}
    url = url.set(drivername="postgresql+psycopg2", query=query)
    return url.render_as_string(hide_password=False)


def settings_for(connection_uri: str | None) -> Settings:
    """The parley settings (``PARLEY_*``), with the database of the orchestrator's connection when
    there is one; without it, ``PARLEY_DATABASE_URL`` or the embedded database as everywhere else."""
    settings = load_settings()
    if connection_uri is None:
        return settings
    return settings.with_changes(database_url=connection_database_url(connection_uri))


@contextmanager
def _engine(settings: Settings) -> Iterator[Engine]:
    engine = db.get_engine(settings)
    try:
        yield engine
    finally:
        engine.dispose()


def plan_ingest(settings: Settings, batch_size: int = FEEDS_PER_BATCH) -> list[list[int]]:
    """The ids of the feeds due now, in batches of ``batch_size``; fails when the schema is not at
    the code's revision, before any feed is polled."""
    with _engine(settings) as engine:
        db.require_schema(engine)
        with Session(engine) as session:
            ids = [feed.id for feed in due_feeds(session, datetime.now(UTC))]
    return [ids[start : start + batch_size] for start in range(0, len(ids), batch_size)]


def ingest_batch(settings: Settings, feed_ids: Sequence[int]) -> dict[str, int]:
    """Poll those of ``feed_ids`` still due (a retried batch skips the feeds it already polled)."""
    with _engine(settings) as engine:
        summary = ingest(engine, settings, feed_ids=feed_ids)
    for outcome in summary.outcomes:
        if outcome.status in ("failed", "partial"):
            log.warning("%s %s: %s", outcome.status, outcome.url, outcome.error)
    counts = {status: summary.count(status) for status in ("ok", "partial", "not_modified", "failed")}
    return {"feeds": len(summary.outcomes), **counts, "new_articles": summary.new_articles}


def check_health(settings: Settings) -> dict[str, int]:
    """Queue alerts for failing and silent feeds."""
    names = [channel.name for channel in channels_from_settings(settings)]
    with _engine(settings) as engine:
        return asdict(check_feed_health(engine, settings, names))


def extract_pending(settings: Settings) -> dict[str, int]:
    """Claims from every article the current extractor version has not read yet."""
    from etl.extract.engine import EXTRACTOR_VERSION  # spaCy: only in the task that extracts

    with _engine(settings) as engine:
        if claims.pending_count(engine, EXTRACTOR_VERSION) == 0:
            return asdict(claims.ExtractSummary())
        return asdict(claims.extract_articles(engine, settings, claims.load_extractor(settings)))


def apply_claims(settings: Settings) -> dict[str, int]:
    """Every claim of the current extractor version not yet in the ledger, applied; alerts queued."""
    from etl.extract.engine import EXTRACTOR_VERSION

    names = [channel.name for channel in channels_from_settings(settings)]
    with _engine(settings) as engine:
        return asdict(ledger.apply_claims(engine, settings, names, version=EXTRACTOR_VERSION))


def positions_moved(diff: dict[str, int]) -> bool:
    """Whether a diff recorded anything downstream consumers act on (a position event or an alert)."""
    return any(diff.get(key, 0) for key in ("new_positions", "changes", "confirmations", "alerts"))


def deliver_alerts(settings: Settings) -> dict[str, int]:
    """Send every due pending alert of the configured channels."""
    with _engine(settings) as engine:
        summary = outbox.deliver_pending(engine, settings, channels_from_settings(settings))
    for name in summary.channels_down:
        log.warning("alert channel %s is down: its alerts stay pending for the next run", name)
    return {
        "sent": summary.sent,
        "failed": summary.failed,
        "channels_down": len(summary.channels_down),
        "digests": summary.digests,
    }

