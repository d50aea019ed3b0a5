"""indexes for a year of history: polls that brought news, and a feed_health view that uses them

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 00:15:00.000000

Hand-written, from ``bench/empty_tick.py`` and ``bench/queries.py`` on 200,000 stored articles
(issue 7). A feed is polled every hour, so ``feed_fetches`` grows by ~9,000 rows per feed a year
whatever the feed brings, and two readers aggregated all of a feed's polls:

- the feed-health check (``etl.health``, every ``parley run``) reads a feed's latest 20 polls that
  brought news: with only ``(feed_id, started_at)`` it walks back through every empty poll between
  them; the partial index ``ix_feed_fetches_news`` holds the polls with news alone;
- the ``feed_health`` view aggregated every poll of every feed for ``last_new_items_at`` and
  ``new_items_7d``. It now asks for the latest poll with news (one probe of the partial index) and
  sums the last seven days (a range of the ``(feed_id, started_at)`` index): same columns, same
  values, same comments and grants (``CREATE OR REPLACE VIEW`` keeps them);
- ``current_positions`` takes each current version's latest supporting claim: with only
  ``(position_id)`` it read and sorted every claim that ever supported the version (a position held
  for months has thousands); ``(position_id, published_at, claim_id)`` gives the latest in one probe
  and still serves the ledger's lookups by position, so it replaces the narrower index.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FEED_HEALTH_HEAD = """
        SELECT f.id AS feed_id, coalesce(f.title, f.url) AS feed, f.url, f.tags, f.active,
               f.last_status, f.last_error, f.last_polled_at, f.last_success_at, f.consecutive_failures,
               f.next_poll_at, stats.last_new_items_at,
               coalesce(stats.new_items_7d, 0)::numeric / 7 AS items_per_day,
               quiet.polls_since_new_items AS polls_since_new_items,
               CASE WHEN quiet.polls_since_new_items > 0
                    THEN coalesce(stats.last_new_items_at, f.created_at) END AS silent_since,
               (SELECT count(*) FROM articles ar WHERE ar.feed_id = f.id) AS articles
          FROM feeds f
"""
_FEED_HEALTH_QUIET = """
          LEFT JOIN LATERAL (
                SELECT count(*) AS polls_since_new_items
                  FROM feed_fetches ff
                 WHERE ff.feed_id = f.id AND ff.new_items = 0
                   AND ff.status IN ('ok', 'not_modified', 'partial')
                   AND ff.started_at > coalesce(stats.last_new_items_at, '-infinity')
          ) quiet ON true
"""
FEED_HEALTH = (
    _FEED_HEALTH_HEAD
    + """
          LEFT JOIN LATERAL (
                SELECT (SELECT ff.started_at
                          FROM feed_fetches ff
                         WHERE ff.feed_id = f.id AND ff.new_items > 0
                         ORDER BY ff.started_at DESC
                         LIMIT 1) AS last_new_items_at,
                       (SELECT sum(ff.new_items)
                          FROM feed_fetches ff
                         WHERE ff.feed_id = f.id AND ff.started_at > now() - interval '7 days')
                           AS new_items_7d
          ) stats ON true
"""
    + _FEED_HEALTH_QUIET
)
FEED_HEALTH_0004 = (
    _FEED_HEALTH_HEAD
    + """
          LEFT JOIN LATERAL (
                SELECT max(ff.started_at) FILTER (WHERE ff.new_items > 0) AS last_new_items_at,
                       sum(ff.new_items) FILTER (WHERE ff.started_at > now() - interval '7 days')
                           AS new_items_7d
                  FROM feed_fetches ff
                 WHERE ff.feed_id = f.id
          ) stats ON true
"""
    + _FEED_HEALTH_QUIET
)


def upgrade() -> None:
    op.create_index(
        "ix_feed_fetches_news",
        "feed_fetches",
        ["feed_id", "started_at"],
        unique=False,
        postgresql_where=sa.text("new_items > 0"),
    )
    op.execute(f"CREATE OR REPLACE VIEW feed_health AS {FEED_HEALTH}")
    op.create_index(
        "ix_position_support_position_id_published_at",
        "position_support",
        ["position_id", "published_at", "claim_id"],
        unique=False,
    )
    op.drop_index("ix_position_support_position_id", table_name="position_support")


def downgrade() -> None:
    op.create_index("ix_position_support_position_id", "position_support", ["position_id"], unique=False)
    op.drop_index("ix_position_support_position_id_published_at", table_name="position_support")
    op.execute(f"CREATE OR REPLACE VIEW feed_health AS {FEED_HEALTH_0004}")
    op.drop_index(
        "ix_feed_fetches_news", table_name="feed_fetches", postgresql_where=sa.text("new_items > 0")
    )
