"""finding a tick's work by index: how far each extractor version has read, claims not yet applied

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 00:50:00.000000

Hand-written, from ``bench/empty_tick.py`` on 200,000 stored articles (issue 7). Every tick asks
which articles the current extractor has not read and which claims the ledger has not applied. Both
were anti-joins over the whole history (``articles`` against ``article_extractions``, ``claims``
against ``position_support``): 80-90 and 50 ms at 200k articles, growing with every article.

- ``extraction_progress``: per extractor version, the article id up to which it has read every
  article. Articles are stored in id order (``etl.ingest`` allocates and commits them under one
  lock), so what is left to read lies above that id: an index range, not the history. Filled by
  the first extraction run; ``article_extractions`` stays the record and decides within the range.
- ``claims.in_ledger``: set when the ledger applies the claim (``position_support`` stays the
  record); a partial index holds only the claims still to apply. Filled from ``position_support``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "extraction_progress",
        sa.Column("extractor_version", sa.String(length=32), nullable=False),
        sa.Column(
            "read_through",
            sa.BigInteger(),
            nullable=False,
            comment="every article with an id up to this one has been read by this version",
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("extractor_version", name=op.f("pk_extraction_progress")),
    )

    op.add_column(
        "claims",
        sa.Column(
            "in_ledger",
            sa.Boolean(),
            server_default=sa.false(),
            nullable=False,
            comment="applied to the position ledger (see position_support)",
        ),
    )
    op.execute(
        "UPDATE claims c SET in_ledger = true"
        " WHERE EXISTS (SELECT 1 FROM position_support ps WHERE ps.claim_id = c.id)"
    )
    op.create_index(
        "ix_claims_not_in_ledger", "claims", ["id"], unique=False, postgresql_where=sa.text("NOT in_ledger")
    )


def downgrade() -> None:
    op.drop_index("ix_claims_not_in_ledger", table_name="claims", postgresql_where=sa.text("NOT in_ledger"))
    op.drop_column("claims", "in_ledger")
    op.drop_table("extraction_progress")
