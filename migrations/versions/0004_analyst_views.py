"""analyst views, full-text search over articles, indexes for the example queries

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 22:20:00.000000

Hand-written. The views speak the codebook's words (``actor`` = canonical actor id, ``issue`` = issue
key, ``value`` = normalised value as text, ``stance``) and every column carries a COMMENT, which is
what analysts read with ``\\d+ view``.

The view of change events is ``position_change_events``: the table ``position_changes`` already has
that name, and the view is every event (not only recent ones), so ``recent_changes`` would mislead.

Grants to the analyst role (``parley db grant-analyst``) live on the objects themselves and vanish
with them; the downgrade drops views with no CASCADE on purpose, so an analyst's own view on top of
ours stops the downgrade instead of disappearing silently.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCH_EXPRESSION = "to_tsvector('english'::regconfig, title || ' ' || text)"

# (name, SELECT, view comment, {column: comment}); created in this order, dropped in reverse
VIEWS: list[tuple[str, str, str, dict[str, str]]] = [
    (
        "current_positions",
        """
        SELECT p.actor, a.name AS actor_name, a.kind AS actor_kind, p.issue, i.label AS issue_label,
               p.value, p.value_number, p.stance, p.valid_from AS since, p.outlets, p.claims,
               p.confirmed_at, p.confirmed_at IS NOT NULL AS confirmed,
               last.evidence AS last_evidence, last.url AS last_url, last.outlet AS last_outlet,
               last.published_at AS last_published_at, p.id AS position_id
          FROM positions p
          JOIN actors a ON a.id = p.actor
          JOIN issues i ON i.key = p.issue
          LEFT JOIN LATERAL (
                SELECT c.evidence, ar.url, coalesce(f.title, f.url) AS outlet, ps.published_at
                  FROM position_support ps
                  JOIN claims c ON c.id = ps.claim_id
                  JOIN articles ar ON ar.id = c.article_id
                  JOIN feeds f ON f.id = ps.feed_id
                 WHERE ps.position_id = p.id
                 ORDER BY ps.published_at DESC, ps.claim_id DESC
                 LIMIT 1
          ) last ON true
         WHERE p.valid_to IS NULL
        """,
        "The position each actor holds now on each issue: one row per actor × issue.",
        {
            "actor": "canonical actor id (codebook), e.g. hamas, israel, qatar",
            "actor_name": "the actor's display name",
            "actor_kind": "party | mediator | other",
            "issue": "issue key (codebook), e.g. ceasefire_duration, prisoners_released",
            "issue_label": "the issue's display label",
            "value": "normalised value as text: 60, all, yes, children,women",
            "value_number": "the value when it is a number, else NULL",
            "stance": "proposes | demands | accepts | rejects",
            "since": "publication time of the first article stating this position",
            "outlets": "distinct outlets (feeds) that stated it",
            "claims": "claims (article statements) that stated it",
            "confirmed_at": "when enough outlets (PARLEY_CONFIRM_OUTLETS) had stated it; NULL = unconfirmed",
            "confirmed": "true once confirmed_at is set",
            "last_evidence": "the sentence of the latest article stating it",
            "last_url": "URL of the latest article stating it",
            "last_outlet": "outlet (feed title, or URL) of the latest article stating it",
            "last_published_at": "publication time of the latest article stating it",
            "position_id": "positions.id of this version (join key to position_history)",
        },
    ),
    (
        "position_history",
        """
        SELECT p.actor, a.name AS actor_name, a.kind AS actor_kind, p.issue, i.label AS issue_label,
               p.value, p.value_number, p.stance, p.valid_from, p.valid_to, p.valid_to IS NULL AS is_current,
               p.outlets, p.claims, p.confirmed_at,
               c.evidence AS first_evidence, ar.url AS first_url,
               coalesce(f.title, f.url) AS first_outlet, p.id AS position_id
          FROM positions p
          JOIN actors a ON a.id = p.actor
          JOIN issues i ON i.key = p.issue
          LEFT JOIN claims c ON c.id = p.opened_by_claim_id
          LEFT JOIN articles ar ON ar.id = c.article_id
          LEFT JOIN feeds f ON f.id = ar.feed_id
        """,
        "Every version of every actor's position on every issue, valid over [valid_from, valid_to).",
        {
            "actor": "canonical actor id (codebook)",
            "actor_name": "the actor's display name",
            "actor_kind": "party | mediator | other",
            "issue": "issue key (codebook)",
            "issue_label": "the issue's display label",
            "value": "normalised value as text: 60, all, yes, children,women",
            "value_number": "the value when it is a number, else NULL",
            "stance": "proposes | demands | accepts | rejects",
            "valid_from": "publication time of the first article stating this version",
            "valid_to": "when the next version began; NULL = the version holds now",
            "is_current": "true for the version that holds now",
            "outlets": "distinct outlets (feeds) that stated it",
            "claims": "claims (article statements) that stated it",
            "confirmed_at": "when enough outlets had stated it; NULL = never confirmed",
            "first_evidence": "the sentence of the article that opened this version",
            "first_url": "URL of the article that opened this version",
            "first_outlet": "outlet (feed title, or URL) of the article that opened this version",
            "position_id": "positions.id of this version",
        },
    ),
    (
        "position_change_events",
        """
        SELECT pc.id AS change_id, pc.actor, a.name AS actor_name, a.kind AS actor_kind, pc.issue,
               pc.kind, pc.old_value, pc.old_stance, pc.new_value, pc.new_stance,
               pc.old_evidence, pc.old_url, pc.new_evidence, pc.new_url, pc.outlet,
               pc.published_at, pc.detected_at, pc.confirmed_at, pc.confirmed_at IS NOT NULL AS confirmed,
               p.outlets, p.valid_to IS NULL AS still_holds, pc.new_position_id AS position_id
          FROM position_changes pc
          JOIN actors a ON a.id = pc.actor
          JOIN positions p ON p.id = pc.new_position_id
        """,
        "Position change events: an actor's first position on an issue (kind new) or a move from one"
        " version to the next (kind change), with both sides' evidence and URLs.",
        {
            "change_id": "position_changes.id; alerts carry it as parley-change-<change_id>",
            "actor": "canonical actor id (codebook)",
            "actor_name": "the actor's display name",
            "actor_kind": "party | mediator | other",
            "issue": "issue key (codebook)",
            "kind": "new (first position seen) | change (moved from the old to the new version)",
            "old_value": "value before the change; NULL for kind new",
            "old_stance": "stance before the change; NULL for kind new",
            "new_value": "value after the change",
            "new_stance": "stance after the change",
            "old_evidence": "sentence that stated the old position",
            "old_url": "URL of the article that stated the old position",
            "new_evidence": "sentence that stated the new position",
            "new_url": "URL of the article that reported the change first",
            "outlet": "outlet (feed) that reported the change first",
            "published_at": "publication time of the first article reporting the change",
            "detected_at": "when parley recorded the change",
            "confirmed_at": "when enough outlets had stated the new position; NULL = unconfirmed",
            "confirmed": "true once confirmed_at is set",
            "outlets": "distinct outlets that have stated the new position so far",
            "still_holds": "true while the new position is still the actor's current one",
            "position_id": "positions.id of the new version",
        },
    ),
    (
        "claims_with_evidence",
        """
        SELECT c.id AS claim_id, c.actor, a.name AS actor_name, c.issue, c.value, c.value_number, c.stance,
               c.evidence, c.confidence, ar.id AS article_id, ar.title, ar.url,
               coalesce(ar.published_at, ar.fetched_at) AS published_at,
               coalesce(f.title, f.url) AS outlet, f.id AS feed_id, ar.duplicate_of,
               ps.position_id, c.extractor_version
          FROM claims c
          JOIN actors a ON a.id = c.actor
          JOIN articles ar ON ar.id = c.article_id
          JOIN feeds f ON f.id = ar.feed_id
          LEFT JOIN position_support ps ON ps.claim_id = c.id
        """,
        "Every claim read from an article, with the article, its outlet and the evidence sentence.",
        {
            "claim_id": "claims.id",
            "actor": "canonical actor id (codebook)",
            "actor_name": "the actor's display name",
            "issue": "issue key (codebook)",
            "value": "normalised value as text: 60, all, yes, children,women",
            "value_number": "the value when it is a number, else NULL",
            "stance": "proposes | demands | accepts | rejects",
            "evidence": "the sentence the claim was read from",
            "confidence": "extractor confidence, 0–1",
            "article_id": "articles.id",
            "title": "the article's title",
            "url": "the article's URL as the feed gave it",
            "published_at": "the article's publication time (fetch time when the feed gave none)",
            "outlet": "outlet (feed title, or URL) that published the article",
            "feed_id": "feeds.id of the outlet",
            "duplicate_of": "articles.id of an earlier article with the same text, if any",
            "position_id": "the ledger version this claim supports; NULL until parley diff applies it",
            "extractor_version": "the extractor version that read the claim",
        },
    ),
    (
        "feed_health",
        """
        SELECT f.id AS feed_id, coalesce(f.title, f.url) AS feed, f.url, f.tags, f.active,
               f.last_status, f.last_error, f.last_polled_at, f.last_success_at, f.consecutive_failures,
               f.next_poll_at, stats.last_new_items_at,
               coalesce(stats.new_items_7d, 0)::numeric / 7 AS items_per_day,
               quiet.polls_since_new_items AS polls_since_new_items,
               CASE WHEN quiet.polls_since_new_items > 0
                    THEN coalesce(stats.last_new_items_at, f.created_at) END AS silent_since,
               (SELECT count(*) FROM articles ar WHERE ar.feed_id = f.id) AS articles
          FROM feeds f
          LEFT JOIN LATERAL (
                SELECT max(ff.started_at) FILTER (WHERE ff.new_items > 0) AS last_new_items_at,
                       sum(ff.new_items) FILTER (WHERE ff.started_at > now() - interval '7 days')
                           AS new_items_7d
                  FROM feed_fetches ff
                 WHERE ff.feed_id = f.id
          ) stats ON true
          LEFT JOIN LATERAL (
                SELECT count(*) AS polls_since_new_items
                  FROM feed_fetches ff
                 WHERE ff.feed_id = f.id AND ff.new_items = 0
                   AND ff.status IN ('ok', 'not_modified', 'partial')
                   AND ff.started_at > coalesce(stats.last_new_items_at, '-infinity')
          ) quiet ON true
        """,
        "Per feed: how its polls are going, how much it brings, and since when it has been silent.",
        {
            "feed_id": "feeds.id",
            "feed": "the feed's title, or its URL",
            "url": "the feed URL parley polls",
            "tags": "negotiation/topic tags of the feed",
            "active": "false when the feed is no longer polled",
            "last_status": "outcome of the latest poll: ok | not_modified | partial | failed",
            "last_error": "one-line reason of the latest failed or partial poll",
            "last_polled_at": "when the feed was last polled",
            "last_success_at": "when a poll last succeeded",
            "consecutive_failures": "failed polls in a row (0 = the latest poll worked)",
            "next_poll_at": "when the feed is due again (backed off while failing)",
            "last_new_items_at": "the latest poll that brought new items (parley's clock)",
            "items_per_day": "new items per day over the last 7 days (parley's clock)",
            "polls_since_new_items": "successful polls since the last one that brought new items",
            "silent_since": "last poll with new items when polls since brought none; NULL = not silent",
            "articles": "articles stored from this feed",
        },
    ),
]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def upgrade() -> None:
    op.add_column(
        "articles",
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(SEARCH_EXPRESSION, persisted=True),
            nullable=True,
            comment="full-text search: title + text, 'english' configuration",
        ),
    )
    op.create_index(
        "ix_articles_search_vector", "articles", ["search_vector"], unique=False, postgresql_using="gin"
    )
    # who moved on what, in time order, per actor and issue
    op.create_index(
        "ix_position_changes_actor_issue_published_at",
        "position_changes",
        ["actor", "issue", "published_at"],
        unique=False,
    )
    for name, select, comment, columns in VIEWS:
        op.execute(f"CREATE VIEW {name} AS {select}")
        op.execute(f"COMMENT ON VIEW {name} IS {_literal(comment)}")
        for column, column_comment in columns.items():
            op.execute(f"COMMENT ON COLUMN {name}.{column} IS {_literal(column_comment)}")


def downgrade() -> None:
    for name, *_ in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    op.drop_index("ix_position_changes_actor_issue_published_at", table_name="position_changes")
    op.drop_index("ix_articles_search_vector", table_name="articles", postgresql_using="gin")
    op.drop_column("articles", "search_vector")
