"""feeds, fetches, articles, reference data

Revision ID: 0001
Revises:
Create Date: 2026-11-25 20:58:24.168207
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "actors",
        sa.Column("id", sa.String(length=64), nullable=False, comment="canonical actor id"),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False, comment="party | mediator | other"),
        sa.Column("aliases", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_actors")),
    )
    op.create_table(
        "feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("tags", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True, comment="Last-Modified header, as sent"),
        sa.Column(
            "last_status", sa.String(length=16), nullable=True, comment="ok | not_modified | partial | failed"
        ),
        sa.Column("last_http_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_polled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "next_poll_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
            comment="the feed is due when this is in the past",
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feeds")),
        sa.UniqueConstraint("url", name=op.f("uq_feeds_url")),
    )
    op.create_table(
        "issues",
        sa.Column("key", sa.String(length=64), nullable=False, comment="issue key"),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("value_type", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("choices", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_issues")),
    )
    op.create_table(
        "articles",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("guid", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True, comment="the link as the feed gave it"),
        sa.Column("canonical_url", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "summary", sa.Text(), server_default="", nullable=False, comment="feed summary, tags stripped"
        ),
        sa.Column("text", sa.Text(), server_default="", nullable=False, comment="main text of the article"),
        sa.Column("text_source", sa.String(length=16), nullable=False, comment="page | summary | title"),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column(
            "content_hash", sa.String(length=64), nullable=False, comment="sha256 of normalised title+text"
        ),
        sa.Column("duplicate_of", sa.BigInteger(), nullable=True),
        sa.Column("page_status", sa.Text(), nullable=True, comment="why the page was not used, if not"),
        sa.Column(
            "raw_entry",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="the feed entry as parsed",
        ),
        sa.Column("raw_html", sa.LargeBinary(), nullable=True, comment="zlib-compressed page HTML"),
        sa.ForeignKeyConstraint(
            ["duplicate_of"],
            ["articles.id"],
            name=op.f("fk_articles_duplicate_of_articles"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feeds.id"], name=op.f("fk_articles_feed_id_feeds"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_articles")),
        sa.UniqueConstraint("canonical_url", name=op.f("uq_articles_canonical_url")),
        sa.UniqueConstraint("feed_id", "guid", name=op.f("uq_articles_feed_id_guid")),
    )
    op.create_index("ix_articles_content_hash", "articles", ["content_hash"], unique=False)
    op.create_index("ix_articles_published_at", "articles", ["published_at"], unique=False)
    op.create_table(
        "feed_fetches",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column(
            "status", sa.String(length=16), nullable=False, comment="ok | not_modified | partial | failed"
        ),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("bytes", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "entries", sa.Integer(), server_default="0", nullable=False, comment="entries in the parsed feed"
        ),
        sa.Column("new_items", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True, comment="one-line reason for failed/partial"),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feeds.id"], name=op.f("fk_feed_fetches_feed_id_feeds"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_fetches")),
    )
    op.create_index(
        "ix_feed_fetches_feed_id_started_at", "feed_fetches", ["feed_id", "started_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_feed_fetches_feed_id_started_at", table_name="feed_fetches")
    op.drop_table("feed_fetches")
    op.drop_index("ix_articles_published_at", table_name="articles")
    op.drop_index("ix_articles_content_hash", table_name="articles")
    op.drop_table("articles")
    op.drop_table("issues")
    op.drop_table("feeds")
    op.drop_table("actors")
