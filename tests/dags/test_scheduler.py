"""The DAGs under a real Airflow: api-server, dag-processor and scheduler with the LocalExecutor, as
separate processes, with a metadata database of their own in PostgreSQL.

``parley_ingest`` is triggered once, by hand; ``parley_extract`` and ``parley_alerts`` must then start
by themselves from the Asset events, and everything must succeed with claims in the parley database
and alerts delivered. Slow (a few minutes): the scheduler loop, task start-up and the language model.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine

from etl import catalog
from etl.demo import demo_feeds, serve_directory
from etl.settings import PROJECT_ROOT
from models import Alert, Article, Claim, Position
from tests.conftest import free_port
from tests.dags.conftest import DAG_IDS, airflow_metadata

pytestmark = pytest.mark.slow

AIRFLOW = str(Path(sys.executable).parent / "airflow")
DEMO = PROJECT_ROOT / "seeds" / "demo"
DEADLINE = 600.0  # seconds for the whole chain; it takes about two minutes on an idle 2-core machine


class Component:
    """One Airflow command running in the background, its output in a log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logs: Path) -> None:
        self.name = name
        self.log = logs / f"{name}.log"
        self._out: IO[bytes] = self.log.open("wb")
        self.process = subprocess.Popen(
            [AIRFLOW, *args], env=env, stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True
        )

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            pytest.fail(f"airflow {self.name} exited with {self.process.returncode}:\n{self.tail()}")

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._out.close()


@pytest.fixture
def demo_feeds_served(clean_db: Engine) -> Iterator[str]:
    with serve_directory(DEMO) as base:
        catalog.add_feeds(clean_db, demo_feeds(DEMO, base))
        yield base


def airflow(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([AIRFLOW, *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"airflow {' '.join(args)}: {done.stderr[-2000:]}"
    return done.stdout


def wait_for(what: str, condition: Any, components: list[Component], timeout: float) -> Any:
    """Poll ``condition()`` until it returns something truthy; fail with the components' logs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for component in components:
            component.check_alive()
        result = condition()
        if result:
            return result
        time.sleep(2)
    logs = "\n".join(f"--- {c.name} ---\n{c.tail()}" for c in components)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{logs}")


def asset_extras(conn: Any, name: str) -> list[dict[str, Any]]:
    """The extras of an Asset's events, oldest first."""
    query = text(
        "SELECT e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id"
        " WHERE a.name = :name ORDER BY e.id"
    )
    extras = conn.scalars(query, {"name": name})
    return [json.loads(extra) if isinstance(extra, str) else dict(extra) for extra in extras]


def test_ingest_triggered_once_drives_extract_and_alerts_through_asset_events(
    database_url: str, clean_db: Engine, demo_feeds_served: str, tmp_path: Path
) -> None:
    alerts_file = tmp_path / "alerts.jsonl"
    with ExitStack() as stack:
        env = stack.enter_context(airflow_metadata(tmp_path / "airflow_home", database_url))
        api_port = free_port()
        env = {
            **os.environ,
            **env,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            # The tasks reach the parley database through the parley_db connection only.
            "PARLEY_DATABASE_URL": "postgresql+psycopg2://nobody@127.0.0.1:1/nowhere",
            "PARLEY_ALLOWED_HOSTS": "127.0.0.1",
            "PARLEY_TOTAL_TIMEOUT": "5",
            "PARLEY_ALERT_URLS": f"jsonl://{alerts_file}",
        }
        metadata = create_engine(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        stack.callback(metadata.dispose)
        logs = tmp_path / "logs"
        logs.mkdir()
        components: list[Component] = []
        for name, args in (
            ("api-server", ["api-server", "--host", "127.0.0.1", "--port", str(api_port), "--workers", "1"]),
            ("dag-processor", ["dag-processor"]),
            ("scheduler", ["scheduler"]),
        ):
            component = Component(name, args, env, logs)
            stack.callback(component.stop)
            components.append(component)

        def dags_parsed() -> bool:
            with metadata.connect() as conn:
                found = set(conn.scalars(text("SELECT dag_id FROM dag WHERE is_stale IS NOT TRUE")))
            return found >= set(DAG_IDS)

        wait_for("the dag-processor to parse the DAGs", dags_parsed, components, 180)
        for dag_id in DAG_IDS:
            airflow(env, "dags", "unpause", dag_id)
        airflow(env, "dags", "trigger", "parley_ingest", "--run-id", "by-hand")

        def runs() -> list[tuple[str, str, str, str]]:
            with metadata.connect() as conn:
                rows = conn.execute(text("SELECT dag_id, run_id, run_type, state FROM dag_run ORDER BY id"))
                return [(r.dag_id, r.run_id, r.run_type, r.state) for r in rows]

        def chain_finished() -> list[tuple[str, str, str, str]]:
            done = runs()
            failed = [run for run in done if run[3] == "failed"]
            assert not failed, f"failed runs: {failed}\n{components[-1].tail()}"
            finished = {(dag_id, run_type) for dag_id, _, run_type, state in done if state == "success"}
            unfinished = [run for run in done if run[0] != "parley_alerts" and run[3] != "success"]
            wanted = {("parley_ingest", "manual"), ("parley_alerts", "asset_triggered")}
            return done if wanted <= finished and not unfinished else []

        done = wait_for("extract and alerts runs from Asset events", chain_finished, components, DEADLINE)
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
