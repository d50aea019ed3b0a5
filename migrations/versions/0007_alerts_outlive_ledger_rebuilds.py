"""alerts outlive a ledger rebuild: alerts.change_id is set to NULL when its event is deleted

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 00:50:00.000000

A new extractor version rebuilds the position ledger from its own claims (``etl.ledger``). The
outbox keeps what it queued and sent before (subject, body and payload say what the event was); with
``ON DELETE CASCADE`` the rebuild would have deleted that history and any alert still to deliver.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK = "fk_alerts_change_id_position_changes"
COMMENT = "the event, while the ledger that recorded it stands (NULL after a rebuild)"


def upgrade() -> None:
    op.drop_constraint(FK, "alerts", type_="foreignkey")
    op.create_foreign_key(FK, "alerts", "position_changes", ["change_id"], ["id"], ondelete="SET NULL")
    op.alter_column("alerts", "change_id", existing_type=sa.BigInteger(), comment=COMMENT)


def downgrade() -> None:
    op.alter_column(
        "alerts", "change_id", existing_type=sa.BigInteger(), comment=None, existing_comment=COMMENT
    )
    op.drop_constraint(FK, "alerts", type_="foreignkey")
    op.create_foreign_key(FK, "alerts", "position_changes", ["change_id"], ["id"], ondelete="CASCADE")
