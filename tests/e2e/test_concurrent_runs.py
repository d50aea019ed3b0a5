"""Issue 16's "done when": three ``parley run --all`` at once over a replay, repeated, give the same
rows as runs one after another, ``mentions`` included (three concurrent runs stored 350 mentions
twice: two runs extracted the same articles and both wrote them).

The 32 good feeds of ../shared/tools/feedreplay.py (the 2023 corpus), at two clock times. One
database gets three concurrent ``python -m etl.cli run --all`` at each time, another three in a
row; their articles, claims, mentions, positions, position changes and alerts are compared as
multisets of what identifies them (database ids and wall-clock times differ by construction, and so
does which copy of a story is stored first: the comparison says how many copies, not which).
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from etl import db
from etl.catalog import add_feeds
from etl.seeds import FeedSeed
from tests.conftest import ADMIN_URL, REPO, Replay, cli_env_for

pytestmark = pytest.mark.slow

CLOCKS = ("2023-11-20T00:00:00Z", "2023-11-23T00:00:00Z")  # two rounds: the suite keeps to its time budget
RUNS = 3

# What identifies each row, independent of ids, wall-clock times (``confirmed_at`` is when the
# ledger saw the confirmation: only whether it did is compared) and which copy came first.
ROWS = {
    "articles": """
        SELECT f.url, a.guid, a.canonical_url, a.title, a.text, a.published_at, a.claimed_published_at,
               a.content_hash, a.duplicate_of IS NOT NULL AS is_copy
        FROM articles a JOIN feeds f ON f.id = a.feed_id""",
    "claims": """
        SELECT f.url, a.guid, c.actor, c.issue, c.value, c.stance, c.evidence, c.start_offset,
               c.end_offset, c.extractor_version
        FROM claims c JOIN articles a ON a.id = c.article_id JOIN feeds f ON f.id = a.feed_id""",
    "mentions": """
        SELECT f.url, a.guid, m.actor, m.start_offset, m.end_offset, m.text, m.extractor_version
        FROM mentions m JOIN articles a ON a.id = m.article_id JOIN feeds f ON f.id = a.feed_id""",
    "positions": """
        SELECT actor, issue, value, stance, valid_from, valid_to, outlets, claims,
               confirmed_at IS NOT NULL AS confirmed
        FROM positions""",
    "position_changes": """
        SELECT actor, issue, kind, old_value, old_stance, new_value, new_stance, published_at,
               confirmed_at IS NOT NULL AS confirmed
        FROM position_changes""",
    "alerts": "SELECT alert_key, kind, subject, status, attempts FROM alerts",
}


def rows(engine: Engine) -> dict[str, Counter[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {table: Counter(tuple(r) for r in conn.execute(text(sql))) for table, sql in ROWS.items()}


@pytest.fixture
def second_database() -> Iterator[str]:
    """A second fresh, migrated database (the session's is the first), dropped afterwards."""
    name = f"parley_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    db.upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def start_run(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "etl.cli", "run", "--all"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(run: subprocess.Popen[str]) -> None:
    out, err = run.communicate(timeout=900)
    assert run.returncode == 0, f"parley run exited {run.returncode}:\n{out}\n{err}"


def test_three_concurrent_runs_store_the_same_rows_as_runs_one_after_another(
    clean_db: Engine, database_url: str, second_database: str, replay: Replay, tmp_path: Path
) -> None:
    feeds = [FeedSeed(url=url, tags=["replay"]) for url in replay.feeds()]
    sequential_engine = create_engine(second_database)
    add_feeds(clean_db, feeds)
    add_feeds(sequential_engine, feeds)
    # feed pages are not fetched: the overlap that matters is in extraction, and it comes sooner
    concurrent = cli_env_for(
        database_url, FETCH_ARTICLES="false", ALERT_URLS=f"jsonl://{tmp_path / 'concurrent.jsonl'}"
    )
    sequential = cli_env_for(
        second_database, FETCH_ARTICLES="false", ALERT_URLS=f"jsonl://{tmp_path / 'sequential.jsonl'}"
    )
    try:
        for clock in CLOCKS:
            replay.set_clock(clock)
            together = [start_run(concurrent) for _ in range(RUNS)]
            for run in together:
                finish(run)
            for _ in range(RUNS):
                finish(start_run(sequential))

        got, want = rows(clean_db), rows(sequential_engine)
    finally:
        sequential_engine.dispose()

    assert sum(want["articles"].values()) > 1000 and sum(want["mentions"].values()) > 1000, {
        table: sum(found.values()) for table, found in want.items()
    }
    assert want["claims"] and want["position_changes"] and want["alerts"]
    for table in ROWS:
        extra, missing = got[table] - want[table], want[table] - got[table]
        assert not extra and not missing, (table, sorted(extra.items())[:5], sorted(missing.items())[:5])
