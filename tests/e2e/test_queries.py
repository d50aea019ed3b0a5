"""docs/queries.sql, run as the analyst role against real news: the first truce of 2023 and its
extensions (18 November - 2 December) replayed through the whole pipeline, then every example query
must run, and return rows. The window reaches into December for the mediators' own positions (on
extending the truce), which the third-parties query needs. The replay is the session's (``truce_news``
in tests/e2e/conftest.py, whose history tests/e2e/test_replay_ledger.py checks): the queries read a
copy of it, to which three feeds that fail on every poll are added and polled three times.

The queries about the Russia–Ukraine talks (named ``ukraine_…``) run here too, on the same schema and
as the same role, but 2023's news holds no Russian or Ukrainian position: the rows they must return
are checked on a ledger of both sides' statements in tests/db/test_views.py."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

from etl import stages
from etl.analysts.role import drop_analyst, grant_analyst
from etl.catalog import add_feeds
from etl.seeds import FeedSeed
from tests.conftest import REPO
from tests.e2e.conftest import TruceNews

QUERIES_FILE = REPO / "docs" / "queries.sql"
MARKER = re.compile(r"^-- name: ([a-z0-9_]+)\s*$", re.MULTILINE)
# feeds that fail on every poll, so the feed-health query has failing feeds to find (it lists those
# that failed three polls in a row)
FAULTS = ("not-found", "http-500", "not-a-feed")
FAULT_POLLS = 3
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
def news_db(truce_news: TruceNews, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A copy of the replayed truce's database, with the failing feeds added and polled through the
    whole pipeline until the feed-health query counts them failing."""
    with truce_news.copy() as url:
        engine = create_engine(url)
        workdir = tmp_path_factory.mktemp("queries")
        # the replay's settings, on the copy, with an alert channel of its own (the replay's file is
        # test_replay_ledger's to count)
        settings = truce_news.settings.with_changes(
            database_url=url, data_dir=workdir / ".parley", alert_urls=[f"jsonl://{workdir / 'alerts.jsonl'}"]
        )
        faults = truce_news.replay.faults()
        add_feeds(engine, [FeedSeed(url=faults[name], tags=["replay", "fault"]) for name in FAULTS])
        for _ in range(FAULT_POLLS):
            stages.run_once(engine, settings, poll_all=True, tag="fault")
        yield engine
        engine.dispose()


@pytest.fixture(scope="module")
def as_analyst(news_db: Engine) -> Iterator[Engine]:
    role = f"parley_analyst_q{uuid.uuid4().hex[:10]}"
    grant_analyst(news_db, PASSWORD, role=role)
    analyst = create_engine(make_url(news_db.url).set(username=role, password=PASSWORD), poolclass=NullPool)
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
