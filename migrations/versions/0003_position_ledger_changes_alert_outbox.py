"""position ledger, changes, alert outbox

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 21:14:42.098332
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "positions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("issue", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("value_number", sa.Numeric(), nullable=True),
        sa.Column("stance", sa.String(length=16), nullable=False),
        sa.Column(
            "valid_from",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="publication time of the first article stating it",
        ),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_by_claim_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "outlets",
            sa.Integer(),
            server_default="0",
            nullable=False,
            comment="distinct feeds that stated it",
        ),
        sa.Column(
            "claims", sa.Integer(), server_default="0", nullable=False, comment="claims that stated it"
        ),
        sa.Column(
            "confirmed_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="when enough outlets had stated it",
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["actor"], ["actors.id"], name=op.f("fk_positions_actor_actors")),
        sa.ForeignKeyConstraint(["issue"], ["issues.key"], name=op.f("fk_positions_issue_issues")),
        sa.ForeignKeyConstraint(
            ["opened_by_claim_id"],
            ["claims.id"],
            name=op.f("fk_positions_opened_by_claim_id_claims"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_positions")),
    )
    op.create_index(
        "ix_positions_actor_issue_valid_from", "positions", ["actor", "issue", "valid_from"], unique=False
    )
    op.create_index(
        "uq_positions_current",
        "positions",
        ["actor", "issue"],
        unique=True,
        postgresql_where=sa.text("valid_to IS NULL"),
    )
    op.create_table(
        "position_changes",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("issue", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False, comment="new | change"),
        sa.Column("old_position_id", sa.BigInteger(), nullable=True),
        sa.Column("new_position_id", sa.BigInteger(), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("old_stance", sa.String(length=16), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=False),
        sa.Column("new_stance", sa.String(length=16), nullable=False),
        sa.Column("old_evidence", sa.Text(), nullable=True),
        sa.Column("old_url", sa.Text(), nullable=True),
        sa.Column("new_evidence", sa.Text(), nullable=False),
        sa.Column("new_url", sa.Text(), nullable=True),
        sa.Column("outlet", sa.Text(), nullable=True, comment="the feed that reported the change first"),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["actor"], ["actors.id"], name=op.f("fk_position_changes_actor_actors")),
        sa.ForeignKeyConstraint(["issue"], ["issues.key"], name=op.f("fk_position_changes_issue_issues")),
        sa.ForeignKeyConstraint(
            ["new_position_id"],
            ["positions.id"],
            name=op.f("fk_position_changes_new_position_id_positions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["old_position_id"],
            ["positions.id"],
            name=op.f("fk_position_changes_old_position_id_positions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_position_changes")),
        sa.UniqueConstraint("new_position_id", name=op.f("uq_position_changes_new_position_id")),
    )
    op.create_index("ix_position_changes_detected_at", "position_changes", ["detected_at"], unique=False)
    op.create_table(
        "position_support",
        sa.Column("claim_id", sa.BigInteger(), nullable=False),
        sa.Column("position_id", sa.BigInteger(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name=op.f("fk_position_support_claim_id_claims"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feeds.id"], name=op.f("fk_position_support_feed_id_feeds"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["position_id"],
            ["positions.id"],
            name=op.f("fk_position_support_position_id_positions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("claim_id", name=op.f("pk_position_support")),
    )
    op.create_index("ix_position_support_position_id", "position_support", ["position_id"], unique=False)
    op.create_table(
        "alerts",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column(
            "alert_key",
            sa.Text(),
            nullable=False,
            comment="stable id of the alert, the same on every channel",
        ),
        sa.Column("kind", sa.String(length=16), nullable=False, comment="position_change | feed_health"),
        sa.Column("change_id", sa.BigInteger(), nullable=True),
        sa.Column("feed_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.Text(), nullable=False, comment="the channel URL, secrets masked"),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "status", sa.String(length=8), server_default="pending", nullable=False, comment="pending | sent"
        ),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "next_attempt_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["position_changes.id"],
            name=op.f("fk_alerts_change_id_position_changes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feeds.id"], name=op.f("fk_alerts_feed_id_feeds"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("alert_key", "channel", name=op.f("uq_alerts_alert_key_channel")),
    )
    op.create_index(
        "ix_alerts_pending",
        "alerts",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("ix_alerts_pending", table_name="alerts", postgresql_where=sa.text("status = 'pending'"))
    op.drop_table("alerts")
    op.drop_index("ix_position_support_position_id", table_name="position_support")
    op.drop_table("position_support")
    op.drop_index("ix_position_changes_detected_at", table_name="position_changes")
    op.drop_table("position_changes")
    op.drop_index(
        "uq_positions_current", table_name="positions", postgresql_where=sa.text("valid_to IS NULL")
    )
    op.drop_index("ix_positions_actor_issue_valid_from", table_name="positions")
    op.drop_table("positions")
