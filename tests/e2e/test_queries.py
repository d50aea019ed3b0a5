"""docs/queries.sql, run as the analyst role against real news: the first truce of 2023 and its
extensions (21 November - 2 December) replayed through the whole pipeline, then every example query
must run, and return rows. The window reaches into December for the mediators' own positions (on
extending the truce), which the third-parties query needs.

The queries about the Russia–Ukraine talks (named ``ukraine_…``) run here too, on the same schema and
as the same role, but 2023's news holds no Russian or Ukrainian position: the rows they must return
are checked on a ledger of both sides' statements in tests/db/test_views.py."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

from etl.analysts.role import drop_analyst, grant_analyst
from etl.catalog import add_feeds
from etl.seeds import FeedSeed
from etl.settings import Settings
from tests.conftest import REPO, Replay

QUERIES_FILE = REPO / "docs" / "queries.sql"
MARKER = re.compile(r"^-- name: ([a-z0-9_]+)\s*$", re.MULTILINE)
START = datetime(2023, 11, 21, 12, tzinfo=UTC)
END = datetime(2023, 12, 2, 12, tzinfo=UTC)
# feeds that fail on every poll, so the feed-health query has failing feeds to find
FAULTS = ("not-found", "http-500", "not-a-feed")
PASSWORD = "analyst-test-password"


def example_queries() -> dict[str, str]:
    """The queries of docs/queries.sql by name: each runs from its `-- name:` line to the next."""
    source = QUERIES_FILE.read_text(encoding="utf-8")
    parts = MARKER.split(source)[1:]  # [name, body, name, body, …]; the header before the first is dropped
    return {name: body.strip() for name, body in zip(parts[::2], parts[1::2], strict=True)}


QUERIES = example_queries()
# answered by the Russia–Ukraine talks, which the replayed 2023 news does not cover
UKRAINE = [name for name in QUERIES if name.startswith("ukraine_")]


def test_queries_file_has_at_least_eight_named_commented_queries() -> None:
    assert len(QUERIES) >= 8
    assert len(UKRAINE) >= 2, "the Russia–Ukraine examples: where the two differ, who moved this month"
    assert len(MARKER.findall(QUERIES_FILE.read_text(encoding="utf-8"))) == len(QUERIES)  # names unique
    for name, body in QUERIES.items():
        lines = body.splitlines()
        assert lines[0].startswith("-- ") and len(lines[0]) > 20, (
            f"{name} needs a comment saying what it asks"
        )
        assert body.rstrip().endswith(";") and body.count(";") == 1, f"{name} must be one statement"


@pytest.fixture(scope="module")
def news_db(engine: Engine, replay: Replay, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The session database emptied, then filled by replaying the corpus in 12-hour steps."""
    with engine.begin() as conn:
        tables = conn.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).all()
        tables = [t for t in tables if t != "alembic_version"]
        conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    workdir = tmp_path_factory.mktemp("queries")
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),  # type: ignore[arg-type]
        data_dir=workdir / ".parley",
        allowed_hosts=["127.0.0.1", "localhost"],
        connect_timeout=2.0,
        total_timeout=5.0,
        # the feed items' own text: the queries need the ledger, not the pages (the ingest replay
        # and the ledger replay fetch them)
        fetch_articles=False,
        alert_urls=[f"jsonl://{workdir / 'alerts.jsonl'}"],  # type: ignore[list-item]
    )
    faults = replay.faults()
    feeds = replay.feeds() + [faults[name] for name in FAULTS]
    add_feeds(engine, [FeedSeed(url=url, tags=["replay"]) for url in feeds])
    replay.run_pipeline(engine, settings, START, END, timedelta(hours=12))
    return engine


@pytest.fixture(scope="module")
def as_analyst(news_db: Engine, database_url: str) -> Iterator[Engine]:
    role = f"parley_analyst_q{uuid.uuid4().hex[:10]}"
    grant_analyst(news_db, PASSWORD, role=role)
    analyst = create_engine(make_url(database_url).set(username=role, password=PASSWORD), poolclass=NullPool)
    yield analyst
    analyst.dispose()
    drop_analyst(news_db, role)


@pytest.mark.slow
@pytest.mark.parametrize("name", [name for name in QUERIES if name not in UKRAINE])
def test_example_query_returns_rows_as_the_analyst(as_analyst: Engine, name: str) -> None:
    with as_analyst.connect() as conn:
        assert conn.scalar(text("SHOW default_transaction_read_only")) == "on"
        rows = conn.execute(text(QUERIES[name])).all()
    assert rows, f"docs/queries.sql: {name} returned no rows on the replayed news"


@pytest.mark.slow
@pytest.mark.parametrize("name", UKRAINE)
def test_ukraine_example_query_runs_as_the_analyst(as_analyst: Engine, name: str) -> None:
    """It runs: a column, view or privilege the query needs and the schema lacks would fail it."""
    with as_analyst.connect() as conn:
        conn.execute(text(QUERIES[name])).all()
