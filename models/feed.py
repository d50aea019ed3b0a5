"""Feeds and their polls: what parley reads, and how each attempt to read it went."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAt
from models.enums import checks


class Feed(CreatedAt, Base):
    __tablename__ = "feeds"
    __table_args__ = checks("feeds")

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    title: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    active: Mapped[bool] = mapped_column(server_default="true")
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text, comment="Last-Modified header, as sent")
    last_status: Mapped[str | None] = mapped_column(
        String(16), comment="ok | not_modified | partial | failed"
    )
    last_http_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_polled_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    consecutive_failures: Mapped[int] = mapped_column(server_default="0")
    next_poll_at: Mapped[datetime | None] = mapped_column(
        server_default=func.now(), comment="the feed is due when this is in the past"
    )


class FeedFetch(Base):
    """One row per poll of a feed, successful or not."""

    __tablename__ = "feed_fetches"
    __table_args__ = (
        *checks("feed_fetches"),
        Index("ix_feed_fetches_feed_id_started_at", "feed_id", "started_at"),
        # the polls that brought news: a feed's rhythm (etl.alerts.health) without walking its empty polls
        Index("ix_feed_fetches_news", "feed_id", "started_at", postgresql_where=text("new_items > 0")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    started_at: Mapped[datetime]
    duration_ms: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), comment="ok | not_modified | partial | failed")
    http_status: Mapped[int | None]
    bytes: Mapped[int] = mapped_column(server_default="0")
    entries: Mapped[int] = mapped_column(server_default="0", comment="entries in the parsed feed")
    new_items: Mapped[int] = mapped_column(server_default="0")
    error: Mapped[str | None] = mapped_column(Text, comment="one-line reason for failed/partial")
