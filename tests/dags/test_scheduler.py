"""The DAGs under a real Airflow: api-server, dag-processor and scheduler with the LocalExecutor, as
separate processes, with a metadata database of their own in PostgreSQL.

``parley_ingest`` is triggered once, by hand; ``parley_extract`` and ``parley_alerts`` must then start
by themselves from the Asset events, and everything must succeed with claims in the parley database
and alerts delivered. Slow (a few minutes): the scheduler loop, task start-up and the language model.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine

from models import Alert, Article, Claim, Position
from tests.conftest import free_port
from tests.dags.conftest import DAG_IDS, airflow_metadata
from tests.dags.processes import (
    asset_extras,
    cluster_environment,
    dags_parsed,
    finished_chain,
    run_airflow,
    start_airflow,
    wait_for,
)

pytestmark = pytest.mark.slow

DEADLINE = 600.0  # seconds for the whole chain; it takes about two minutes on an idle 2-core machine


def test_ingest_triggered_once_drives_extract_and_alerts_through_asset_events(
    database_url: str, clean_db: Engine, demo_feeds_served: str, tmp_path: Path
) -> None:
    alerts_file = tmp_path / "alerts.jsonl"
    with ExitStack() as stack:
        env = stack.enter_context(airflow_metadata(tmp_path / "airflow_home", database_url))
        api_port = free_port()
        env = cluster_environment(env, api_port, PARLEY_ALERT_URLS=f"jsonl://{alerts_file}")
        metadata = create_engine(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        stack.callback(metadata.dispose)
        logs = tmp_path / "logs"
        logs.mkdir()
        components = start_airflow(stack, env, logs, api_port)

        wait_for("the dag-processor to parse the DAGs", lambda: dags_parsed(metadata), components, 180)
        for dag_id in DAG_IDS:
            run_airflow(env, "dags", "unpause", dag_id)
        run_airflow(env, "dags", "trigger", "parley_ingest", "--run-id", "by-hand")
        done = wait_for(
            "extract and alerts runs from Asset events",
            lambda: finished_chain(metadata, components[-1]),
            components,
            DEADLINE,
        )
        with metadata.connect() as conn:
            events = {name: asset_extras(conn, name) for name in ("parley_new_articles", "parley_positions")}

    by_dag = {dag: [(run_type, state) for d, _, run_type, state in done if d == dag] for dag in DAG_IDS}
    assert ("manual", "success") in by_dag["parley_ingest"]
    extract_runs = by_dag["parley_extract"]
    assert extract_runs and all(run == ("asset_triggered", "success") for run in extract_runs), extract_runs
    assert ("asset_triggered", "success") in by_dag["parley_alerts"]

    with clean_db.connect() as conn:
        articles = conn.scalar(select(func.count()).select_from(Article))
        claims = conn.scalar(select(func.count()).select_from(Claim))
        positions = conn.scalar(select(func.count()).select_from(Position))
        alerts = conn.execute(select(Alert.status, func.count()).group_by(Alert.status)).all()
    assert articles and claims and positions
    assert events["parley_new_articles"] == [{"new_articles": articles}]
    assert len(events["parley_positions"]) == 1
    assert dict(alerts) == {"sent": events["parley_positions"][0]["alerts"]}
    delivered = [json.loads(line) for line in alerts_file.read_text().splitlines()]
    assert len(delivered) == len({line["alert_id"] for line in delivered}) == dict(alerts)["sent"]
