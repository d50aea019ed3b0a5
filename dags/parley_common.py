"""What the parley DAGs share: default task arguments, the start date, and the parley database of the
``parley_db`` Airflow Connection (open it inside a task: it reads the connection)."""

from __future__ import annotations

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

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "parley",
    "retries": 3,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": 2.0,  # 1, 2, 4 minutes: a restarting database gets time to come back
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
