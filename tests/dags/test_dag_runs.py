"""One ``dag.test()`` run of each DAG against the real PostgreSQL test database, reached through the
``parley_db`` Airflow connection, with the team's demo feeds served on loopback."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from etl import catalog, db, stages
from etl.demo import demo_feeds, serve_directory
from etl.settings import PROJECT_ROOT
from models import Alert, Article, Claim, FeedFetch, Position

DEMO = PROJECT_ROOT / "seeds" / "demo"


@pytest.fixture
def parley_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, airflow_env: dict[str, str]) -> Path:
    """PARLEY_* for the tasks: loopback allowed, alerts to a JSONL file (returned). PARLEY_DATABASE_URL
    points nowhere, so a task that ignored the parley_db connection would fail."""
    alerts = tmp_path / "alerts.jsonl"
    monkeypatch.setenv("PARLEY_DATABASE_URL", "postgresql+psycopg2://nobody@127.0.0.1:1/nowhere")
    monkeypatch.setenv("PARLEY_ALLOWED_HOSTS", "127.0.0.1")
    monkeypatch.setenv("PARLEY_TOTAL_TIMEOUT", "5")
    monkeypatch.setenv("PARLEY_ALERT_URLS", f"jsonl://{alerts}")
    return alerts


@pytest.fixture
def demo_base(clean_db: Engine) -> Iterator[str]:
    """The demo feeds served on loopback and registered as the only feeds."""
    with serve_directory(DEMO) as base:
        catalog.add_feeds(clean_db, demo_feeds(DEMO, base))
        yield base


def count(engine: Engine, model: Any) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(model)) or 0)


def run(dagbag: Any, dag_id: str) -> Any:
    run = dagbag.dags[dag_id].test()
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert run.state == "success", states
    return run


def asset_events(name: str) -> list[dict[str, Any]]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        query = (
            select(AssetEvent.extra)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetModel.name == name)
            .order_by(AssetEvent.id)
        )
        return [dict(extra) for extra in session.scalars(query)]


def pipeline_settings() -> Any:
    """The settings a task builds: the database of the parley_db connection."""
    return db.settings_for(os.environ["AIRFLOW_CONN_PARLEY_DB"])


def ingest_all(settings: Any) -> None:
    """What parley_ingest's tasks do, without Airflow: every due feed, batch by batch."""
    with db.engine_for(settings) as engine:
        for batch in stages.plan_ingest(engine):
            stages.ingest(engine, settings, feed_ids=batch)


def test_ingest_dag_stores_articles_and_emits_their_count(
    dagbag: Any, parley_env: Path, demo_base: str, clean_db: Engine
) -> None:
    feeds = len(demo_feeds(DEMO, demo_base))
    before = len(asset_events("parley_new_articles"))
    run(dagbag, "parley_ingest")
    articles = count(clean_db, Article)
    assert articles >= 10
    assert count(clean_db, FeedFetch) == feeds >= 3  # one poll of each demo feed
    events = asset_events("parley_new_articles")
    assert events[before:] == [{"new_articles": articles}]

    run(dagbag, "parley_ingest")  # nothing due any more: no polls, no articles, no event
    assert count(clean_db, FeedFetch) == feeds
    assert count(clean_db, Article) == articles
    assert len(asset_events("parley_new_articles")) == before + 1


def test_extract_dag_records_claims_and_positions_and_emits_the_positions_asset(
    dagbag: Any, parley_env: Path, demo_base: str, clean_db: Engine
) -> None:
    settings = pipeline_settings()
    ingest_all(settings)
    before = asset_events("parley_positions")
    run(dagbag, "parley_extract")
    assert count(clean_db, Claim) > 0
    assert count(clean_db, Position) > 0
    queued = count(clean_db, Alert)
    assert queued > 0
    events = asset_events("parley_positions")[len(before) :]
    assert len(events) == 1 and events[0]["alerts"] == queued

    run(dagbag, "parley_extract")  # everything processed already: no new positions, no event
    assert count(clean_db, Alert) == queued
    assert len(asset_events("parley_positions")) == len(before) + 1


def test_alerts_dag_delivers_the_outbox(
    dagbag: Any, parley_env: Path, demo_base: str, clean_db: Engine
) -> None:
    settings = pipeline_settings()
    ingest_all(settings)
    with db.engine_for(settings) as engine:
        stages.extract(engine, settings)
        stages.diff(engine, settings)
    queued = count(clean_db, Alert)
    assert queued > 0
    run(dagbag, "parley_alerts")
    with clean_db.connect() as conn:
        pending = conn.scalar(select(func.count()).select_from(Alert).where(Alert.status != "sent"))
    assert pending == 0
    lines = parley_env.read_text().splitlines()
    assert len(lines) == queued
    assert len({json.loads(line)["alert_id"] for line in lines}) == queued
