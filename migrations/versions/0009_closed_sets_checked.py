"""closed sets checked by the database: statuses, stances and kinds

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 08:00:00.000000

Statuses, stances and kinds are ``StrEnum``s in code (``models/enums.py``); these CHECK constraints
make the database refuse any other value, whoever writes the row. The lists are written out here, as
migrations freeze their SQL: a new member needs a new migration that replaces the constraint.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POLL_STATUS = ("ok", "not_modified", "partial", "failed")
STANCE = ("proposes", "demands", "accepts", "rejects")
VALUE_TYPE = ("days", "count", "count_or_all", "number", "flag", "choice", "categories")

# (table, column, allowed values, NULL allowed)
CHECKS: tuple[tuple[str, str, tuple[str, ...], bool], ...] = (
    ("actors", "kind", ("party", "mediator", "other"), False),
    ("issues", "value_type", VALUE_TYPE, False),
    ("feeds", "last_status", POLL_STATUS, True),
    ("feed_fetches", "status", POLL_STATUS, False),
    ("articles", "text_source", ("page", "summary", "title"), False),
    ("claims", "stance", STANCE, False),
    ("positions", "stance", STANCE, False),
    ("position_changes", "kind", ("new", "change"), False),
    ("position_changes", "old_stance", STANCE, True),
    ("position_changes", "new_stance", STANCE, False),
    ("alerts", "kind", ("position_change", "feed_health"), False),
    ("alerts", "status", ("pending", "sent"), False),
)


def upgrade() -> None:
    for table, column, values, nullable in CHECKS:
        listed = ", ".join(f"'{value}'" for value in values)
        condition = f"{column} IN ({listed})"
        if nullable:
            condition = f"{column} IS NULL OR {condition}"
        op.create_check_constraint(column, table, condition)  # named ck_<table>_<column>


def downgrade() -> None:
    for table, column, _values, _nullable in reversed(CHECKS):
        op.drop_constraint(column, table, type_="check")  # the same naming convention
