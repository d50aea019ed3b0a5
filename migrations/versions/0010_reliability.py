"""reliability: alerts that give up, one row per mention, the feed's claimed date kept apart, pipeline locks

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 08:15:00.000000

- ``alerts.status`` may be ``failed``: an alert refused for good, or past its attempts or age, stops
  being retried (a dead letter); ``failed_at`` says when.
- ``mentions`` are unique per (article, extractor version, actor, offsets): concurrent extractions
  of one article stored some twice. The duplicates are deleted, the lowest id kept.
- ``articles.claimed_published_at`` keeps the date the feed gave; ``published_at`` is the time parley
  believes. A date later than the fetch (beyond 15 minutes of clock skew) is not believed: the fetch
  time stands in for it. Rows stored before are corrected the same way (run ``parley diff --rebuild``
  to re-place their claims in the ledger).
- ``pipeline_locks``: one row per lock the pipeline takes (``SELECT … FOR UPDATE``, held until
  commit). Row locks need UPDATE on the table, which the read-only analyst role does not have, so an
  analyst cannot take them (advisory locks are open to every role).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOCKS = ("article_store", "ledger")


def upgrade() -> None:
    op.drop_constraint("status", "alerts", type_="check")
    op.create_check_constraint("status", "alerts", "status IN ('pending', 'sent', 'failed')")
    op.alter_column("alerts", "status", comment="pending | sent | failed", existing_type=sa.String(8))
    op.add_column(
        "alerts",
        sa.Column(
            "failed_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="when it was given up (status failed)",
        ),
    )

    op.execute(
        """
        DELETE FROM mentions m USING mentions keep
        WHERE keep.article_id = m.article_id AND keep.extractor_version = m.extractor_version
          AND keep.actor = m.actor AND keep.start_offset = m.start_offset
          AND keep.end_offset = m.end_offset AND keep.id < m.id
        """
    )
    op.create_unique_constraint(
        op.f("uq_mentions_identity"),
        "mentions",
        ["article_id", "extractor_version", "actor", "start_offset", "end_offset"],
    )

    claimed = sa.Column(
        "claimed_published_at",
        sa.DateTime(timezone=True),
        nullable=True,
        comment="the publication date the feed gave, believed or not",
    )
    op.add_column("articles", claimed)
    op.alter_column(
        "articles",
        "published_at",
        comment="when parley believes it was published: the feed's date, or the fetch time if that is later",
        existing_type=sa.DateTime(timezone=True),
    )
    op.execute("UPDATE articles SET claimed_published_at = published_at")
    op.execute(
        "UPDATE articles SET published_at = fetched_at "
        "WHERE published_at > fetched_at + interval '15 minutes'"
    )

    op.create_table(
        "pipeline_locks",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.PrimaryKeyConstraint("name", name="pk_pipeline_locks"),
        comment="rows the pipeline locks FOR UPDATE to serialise article stores and ledger writes",
    )
    op.bulk_insert(
        sa.table("pipeline_locks", sa.column("name", sa.String)), [{"name": name} for name in LOCKS]
    )


def downgrade() -> None:
    op.drop_table("pipeline_locks")
    op.execute(
        "UPDATE articles SET published_at = claimed_published_at WHERE claimed_published_at IS NOT NULL"
    )
    op.drop_column("articles", "claimed_published_at")
    op.alter_column("articles", "published_at", comment=None, existing_type=sa.DateTime(timezone=True))
    op.drop_constraint(op.f("uq_mentions_identity"), "mentions", type_="unique")
    op.drop_column("alerts", "failed_at")
    op.alter_column("alerts", "status", comment="pending | sent", existing_type=sa.String(8))
    op.execute("UPDATE alerts SET status = 'pending' WHERE status = 'failed'")
    op.drop_constraint("status", "alerts", type_="check")
    op.create_check_constraint("status", "alerts", "status IN ('pending', 'sent')")
