"""an index on articles.fetched_at: the hourly count of the articles a run fetched

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 00:10:00.000000

``parley_ingest`` announces the articles fetched since its run began (``etl.stages.new_articles``),
a count of ``articles`` by ``fetched_at >= start``. Without an index that is a scan of every stored
article once an hour; with it, a range of the newest entries, whatever the table's size.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_articles_fetched_at", "articles", ["fetched_at"])


def downgrade() -> None:
    op.drop_index("ix_articles_fetched_at", table_name="articles")
