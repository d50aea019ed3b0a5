"""Airflow as separate processes, for the tests that run the real thing (``test_scheduler.py`` with the
LocalExecutor, ``test_celery.py`` with Celery workers): the environment those processes share, one
component in the background with its log, the ``airflow`` command, and waiting on the metadata
database."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

import psutil
import pytest
from sqlalchemy import text

from tests.dags.conftest import DAG_IDS

AIRFLOW = str(Path(sys.executable).parent / "airflow")


def cluster_environment(metadata_env: dict[str, str], api_port: int, **extra: str) -> dict[str, str]:
    """The environment every component of one test's Airflow shares: the metadata of
    :func:`tests.dags.conftest.airflow_metadata`, the Execution API on ``api_port``, a quick
    scheduler and DAG processor, and parley reaching its database through ``parley_db`` only."""
    return {
        **os.environ,
        **metadata_env,
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
        **extra,
    }


class Component:
    """One Airflow command running in the background, in a session of its own, its output in a log
    file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logs: Path) -> None:
        self.name = name
        self.log = logs / f"{name}.log"
        self._out: IO[bytes] = self.log.open("ab")
        self.process = subprocess.Popen(
            [AIRFLOW, *args], env=env, stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True
        )

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            pytest.fail(f"airflow {self.name} exited with {self.process.returncode}:\n{self.tail()}")

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def kill(self) -> None:
        """SIGKILL to the component and every process it started (a machine lost, not a shutdown):
        a task process may have left the component's process group."""
        try:
            tree = [psutil.Process(self.process.pid)]
            tree += tree[0].children(recursive=True)
        except psutil.NoSuchProcess:
            tree = []
        for process in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self._out.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._out.close()


def start_airflow(stack: ExitStack, env: dict[str, str], logs: Path, api_port: int) -> list[Component]:
    """api-server, dag-processor and scheduler, each stopped when ``stack`` closes; the scheduler last."""
    components = []
    for name, args in (
        ("api-server", ["api-server", "--host", "127.0.0.1", "--port", str(api_port), "--workers", "1"]),
        ("dag-processor", ["dag-processor"]),
        ("scheduler", ["scheduler"]),
    ):
        component = Component(name, args, env, logs)
        stack.callback(component.stop)
        components.append(component)
    return components


def run_airflow(env: dict[str, str], *args: str) -> str:
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


def dags_parsed(metadata: Any) -> bool:
    """Whether the DAG processor has stored every parley DAG in the metadata database."""
    with metadata.connect() as conn:
        found = set(conn.scalars(text("SELECT dag_id FROM dag WHERE is_stale IS NOT TRUE")))
    return found >= set(DAG_IDS)


def dag_runs(metadata: Any) -> list[tuple[str, str, str, str]]:
    """(dag_id, run_id, run_type, state) of every DAG run, oldest first."""
    with metadata.connect() as conn:
        rows = conn.execute(text("SELECT dag_id, run_id, run_type, state FROM dag_run ORDER BY id"))
        return [(r.dag_id, r.run_id, r.run_type, r.state) for r in rows]


def asset_extras(conn: Any, name: str) -> list[dict[str, Any]]:
    """The extras of an Asset's events, oldest first."""
    query = text(
        "SELECT e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id"
        " WHERE a.name = :name ORDER BY e.id"
    )
    extras = conn.scalars(query, {"name": name})
    return [json.loads(extra) if isinstance(extra, str) else dict(extra) for extra in extras]


def finished_chain(
    metadata: Any, scheduler: Component, ingest_run_type: str = "manual"
) -> list[tuple[str, str, str, str]]:
    """The DAG runs once a ``parley_ingest`` run of ``ingest_run_type`` (triggered by hand unless
    told) and the ``parley_alerts`` run its Asset events started have succeeded, with no ingest or
    extract run still going; empty until then. Fails at the first failed run."""
    done = dag_runs(metadata)
    failed = [run for run in done if run[3] == "failed"]
    assert not failed, f"failed runs: {failed}\n{scheduler.tail()}"
    finished = {(dag_id, run_type) for dag_id, _, run_type, state in done if state == "success"}
    unfinished = [run for run in done if run[0] != "parley_alerts" and run[3] != "success"]
    wanted = {("parley_ingest", ingest_run_type), ("parley_alerts", "asset_triggered")}
    return done if wanted <= finished and not unfinished else []
