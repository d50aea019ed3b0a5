"""Fixtures for the DAG tests: an Airflow home of the test session, with its metadata in a PostgreSQL
database of its own (created on the test server, migrated with ``airflow db migrate``, dropped at the
end), the project's ``dags/`` as its DAG folder, and the ``parley_db`` connection pointing at the
parley test database.

Airflow reads its configuration once, when it is first imported: so nothing here imports airflow at
module level, and the environment is set before the first test that needs it imports it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from etl import catalog
from etl.demo import demo_feeds, serve_directory
from tests.conftest import ADMIN_URL, REPO

DAGS = REPO / "dags"
DEMO = REPO / "seeds" / "demo"
DAG_IDS = ("parley_ingest", "parley_extract", "parley_alerts")


def airflow_connection_uri(sqlalchemy_url: str) -> str:
    """The URI an operator would put in AIRFLOW_CONN_PARLEY_DB for a parley database URL."""
    return make_url(sqlalchemy_url).set(drivername="postgres").render_as_string(hide_password=False)


def airflow_environment(home: Path, metadata_url: str, parley_url: str) -> dict[str, str]:
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AIRFLOW_CONN_PARLEY_DB": airflow_connection_uri(parley_url),
    }


@contextmanager
def airflow_metadata(home: Path, parley_url: str) -> Iterator[dict[str, str]]:
    """A new Airflow metadata database on the test server, migrated with ``airflow db migrate``;
    yields the Airflow variables for it (``home`` as AIRFLOW_HOME) and drops it afterwards."""
    name = f"airflow_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        metadata_url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        env = airflow_environment(home, metadata_url, parley_url)
        migrate = subprocess.run(
            [str(Path(sys.executable).parent / "airflow"), "db", "migrate"],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=600,
        )
        if migrate.returncode != 0:
            pytest.fail(f"airflow db migrate failed:\n{migrate.stderr[-3000:]}")
        yield env
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def airflow_env(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Airflow configured for this test session, in os.environ too; yields the variables it set."""
    with airflow_metadata(tmp_path_factory.mktemp("airflow_home"), database_url) as env:
        saved = {key: os.environ.get(key) for key in env}
        os.environ.update(env)
        yield env
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def dagbag(airflow_env: dict[str, str]) -> Any:
    """The project's DAG folder parsed as Airflow's DAG processor parses a bundle."""
    from airflow.dag_processing.dagbag import BundleDagBag

    return BundleDagBag(dag_folder=DAGS, bundle_path=DAGS, bundle_name="dags-folder")


@pytest.fixture
def demo_feeds_served(clean_db: Engine) -> Iterator[str]:
    """The demo feeds (``seeds/demo``: a story that moves positions) served on loopback and registered
    in the emptied parley database; yields their base URL."""
    with serve_directory(DEMO) as base:
        catalog.add_feeds(clean_db, demo_feeds(DEMO, base))
        yield base
