"""What an ingest run announces (``etl.stages.new_articles``): a batch retried after a crashed try
reports only what its last try stored, so the articles the database holds fetched since the run
began count too, and a run that stored nothing announces nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from etl.stages import new_articles
from tests.db.test_claims import store_stories
from tests.db.test_pending_markers import add_articles


def _now(engine: Engine) -> datetime:
    """The database's clock, which stamps ``fetched_at``."""
    with engine.connect() as conn:
        stamp = conn.scalar(select(func.clock_timestamp()))
    assert isinstance(stamp, datetime)
    return stamp


def test_articles_a_crashed_try_stored_count_though_its_retry_reported_none(clean_db: Engine) -> None:
    store_stories(clean_db)  # an earlier run's articles
    began = _now(clean_db)
    add_articles(clean_db, 3)  # the crashed try stored these; its retry found nothing left to store
    assert new_articles(clean_db, [0, 0], began) == 3
    assert new_articles(clean_db, [0, 4], began) == 4  # the batches' own count, when it is more


def test_a_run_that_stored_nothing_announces_nothing(clean_db: Engine) -> None:
    store_stories(clean_db)
    began = _now(clean_db)
    assert new_articles(clean_db, [], began) == 0
    assert new_articles(clean_db, [0, 0], began) == 0
