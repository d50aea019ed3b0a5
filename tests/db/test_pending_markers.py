"""How a tick finds its work: ``articles.extracted_version`` and ``claims.in_ledger`` (migration 0006)
point at the few articles to read and claims to apply; ``article_extractions`` and
``position_support`` stay the record and decide among them."""

from __future__ import annotations

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl import ledger
from etl.claims import extract_articles, pending_count
from etl.extract import EXTRACTOR_VERSION, Extractor
from etl.settings import Settings
from models import Article, Claim
from tests.db.conftest import VERSION, day, state
from tests.db.test_claims import STORIES, store_stories


def versions(engine: Engine) -> list[str | None]:
    with Session(engine) as session:
        return list(session.scalars(select(Article.extracted_version).order_by(Article.id)))


def test_extraction_marks_the_articles_it_read_and_counts_only_the_rest(
    clean_db: Engine, settings: Settings, extractor: Extractor
) -> None:
    store_stories(clean_db)
    assert versions(clean_db) == [None] * len(STORIES)

    extract_articles(clean_db, settings, extractor)
    assert versions(clean_db) == [EXTRACTOR_VERSION] * len(STORIES)
    assert pending_count(clean_db, EXTRACTOR_VERSION) == 0
    # another version has read none of them: all are pending for it, none for the one that read them
    assert pending_count(clean_db, EXTRACTOR_VERSION + ".next") == len(STORIES)
    assert pending_count(clean_db, "0." + EXTRACTOR_VERSION) == len(STORIES)

    with clean_db.begin() as conn:  # two new articles
        feed_id = conn.scalar(select(Article.feed_id).limit(1))
        conn.execute(
            insert(Article),
            [{"feed_id": feed_id, "guid": f"new{i}", "title": "Later", "text": f"Story {i}.",
              "text_source": "summary", "content_hash": f"new{i}", "raw_entry": {}} for i in (1, 2)],
        )  # fmt: skip
    assert pending_count(clean_db, EXTRACTOR_VERSION) == 2
    assert extract_articles(clean_db, settings, extractor).articles == 2
    assert pending_count(clean_db, EXTRACTOR_VERSION) == 0


def test_the_record_decides_when_the_marker_is_missing(
    clean_db: Engine, settings: Settings, extractor: Extractor
) -> None:
    """An article whose marker was lost (or says another version read it last) is not read again
    by a version that article_extractions says already read it."""
    store_stories(clean_db)
    extract_articles(clean_db, settings, extractor)
    with clean_db.begin() as conn:
        conn.execute(update(Article).where(Article.guid == "g0").values(extracted_version=None))
        conn.execute(update(Article).where(Article.guid == "g1").values(extracted_version="0.0.1"))
    assert pending_count(clean_db, EXTRACTOR_VERSION) == 0
    assert extract_articles(clean_db, settings, extractor).articles == 0


def test_reprocessing_keeps_the_marker_at_the_version_that_read_last(
    clean_db: Engine, settings: Settings, extractor: Extractor
) -> None:
    store_stories(clean_db)
    extract_articles(clean_db, settings, extractor)
    extract_articles(clean_db, settings, extractor, reprocess=True)
    assert versions(clean_db) == [EXTRACTOR_VERSION] * len(STORIES)


def in_ledger(engine: Engine) -> dict[int, bool]:
    with Session(engine) as session:
        return {id: marked for id, marked in session.execute(select(Claim.id, Claim.in_ledger))}


def test_the_ledger_marks_the_claims_it_applies(ledger_db: Engine, settings: Settings) -> None:
    first = state(ledger_db, "hamas", "ceasefire_duration", "4", "accepts", day(1))
    second = state(ledger_db, "hamas", "ceasefire_duration", "5", "accepts", day(2), outlet=2)
    assert in_ledger(ledger_db) == {first: False, second: False}

    summary = ledger.apply_claims(ledger_db, settings, [], version=VERSION)
    assert summary.claims == 2
    assert in_ledger(ledger_db) == {first: True, second: True}

    third = state(ledger_db, "israel", "ceasefire_duration", "4", "proposes", day(3))
    assert ledger.apply_claims(ledger_db, settings, [], version=VERSION).claims == 1
    assert in_ledger(ledger_db)[third] is True
    assert ledger.apply_claims(ledger_db, settings, [], version=VERSION).claims == 0


def test_a_claim_marked_but_not_in_the_record_is_not_applied_twice_nor_lost(
    ledger_db: Engine, settings: Settings
) -> None:
    """position_support decides: a claim whose marker was reset is not applied again."""
    claim = state(ledger_db, "hamas", "ceasefire_duration", "4", "accepts", day(1))
    ledger.apply_claims(ledger_db, settings, [], version=VERSION)
    with ledger_db.begin() as conn:
        conn.execute(update(Claim).where(Claim.id == claim).values(in_ledger=False))
    assert ledger.apply_claims(ledger_db, settings, [], version=VERSION).claims == 0
    with Session(ledger_db) as session:
        assert session.scalar(select(func.count()).select_from(Claim).where(~Claim.in_ledger)) == 1
