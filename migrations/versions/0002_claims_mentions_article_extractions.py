"""claims, mentions, article extractions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 21:05:52.769952
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "article_extractions",
        sa.Column("article_id", sa.BigInteger(), nullable=False),
        sa.Column("extractor_version", sa.String(length=32), nullable=False),
        sa.Column(
            "processed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("claims", sa.Integer(), server_default="0", nullable=False),
        sa.Column("mentions", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True, comment="why the article could not be read, if so"),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_extractions_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", "extractor_version", name=op.f("pk_article_extractions")),
    )
    op.create_table(
        "claims",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("article_id", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False, comment="canonical actor id"),
        sa.Column("issue", sa.String(length=64), nullable=False, comment="issue key"),
        sa.Column(
            "value",
            sa.Text(),
            nullable=False,
            comment="normalised value as text: 60, all, yes, children,women",
        ),
        sa.Column("value_number", sa.Numeric(), nullable=True, comment="the value when it is a number"),
        sa.Column(
            "stance", sa.String(length=16), nullable=False, comment="proposes | demands | accepts | rejects"
        ),
        sa.Column("evidence", sa.Text(), nullable=False, comment="the sentence the claim was read from"),
        sa.Column("start_offset", sa.Integer(), nullable=False),
        sa.Column("end_offset", sa.Integer(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("extractor_version", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["actor"], ["actors.id"], name=op.f("fk_claims_actor_actors")),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name=op.f("fk_claims_article_id_articles"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["issue"], ["issues.key"], name=op.f("fk_claims_issue_issues")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claims")),
        sa.UniqueConstraint(
            "article_id",
            "actor",
            "issue",
            "value",
            "extractor_version",
            name=op.f("uq_claims_article_id_actor_issue_value_extractor_version"),
        ),
    )
    op.create_index("ix_claims_actor_issue", "claims", ["actor", "issue"], unique=False)
    op.create_table(
        "mentions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("article_id", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("start_offset", sa.Integer(), nullable=False),
        sa.Column("end_offset", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("extractor_version", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor"], ["actors.id"], name=op.f("fk_mentions_actor_actors"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name=op.f("fk_mentions_article_id_articles"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mentions")),
    )
    op.create_index("ix_mentions_actor", "mentions", ["actor"], unique=False)
    op.create_index("ix_mentions_article_id", "mentions", ["article_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_mentions_article_id", table_name="mentions")
    op.drop_index("ix_mentions_actor", table_name="mentions")
    op.drop_table("mentions")
    op.drop_index("ix_claims_actor_issue", table_name="claims")
    op.drop_table("claims")
    op.drop_table("article_extractions")
