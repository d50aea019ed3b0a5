"""markers that find the work of a tick by index: articles not yet read, claims not yet applied

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 00:50:00.000000

Hand-written, from ``bench/empty_tick.py`` on 200,000 stored articles (issue 7). Every tick asks
which articles the current extractor has not read and which claims the ledger has not applied. Both
were anti-joins over the whole history (``articles`` against ``article_extractions``, ``claims``
against ``position_support``): 80-90 and 50 ms at 200k articles, growing with every article.

- ``articles.extracted_version``: the extractor version that last read the article (NULL: none).
  Indexed, so the articles a version has not read are two small index ranges (``< v``, ``> v``)
  plus the NULLs; ``article_extractions`` stays the record and the final check.
- ``claims.in_ledger``: set when the ledger applies the claim (``position_support`` stays the
  record); a partial index holds only the claims still to apply.

Existing rows are filled from ``article_extractions`` (the latest version to read each article)
and ``position_support``.
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
    op.add_column(
        "articles",
        sa.Column(
            "extracted_version",
            sa.String(length=32),
            nullable=True,
            comment="extractor version that last read the article (NULL: not read yet)",
        ),
    )
    op.execute(
        """
        UPDATE articles a SET extracted_version = latest.extractor_version
          FROM (SELECT DISTINCT ON (article_id) article_id, extractor_version
                  FROM article_extractions
                 ORDER BY article_id, processed_at DESC, extractor_version DESC) latest
         WHERE latest.article_id = a.id
        """
    )
    op.create_index("ix_articles_extracted_version", "articles", ["extracted_version"], unique=False)

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
    op.drop_index("ix_articles_extracted_version", table_name="articles")
    op.drop_column("articles", "extracted_version")
