"""alerts given up and retried by hand, alerts about a failing channel, no token in a channel name

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 08:40:00.000000

- ``alerts.retried_at``: when ``parley alerts retry`` put a failed alert back to pending. An alert is
  given up once it has waited ``PARLEY_ALERT_MAX_AGE_HOURS`` since it was queued, or since that retry.
- ``alerts.kind`` may be ``channel_health``: a channel that has delivered nothing for a while although
  it had alerts to deliver is reported on the other channels.
- A channel's name (the outbox key) masks token-looking path segments now
  (``webhook+https://hooks.example/services/T000/B000/****``). Alerts stored under the old name (the
  token in clear) are renamed, so they are delivered under the new one and the token leaves the
  table. The rule is copied here as it stood, so that this revision always does the same thing. The
  old names cannot be restored: downgrading keeps the masked names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import unquote, urlsplit, urlunsplit

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ("position_change", "feed_health", "channel_health")
KINDS_0010 = ("position_change", "feed_health")
# the schemes whose channel names etl.alerts.channels.urls.mask_url makes (jsonl, console and Apprise
# channels are named otherwise)
MASKED_SCHEMES = ("webhook+http", "webhook+https", "smtp", "smtps")
_TOKEN_SEGMENT = re.compile(r"[A-Za-z0-9_\-]{8,}")
_NAME_SEGMENT = re.compile(r"[a-z]+(?:[-_][a-z]+)*")


def _masked_path(name: str) -> str:
    try:
        parts = urlsplit(name)
    except ValueError:
        return name
    if parts.scheme.lower() not in MASKED_SCHEMES:
        return name
    segments = [
        "****" if _TOKEN_SEGMENT.fullmatch(unquote(s)) and not _NAME_SEGMENT.fullmatch(unquote(s)) else s
        for s in parts.path.split("/")
    ]
    return urlunsplit((parts.scheme, parts.netloc, "/".join(segments), parts.query, parts.fragment))


def _kinds_check(kinds: Sequence[str]) -> None:
    op.drop_constraint("kind", "alerts", type_="check")
    op.create_check_constraint("kind", "alerts", f"kind IN ({', '.join(repr(k) for k in kinds)})")
    op.alter_column("alerts", "kind", comment=" | ".join(kinds), existing_type=sa.String(16))


def upgrade() -> None:
    op.add_column(
        "alerts",
        sa.Column(
            "retried_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="when parley alerts retry last put it back to pending",
        ),
    )
    _kinds_check(KINDS)
    conn = op.get_bind()
    for (old,) in conn.execute(sa.text("SELECT DISTINCT channel FROM alerts")).all():
        new = _masked_path(old)
        if new == old:
            continue
        # a row already under the new name (two URLs differing only in their token) keeps the old one
        conn.execute(
            sa.text(
                "UPDATE alerts a SET channel = :new WHERE a.channel = :old AND NOT EXISTS "
                "(SELECT 1 FROM alerts b WHERE b.alert_key = a.alert_key AND b.channel = :new)"
            ),
            {"old": old, "new": new},
        )


def downgrade() -> None:
    op.execute("DELETE FROM alerts WHERE kind = 'channel_health'")
    _kinds_check(KINDS_0010)
    op.drop_column("alerts", "retried_at")
