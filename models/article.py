"""Articles: one row per distinct story a feed delivered, raw and normalised."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Computed,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base
from models.enums import checks


class Article(Base):
    """A story. Identity (see etl.ingest.store): same feed+GUID, or same canonical URL, is the same article;
    the same content under another URL is stored again with ``duplicate_of`` pointing at the first."""

    __tablename__ = "articles"
    __table_args__ = (
        *checks("articles"),
        UniqueConstraint("feed_id", "guid"),
        UniqueConstraint("canonical_url"),
        Index("ix_articles_content_hash_id", "content_hash", "id"),  # the first copy: one probe
        Index("ix_articles_published_at", "published_at"),
        Index("ix_articles_fetched_at", "fetched_at"),  # the articles a run fetched (etl.stages.new_articles)
        Index("ix_articles_search_vector", "search_vector", postgresql_using="gin"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    guid: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text, comment="the link as the feed gave it")
    canonical_url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, server_default="")
    summary: Mapped[str] = mapped_column(Text, server_default="", comment="feed summary, tags stripped")
    text: Mapped[str] = mapped_column(Text, server_default="", comment="main text of the article")
    text_source: Mapped[str] = mapped_column(String(16), comment="page | summary | title")
    language: Mapped[str | None] = mapped_column(String(16))
    published_at: Mapped[datetime | None] = mapped_column(
        comment="when parley believes it was published: the feed's date, or the fetch time if that is later"
    )
    claimed_published_at: Mapped[datetime | None] = mapped_column(
        comment="the publication date the feed gave, believed or not"
    )
    fetched_at: Mapped[datetime] = mapped_column(server_default=func.now())
    content_hash: Mapped[str] = mapped_column(String(64), comment="sha256 of normalised title+text")
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"))
    page_status: Mapped[str | None] = mapped_column(Text, comment="why the page was not used, if not")
    raw_entry: Mapped[dict[str, Any]] = mapped_column(JSONB, comment="the feed entry as parsed")
    raw_html: Mapped[bytes | None] = mapped_column(LargeBinary, comment="zlib-compressed page HTML")
    # For analysts' full-text search (migration 0004). Deferred: the pipeline never reads it.
    search_vector: Mapped[str | None] = mapped_column(
        TSVECTOR,
        Computed("to_tsvector('english'::regconfig, title || ' ' || text)", persisted=True),
        deferred=True,
        comment="full-text search: title + text, 'english' configuration",
    )
