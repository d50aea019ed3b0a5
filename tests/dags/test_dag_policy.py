"""The DAG folder as Airflow's DAG processor sees it: every file imports, and every DAG follows the
house rules (STYLE.md) and is wired to the others through the Assets in ``dags/parley_assets.py``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest

from tests.dags.conftest import DAG_IDS, DAGS


def test_every_dag_file_imports_without_errors(dagbag: Any) -> None:
    assert dagbag.import_errors == {}
    assert sorted(dagbag.dag_ids) == sorted(DAG_IDS)


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_dag_id_is_its_file_name(dagbag: Any, dag_id: str) -> None:
    assert os.path.basename(dagbag.dags[dag_id].fileloc) == f"{dag_id}.py"


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_dag_follows_the_house_rules(dagbag: Any, dag_id: str) -> None:
    dag = dagbag.dags[dag_id]
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert "parley" in dag.tags
    assert dag.doc_md and dag_id in dag.doc_md
    assert dag.start_date is not None and dag.start_date.tzinfo is not None
    assert dag.tasks
    for task in dag.tasks:
        assert task.retries >= 2, task.task_id
        assert task.retry_exponential_backoff >= 2, task.task_id
        assert task.execution_timeout is not None and task.execution_timeout <= timedelta(hours=1)


def test_ingest_runs_hourly_and_fans_out_over_feed_batches(dagbag: Any) -> None:
    dag = dagbag.dags["parley_ingest"]
    assert dag.timetable.expression == "0 * * * *"
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    assert isinstance(dag.get_task("ingest_batch"), MappedOperator)
    assert dag.get_task("plan_batches").task_id in dag.get_task("ingest_batch").upstream_task_ids


def _outlets(dag: Any) -> set[str]:
    return {outlet.name for task in dag.tasks for outlet in task.outlets}


def _asset_names(condition: Any) -> set[str]:
    """The names of the assets in a schedule's condition (an Asset, or AssetAll/AssetAny of them)."""
    if hasattr(condition, "objects"):
        return set().union(*(_asset_names(part) for part in condition.objects))
    return {condition.name}


def _scheduled_on(dag: Any) -> set[str]:
    return _asset_names(dag.timetable.asset_condition)


def test_extract_is_scheduled_on_the_asset_ingest_emits(dagbag: Any) -> None:
    from parley_assets import NEW_ARTICLES

    ingest, extract = dagbag.dags["parley_ingest"], dagbag.dags["parley_extract"]
    assert _outlets(ingest) == {NEW_ARTICLES.name}
    assert _scheduled_on(extract) == {NEW_ARTICLES.name}


def test_alerts_run_on_the_asset_extract_emits_or_every_15_minutes(dagbag: Any) -> None:
    from airflow.sdk import AssetOrTimeSchedule
    from parley_assets import POSITIONS

    extract, alerts = dagbag.dags["parley_extract"], dagbag.dags["parley_alerts"]
    assert _outlets(extract) == {POSITIONS.name}
    assert isinstance(alerts.timetable, AssetOrTimeSchedule)
    assert _scheduled_on(alerts) == {POSITIONS.name}
    assert alerts.timetable.timetable.expression == "*/15 * * * *"
    assert _outlets(alerts) == set()


def test_parsing_the_dags_imports_no_etl_code_and_no_spacy(airflow_env: dict[str, str]) -> None:
    """The DAG processor re-parses the files every 30 s: parsing must not load parley or spaCy."""
    probe = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from airflow.dag_processing.dagbag import BundleDagBag\n"
        f"bag = BundleDagBag(dag_folder=Path({str(DAGS)!r}), bundle_path=Path({str(DAGS)!r}))\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('etl', 'models', 'spacy', 'feedparser')]\n"
        "errors = list(bag.import_errors)\n"
        "print(json.dumps({'dags': sorted(bag.dag_ids), 'errors': errors, 'heavy': sorted(heavy)}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env={**os.environ, **airflow_env}, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"dags": sorted(DAG_IDS), "errors": [], "heavy": []}


def test_extract_tasks_go_to_their_own_queue_and_the_others_to_the_default_one(dagbag: Any) -> None:
    """Under Celery, the workers that hold spaCy's model take ``parley_extract``; feeds and alerts are
    polled and delivered by any worker of the default queue."""
    from airflow.configuration import conf
    from parley_common import EXTRACT_QUEUE

    default_queue = conf.get("operators", "default_queue")
    assert default_queue != EXTRACT_QUEUE
    queues = {(dag_id, task.task_id): task.queue for dag_id in DAG_IDS for task in dagbag.dags[dag_id].tasks}
    assert {key: queue for key, queue in queues.items() if key[0] == "parley_extract"} == {
        ("parley_extract", "extract_claims"): EXTRACT_QUEUE,
        ("parley_extract", "apply_claims"): EXTRACT_QUEUE,
        ("parley_extract", "announce_positions"): EXTRACT_QUEUE,
    }
    others = {key: queue for key, queue in queues.items() if key[0] != "parley_extract"}
    assert others and set(others.values()) == {default_queue}, others


def test_the_retry_delay_is_a_minute_unless_the_environment_says_otherwise(
    airflow_env: dict[str, str],
) -> None:
    probe = (
        "import sys\n"
        f"sys.path.insert(0, {str(DAGS)!r})\n"
        "from parley_common import DEFAULT_ARGS\n"
        "print(DEFAULT_ARGS['retry_delay'].total_seconds())\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "PARLEY_TASK_RETRY_DELAY_SECONDS"}
    for extra, seconds in (({}, 60.0), ({"PARLEY_TASK_RETRY_DELAY_SECONDS": "2"}, 2.0)):
        done = subprocess.run(
            [sys.executable, "-c", probe], env={**env, **airflow_env, **extra}, capture_output=True,
            text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        assert float(done.stdout.split()[-1]) == seconds, extra
