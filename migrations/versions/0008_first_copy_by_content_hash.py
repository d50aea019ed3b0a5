"""the first stored copy of a content hash in one index probe: index articles (content_hash, id)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 04:00:00.000000

Storing an article looks up the first stored copy of its content (``duplicate_of``, see
``etl.ingest.store_feeds``): ``min(id)`` among the rows with its content hash. On an index of the hash
alone that reads every copy, and a story repeated by many outlets (or the title of a recurring
column) has hundreds; with the id in the index it is the first entry under the hash.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_articles_content_hash_id", "articles", ["content_hash", "id"])
    op.drop_index("ix_articles_content_hash", table_name="articles")


def downgrade() -> None:
    op.create_index("ix_articles_content_hash", "articles", ["content_hash"])
    op.drop_index("ix_articles_content_hash_id", table_name="articles")
