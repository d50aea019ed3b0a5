"""The first truce of 2023 replayed once per test session, for the tests that read it.

Replaying two weeks of the 2023 corpus through the whole pipeline takes a minute or more; the ledger
replay (tests/e2e/test_replay_ledger.py) asserts on what it builds, and the example queries
(tests/e2e/test_queries.py) need a ledger of real news to run on. One replay serves both: it is
built in a database of its own, which then serves as a template (``CREATE DATABASE … TEMPLATE``),
and each test reads and changes a copy of it, never the replay itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from etl import db
from etl.catalog import add_feeds
from etl.seeds import FeedSeed
from etl.settings import Settings
from tests.conftest import ADMIN_URL, Replay, shared_path, start_replay

# 18 November - 2 December 2023 in 12-hour steps: the days before the truce, its agreement (22
# November), its extensions, its end (1 December) and the mediators' calls to extend it again
TRUCE_START = datetime(2023, 11, 18, tzinfo=UTC)
TRUCE_END = datetime(2023, 12, 2, tzinfo=UTC)
TRUCE_STEP = timedelta(hours=12)


@dataclass
class TruceNews:
    """The replayed truce: a template database, the replay server (still running, its clock at
    ``TRUCE_END``) and the settings the pipeline ran with (one alert channel, ``alerts_file``)."""

    template: str
    replay: Replay
    settings: Settings
    alerts_file: Path

    @contextmanager
    def copy(self) -> Iterator[str]:
        """A new database holding what the replay stored (its URL), dropped afterwards."""
        name = f"{self.template}_copy_{uuid.uuid4().hex[:6]}"
        admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
            yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


@pytest.fixture(scope="session")
def truce_news(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TruceNews]:
    """The 32 good feeds of ../shared/tools/feedreplay.py (the 2023 corpus) in a fresh database, one
    ``parley run`` (every feed polled, article pages fetched, alerts sent to a JSON-lines file) at
    each step from ``TRUCE_START`` to ``TRUCE_END``; the database is then left unconnected, a template
    for :meth:`TruceNews.copy`."""
    archive = shared_path("corpus", "news_items_2023q4.jsonl")
    name = f"parley_test_{uuid.uuid4().hex[:10]}_truce"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    workdir = tmp_path_factory.mktemp("truce")
    alerts_file = workdir / "alerts.jsonl"
    settings = Settings(
        database_url=url,  # type: ignore[arg-type]
        data_dir=workdir / ".parley",
        allowed_hosts=["127.0.0.1", "localhost"],
        connect_timeout=2.0,
        total_timeout=5.0,
        fetch_articles=True,
        alert_urls=[f"jsonl://{alerts_file}"],  # type: ignore[list-item]
    )
    replay = start_replay(archive, "2023-11-20T00:00:00Z")
    try:
        engine = create_engine(url)
        try:
            db.upgrade(engine)
            add_feeds(engine, [FeedSeed(url=feed, tags=["replay"]) for feed in replay.feeds()])
            replay.run_pipeline(engine, settings, TRUCE_START, TRUCE_END, TRUCE_STEP)
        finally:
            engine.dispose()  # a template database must have no connections
        yield TruceNews(template=name, replay=replay, settings=settings, alerts_file=alerts_file)
    finally:
        replay.process.terminate()
        replay.process.wait(timeout=10)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
