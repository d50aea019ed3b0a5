"""claim corrections: analysts reject a wrong claim, or restore it, in an append-only audit

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 13:40:00.000000

- ``claim_corrections``: one row per decision (``reject`` | ``restore``), with the claim's id and its
  identity (article, negotiation, actor, issue, value), the reason, who and when. Rows are only
  inserted; whether a claim counts is the latest row for its identity.
- ``alerts.kind`` may be ``correction``: an event withdrawn after a correction is announced, once,
  on the channels that got it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ("position_change", "feed_health", "channel_health", "correction")
KINDS_0012 = ("position_change", "feed_health", "channel_health")


def _kinds_check(kinds: Sequence[str]) -> None:
    op.drop_constraint("kind", "alerts", type_="check")
    op.create_check_constraint("kind", "alerts", f"kind IN ({', '.join(repr(k) for k in kinds)})")
    op.alter_column("alerts", "kind", comment=" | ".join(kinds), existing_type=sa.String(16))


def upgrade() -> None:
    op.create_table(
        "claim_corrections",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False, comment="reject | restore"),
        sa.Column(
            "claim_id",
            sa.BigInteger(),
            nullable=True,
            comment="the claim corrected (NULL once its extractor version's claims are gone)",
        ),
        sa.Column("article_id", sa.BigInteger(), nullable=False, comment="the claim's article (identity)"),
        sa.Column("negotiation", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("issue", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "corrected_by", sa.Text(), nullable=False, comment="who decided (--by, default the OS user)"
        ),
        sa.Column(
            "corrected_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint("action IN ('reject', 'restore')", name=op.f("ck_claim_corrections_action")),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["claims.id"],
            name=op.f("fk_claim_corrections_claim_id_claims"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_corrections")),
    )
    op.create_index(
        "ix_claim_corrections_identity",
        "claim_corrections",
        ["article_id", "negotiation", "actor", "issue", "value", "id"],
    )
    _kinds_check(KINDS)


def downgrade() -> None:
    op.execute("DELETE FROM alerts WHERE kind = 'correction'")
    _kinds_check(KINDS_0012)
    op.drop_index("ix_claim_corrections_identity", table_name="claim_corrections")
    op.drop_table("claim_corrections")
