"""How a tick finds its work (migration 0006): ``extraction_progress`` says up to which article each
extractor version has read everything, ``claims.in_ledger`` points at the claims to apply;
``article_extractions`` and ``position_support`` stay the record and decide."""

from __future__ import annotations

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl.extract.engine import EXTRACTOR_VERSION, Extractor
from etl.extract.store import extract_articles, pending_count, read_through
from etl.ledger import store as ledger
from etl.settings import Settings
from models import Article, ArticleExtraction, Claim, ExtractionProgress
from tests.db.conftest import VERSION, day, state
from tests.db.test_claims import STORIES, store_stories


def add_articles(engine: Engine, n: int, prefix: str = "new") -> list[int]:
    with engine.begin() as conn:
        feed_id = conn.scalar(select(Article.feed_id).limit(1))
        return list(
            conn.scalars(
                insert(Article).returning(Article.id),
                [{"feed_id": feed_id, "guid": f"{prefix}{i}", "title": "Later", "text": f"Story {i}.",
                  "text_source": "summary", "content_hash": f"{prefix}{i}", "raw_entry": {}}
                 for i in range(n)],
            )
        )  # fmt: skip


def mark(engine: Engine, version: str) -> int | None:
    with Session(engine) as session:
        return session.scalar(
            select(ExtractionProgress.read_through).where(ExtractionProgress.extractor_version == version)
        )


def test_extraction_moves_the_reading_mark_and_counts_only_what_lies_above(
    clean_db: Engine, settings: Settings, extractor: Extractor
) -> None:
    ids = store_stories(clean_db)
    assert pending_count(clean_db, EXTRACTOR_VERSION) == len(STORIES)
    assert mark(clean_db, EXTRACTOR_VERSION) == min(ids) - 1  # nothing read: the mark stays below

    extract_articles(clean_db, settings, extractor)
    assert pending_count(clean_db, EXTRACTOR_VERSION) == 0
    assert mark(clean_db, EXTRACTOR_VERSION) == max(ids)
    # another version has read none of them
    assert pending_count(clean_db, EXTRACTOR_VERSION + ".next") == len(STORIES)

    new = add_articles(clean_db, 2)
    assert pending_count(clean_db, EXTRACTOR_VERSION) == 2
    assert extract_articles(clean_db, settings, extractor).articles == 2
    assert pending_count(clean_db, EXTRACTOR_VERSION) == 0
    assert mark(clean_db, EXTRACTOR_VERSION) == max(new)


def test_the_mark_never_passes_an_article_not_yet_read(clean_db: Engine) -> None:
    first, second, third = store_stories(clean_db)[:3]
    with clean_db.begin() as conn:  # read out of order: the second and third, not the first
        conn.execute(
            insert(ArticleExtraction),
            [{"article_id": i, "extractor_version": VERSION} for i in (second, third)],
        )
    with Session(clean_db) as session, session.begin():
        assert read_through(session, VERSION) == first - 1
    assert pending_count(clean_db, VERSION) == len(STORIES) - 2

    with clean_db.begin() as conn:
        conn.execute(insert(ArticleExtraction).values(article_id=first, extractor_version=VERSION))
    assert pending_count(clean_db, VERSION) == len(STORIES) - 3
    assert mark(clean_db, VERSION) == third  # up to the fourth, which is not read


def test_the_record_decides_above_the_mark(clean_db: Engine) -> None:
    """An article above the mark that the record says was read is not counted (nor read again)."""
    ids = store_stories(clean_db)
    with clean_db.begin() as conn:
        conn.execute(insert(ArticleExtraction).values(article_id=ids[-1], extractor_version=VERSION))
    assert pending_count(clean_db, VERSION) == len(ids) - 1


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
