"""Extraction over stored articles: every article once per extractor version, idempotent writes."""

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl.extract.engine import EXTRACTOR_VERSION, Extractor
from etl.extract.store import extract_articles, pending_count
from etl.settings import Settings
from models import Article, ArticleExtraction, Claim, Feed, Mention

STORIES = [
    ("Talks resume", "Hamas demands a permanent ceasefire and the release of all Palestinian prisoners."),
    ("Offer", "Israel has proposed a 60-day pause in the fighting in Gaza, officials said."),
    ("Weather", "Heavy rain is expected across the region this weekend."),
    ("Peace plan", "Trump proposes a 30-day ceasefire between Russia and Ukraine."),
    ("", ""),
]


def store_stories(engine: Engine) -> list[int]:
    with Session(engine) as session, session.begin():
        feed_id = session.scalar(insert(Feed).values(url="http://outlet.example/rss").returning(Feed.id))
        return list(
            session.scalars(
                insert(Article).returning(Article.id),
                [
                    {"feed_id": feed_id, "guid": f"g{i}", "title": title, "text": text,
                     "text_source": "summary", "content_hash": f"h{i}", "raw_entry": {}}
                    for i, (title, text) in enumerate(STORIES)
                ],
            )
        )  # fmt: skip


def claim_rows(engine: Engine) -> list[tuple[int, int, str, str, str, str, str]]:
    """(id, article, negotiation, actor, issue, value, stance) of every claim."""
    with Session(engine) as session:
        rows = session.execute(
            select(
                Claim.id,
                Claim.article_id,
                Claim.negotiation,
                Claim.actor,
                Claim.issue,
                Claim.value,
                Claim.stance,
            ).order_by(Claim.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_extract_reads_every_article_once_and_a_rerun_is_a_no_op(
    clean_db: Engine, settings: Settings, extractor: Extractor
) -> None:
    ids = store_stories(clean_db)
    assert pending_count(clean_db, EXTRACTOR_VERSION) == len(ids)

    first = extract_articles(clean_db, settings, extractor)
    rows = claim_rows(clean_db)
    again = extract_articles(clean_db, settings, extractor)

    assert first.articles == len(ids) and again.articles == 0
    assert pending_count(clean_db, EXTRACTOR_VERSION) == 0
    assert claim_rows(clean_db) == rows
    found = {row[2:] for row in rows}
    assert {
        ("gaza", "hamas", "permanent_ceasefire", "yes", "demands"),
        ("gaza", "hamas", "prisoners_released", "all", "demands"),
        ("gaza", "israel", "ceasefire_duration", "60", "proposes"),
        ("ukraine", "united_states", "ceasefire_duration", "30", "proposes"),
    } <= found
    # each claim in its article's negotiation: nothing of the Ukraine story in gaza, and back
    by_article = {(article, negotiation) for _, article, negotiation, *_ in rows}
    assert by_article == {(ids[0], "gaza"), (ids[1], "gaza"), (ids[3], "ukraine")}
    with Session(clean_db) as session:
        marks = session.scalars(select(ArticleExtraction)).all()
        assert {m.article_id for m in marks} == set(ids)
        assert all(m.extractor_version == EXTRACTOR_VERSION for m in marks)
        assert session.scalars(select(Mention.actor)).all()


def test_reprocess_recomputes_in_place_keeping_claim_ids(
    clean_db: Engine, settings: Settings, extractor: Extractor
) -> None:
    store_stories(clean_db)
    extract_articles(clean_db, settings, extractor)
    before = claim_rows(clean_db)
    with clean_db.begin() as conn:  # an article is corrected after the first extraction
        conn.execute(update(Article).where(Article.guid == "g1").values(text="Heavy rain is expected."))

    summary = extract_articles(clean_db, settings, extractor, reprocess=True)
    after = claim_rows(clean_db)

    assert summary.articles == len(STORIES)
    assert [r for r in before if r[5] != "60"] == after  # unchanged claims keep their ids
    assert not any(r[2:5] == ("gaza", "israel", "ceasefire_duration") for r in after)  # the corrected one's
    assert any(r[2:5] == ("ukraine", "united_states", "ceasefire_duration") for r in after)
    again = extract_articles(clean_db, settings, extractor, reprocess=True)
    assert again.articles == len(STORIES) and claim_rows(clean_db) == after
