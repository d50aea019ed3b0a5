"""Fixtures for database tests of the ledger: reference data, three outlets, claims stated on a day."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count

import pytest
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl.catalog import load_reference_data
from etl.settings import PROJECT_ROOT
from models import Article, Claim, Feed

VERSION = "test-1"
# the analysts' views (migration 0004)
VIEWS = [
    "current_positions",
    "position_history",
    "position_change_events",
    "claims_with_evidence",
    "feed_health",
]
_ids = count(1)


def day(n: int) -> datetime:
    return datetime(2025, 1, n, 12, tzinfo=UTC)


@pytest.fixture
def ledger_db(clean_db: Engine) -> Engine:
    load_reference_data(clean_db, PROJECT_ROOT / "seeds")
    with clean_db.begin() as conn:
        conn.execute(
            insert(Feed),
            [{"url": f"http://outlet{i}.example/rss", "title": f"Outlet {i}"} for i in (1, 2, 3)],
        )
    return clean_db


def state(
    engine: Engine,
    actor: str,
    issue: str,
    value: str,
    stance: str,
    when: datetime,
    outlet: int = 1,
    negotiation: str = "gaza",
) -> int:
    """Store an article from ``outlet`` published ``when`` with one claim in ``negotiation``; return
    the claim id."""
    n = next(_ids)
    with Session(engine) as session, session.begin():
        feed_id = session.scalar(select(Feed.id).where(Feed.title == f"Outlet {outlet}"))
        article_id = session.scalar(
            insert(Article)
            .values(
                feed_id=feed_id, guid=f"g{n}", url=f"http://outlet{outlet}.example/{n}", title=f"story {n}",
                text_source="summary", published_at=when, content_hash=f"h{n}", raw_entry={},
            )
            .returning(Article.id)
        )  # fmt: skip
        return int(
            session.scalar(
                insert(Claim)
                .values(
                    article_id=article_id, negotiation=negotiation, actor=actor, issue=issue, value=value,
                    stance=stance, evidence=f"{actor} {stance} {issue} {value} (story {n})", start_offset=0,
                    end_offset=10, confidence=0.9, extractor_version=VERSION,
                )
                .returning(Claim.id)
            )
        )  # fmt: skip
