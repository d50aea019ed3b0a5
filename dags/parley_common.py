"""What the parley DAGs share: default task arguments, the start date, the Celery queue of the extract
stage, and the parley database of the ``parley_db`` Airflow Connection (open it inside a task: it
reads the connection)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from etl.settings import Settings
    from sqlalchemy.engine import Engine

CONNECTION_ID = "parley_db"
START_DATE = datetime(2025, 1, 1, tzinfo=UTC)
TAGS = ["parley"]

EXTRACT_QUEUE = "extract"
"""The Celery queue of ``parley_extract``'s tasks (spaCy and the ledger): a deployment gives it the
workers that have the memory for the language model (``airflow celery worker -q extract``). Every
other task goes to Airflow's default queue (``[operators] default_queue``, ``default``). The
LocalExecutor ignores queues."""

RETRY_DELAY = timedelta(seconds=float(os.environ.get("PARLEY_TASK_RETRY_DELAY_SECONDS", "60")))
"""The first retry's delay (doubled for each further try): one minute, so that a restarting database
gets time to come back. ``PARLEY_TASK_RETRY_DELAY_SECONDS`` in the DAG processor's environment
changes it (the Celery test shortens it to retry a batch whose worker it killed)."""

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "parley",
    "retries": 3,
    "retry_delay": RETRY_DELAY,
    "retry_exponential_backoff": 2.0,  # 1, 2, 4 minutes by default
    "max_retry_delay": timedelta(minutes=30),
    "execution_timeout": timedelta(minutes=45),
}


def parley_settings() -> Settings:
    """The parley settings with the database of the ``parley_db`` connection, or, when no such
    connection is defined, ``PARLEY_DATABASE_URL`` as for the command line."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException
    from etl.db import settings_for

    try:
        uri: str | None = BaseHook.get_connection(CONNECTION_ID).get_uri()
    except AirflowNotFoundException:
        uri = None
    return settings_for(uri)


@contextmanager
def parley_database() -> Iterator[tuple[Engine, Settings]]:
    """The parley database's engine (disposed of at the end) and the settings, for one task."""
    from etl.db import engine_for

    settings = parley_settings()
    with engine_for(settings) as engine:
        yield engine, settings
