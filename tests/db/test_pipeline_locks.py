"""The pipeline's locks (etl.locks): rows of ``pipeline_locks`` held until commit; a writer that has to
wait says which lock it waits on and gives up after its timeout in one line, having written nothing."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl import locks
from etl.ingest.entries import ArticleDraft
from etl.ingest.store import store_feeds
from etl.ledger.store import apply_claims
from etl.settings import Settings
from models import Article, Feed, PipelineLock, Position
from tests.conftest import cli_env_for, run_parley
from tests.db.conftest import VERSION, day, state


@contextmanager
def held(engine: Engine, name: str) -> Iterator[None]:
    """Another session holding the pipeline lock ``name`` until the block ends."""
    with Session(engine) as session, session.begin():
        locks.hold(session, name, timeout=5)
        yield


def draft(n: int) -> ArticleDraft:
    return ArticleDraft(
        guid=f"lock-{n}",
        url=f"http://outlet1.example/lock-{n}",
        canonical_url=f"http://outlet1.example/lock-{n}",
        title=f"story {n}",
        summary=f"the text of story {n}",
        published_at=day(1),
        language="en",
        raw_entry={},
    )


def test_diff_gives_up_in_one_line_naming_the_ledger_lock_another_session_holds(
    ledger_db: Engine, database_url: str
) -> None:
    state(ledger_db, "israel", "ceasefire_duration", "42", "proposes", day(1))
    env = cli_env_for(database_url, LOCK_TIMEOUT_SECONDS="4")
    with held(ledger_db, locks.LEDGER):
        started = time.monotonic()
        result = run_parley("diff", env=env, timeout=60)
        waited = time.monotonic() - started
    assert result.returncode == 1, result.stdout
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr
    assert "waiting for the pipeline lock 'ledger'" in lines[0]  # said while waiting
    assert "gave up after 4 s waiting for the pipeline lock 'ledger'" in lines[-1]
    assert 4 <= waited < 30
    with Session(ledger_db) as session:
        assert session.scalar(select(func.count()).select_from(Position)) == 0

    released = run_parley("diff", env=env, timeout=120)
    assert released.returncode == 0, released.stderr


def test_a_store_gives_up_naming_the_article_store_lock_and_stores_nothing(
    ledger_db: Engine,
) -> None:
    with Session(ledger_db) as session:
        feed_id = session.scalar(select(Feed.id).where(Feed.title == "Outlet 1"))
    assert feed_id is not None
    with (
        held(ledger_db, locks.ARTICLE_STORE),
        Session(ledger_db) as session,
        pytest.raises(locks.LockTimeout, match="pipeline lock 'article_store'"),
        session.begin(),
    ):
        store_feeds(session, [(feed_id, [draft(1)])], lock_timeout=1)
    with Session(ledger_db) as session:
        assert session.scalar(select(func.count()).select_from(Article)) == 0


def test_a_waiting_writer_says_which_lock_and_goes_on_once_it_is_released(
    ledger_db: Engine, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    state(ledger_db, "israel", "ceasefire_duration", "42", "proposes", day(1))
    release = threading.Event()

    def hold_for_a_while() -> None:
        with held(ledger_db, locks.LEDGER):
            release.set()
            time.sleep(locks.NOTICE_AFTER_SECONDS + 1)

    holder = threading.Thread(target=hold_for_a_while)
    holder.start()
    release.wait(10)
    caplog.set_level(logging.WARNING, logger="etl.locks")
    summary = apply_claims(ledger_db, settings.with_changes(lock_timeout_seconds=30), [], version=VERSION)
    holder.join()
    assert summary.claims == 1
    assert any("waiting for the pipeline lock 'ledger'" in r.getMessage() for r in caplog.records)


def test_the_lock_is_held_until_commit_so_writers_take_turns(ledger_db: Engine) -> None:
    order: list[str] = []
    first_has_it = threading.Event()

    def first() -> None:
        with held(ledger_db, locks.LEDGER):
            first_has_it.set()
            time.sleep(0.5)
            order.append("first commits")

    thread = threading.Thread(target=first)
    thread.start()
    first_has_it.wait(10)
    with Session(ledger_db) as session, session.begin():
        locks.hold(session, locks.LEDGER, timeout=10)
        order.append("second has it")
    thread.join()
    assert order == ["first commits", "second has it"]


def test_a_lock_row_deleted_by_hand_comes_back(ledger_db: Engine) -> None:
    with Session(ledger_db) as session, session.begin():
        session.execute(delete(PipelineLock))
    with Session(ledger_db) as session, session.begin():
        locks.hold(session, locks.LEDGER, timeout=5)
    with Session(ledger_db) as session:
        assert session.scalars(select(PipelineLock.name)).all() == [locks.LEDGER]
    with (
        held(ledger_db, locks.LEDGER),
        Session(ledger_db) as session,
        pytest.raises(locks.LockTimeout, match="'ledger'"),
        session.begin(),
    ):
        locks.hold(session, locks.LEDGER, timeout=0.5)


def test_statements_after_the_lock_are_not_bound_by_its_wait(ledger_db: Engine) -> None:
    with Session(ledger_db) as session, session.begin():
        before = session.scalar(select(func.current_setting("lock_timeout")))
        locks.hold(session, locks.LEDGER, timeout=5)
        assert session.scalar(select(func.current_setting("lock_timeout"))) == before
