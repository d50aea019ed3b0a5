"""negotiations: every issue, claim, position and change belongs to one negotiation

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 12:30:00.000000

Codebook v2 follows several negotiations at once. Actors stay shared; issues belong to one
negotiation, and the same key may exist in two with its own meaning (``ceasefire_duration``).

- ``negotiations`` (key, label, description), filled by ``parley seed`` from ``seeds/negotiations/``.
- ``issues`` are keyed by (negotiation, key); ``claims``, ``positions`` and ``position_changes`` carry
  the negotiation and refer to their issue by both. The ledger's current version is unique per
  (negotiation, actor, issue).
- Everything stored before belongs to ``gaza``, the one negotiation parley followed: a ``gaza`` row
  is created and every existing row moved to it, nothing lost. Position-change alerts' payloads gain
  ``"negotiation": "gaza"`` and its label, as the alerts queued from now on carry them.
- ``issues.value_type`` may be ``days_or_flag`` (a number of days, or ``yes`` when none is stated).
- The analyst views gain ``negotiation`` and ``negotiation_label`` as their first columns. A view's
  columns cannot be reordered in place, so they are dropped and created again; the SELECT grants
  they had are given back to the same roles.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from etl.errors import UserError

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIRST = "gaza"
FIRST_LABEL = "Gaza captives and truce talks"
LEDGER_TABLES = ("claims", "positions", "position_changes")
VALUE_TYPES = ("days", "days_or_flag", "count", "count_or_all", "number", "flag", "choice", "categories")
VALUE_TYPES_0011 = ("days", "count", "count_or_all", "number", "flag", "choice", "categories")

NEGOTIATION_COMMENTS = {
    "negotiation": "negotiation key (seeds/negotiations/<key>.yaml), e.g. gaza, ukraine",
    "negotiation_label": "the negotiation's display label",
}

# (name, SELECT, view comment, {column: comment}); created in this order, dropped in reverse
VIEWS: list[tuple[str, str, str, dict[str, str]]] = [
    (
        "current_positions",
        """
        SELECT p.negotiation, n.label AS negotiation_label,
               p.actor, a.name AS actor_name, a.kind AS actor_kind, p.issue, i.label AS issue_label,
               p.value, p.value_number, p.stance, p.valid_from AS since, p.outlets, p.claims,
               p.confirmed_at, p.confirmed_at IS NOT NULL AS confirmed,
               last.evidence AS last_evidence, last.url AS last_url, last.outlet AS last_outlet,
               last.published_at AS last_published_at, p.id AS position_id
          FROM positions p
          JOIN negotiations n ON n.key = p.negotiation
          JOIN actors a ON a.id = p.actor
          JOIN issues i ON i.negotiation = p.negotiation AND i.key = p.issue
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
        "The position each actor holds now on each issue of each negotiation: one row per"
        " negotiation × actor × issue.",
        {
            **NEGOTIATION_COMMENTS,
            "actor": "canonical actor id (codebook), e.g. hamas, israel, russia, ukraine",
            "actor_name": "the actor's display name",
            "actor_kind": "party | mediator | other",
            "issue": "issue key of the negotiation (codebook), e.g. ceasefire_duration, security_guarantees",
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
        SELECT p.negotiation, n.label AS negotiation_label,
               p.actor, a.name AS actor_name, a.kind AS actor_kind, p.issue, i.label AS issue_label,
               p.value, p.value_number, p.stance, p.valid_from, p.valid_to, p.valid_to IS NULL AS is_current,
               p.outlets, p.claims, p.confirmed_at,
               c.evidence AS first_evidence, ar.url AS first_url,
               coalesce(f.title, f.url) AS first_outlet, p.id AS position_id
          FROM positions p
          JOIN negotiations n ON n.key = p.negotiation
          JOIN actors a ON a.id = p.actor
          JOIN issues i ON i.negotiation = p.negotiation AND i.key = p.issue
          LEFT JOIN claims c ON c.id = p.opened_by_claim_id
          LEFT JOIN articles ar ON ar.id = c.article_id
          LEFT JOIN feeds f ON f.id = ar.feed_id
        """,
        "Every version of every actor's position on every issue of each negotiation, valid over"
        " [valid_from, valid_to).",
        {
            **NEGOTIATION_COMMENTS,
            "actor": "canonical actor id (codebook)",
            "actor_name": "the actor's display name",
            "actor_kind": "party | mediator | other",
            "issue": "issue key of the negotiation (codebook)",
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
        SELECT pc.negotiation, n.label AS negotiation_label,
               pc.id AS change_id, pc.actor, a.name AS actor_name, a.kind AS actor_kind, pc.issue,
               i.label AS issue_label,
               pc.kind, pc.old_value, pc.old_stance, pc.new_value, pc.new_stance,
               pc.old_evidence, pc.old_url, pc.new_evidence, pc.new_url, pc.outlet,
               pc.published_at, pc.detected_at, pc.confirmed_at, pc.confirmed_at IS NOT NULL AS confirmed,
               p.outlets, p.valid_to IS NULL AS still_holds, pc.new_position_id AS position_id
          FROM position_changes pc
          JOIN negotiations n ON n.key = pc.negotiation
          JOIN actors a ON a.id = pc.actor
          JOIN issues i ON i.negotiation = pc.negotiation AND i.key = pc.issue
          JOIN positions p ON p.id = pc.new_position_id
        """,
        "Position change events: an actor's first position on an issue of a negotiation (kind new) or a"
        " move from one version to the next (kind change), with both sides' evidence and URLs.",
        {
            **NEGOTIATION_COMMENTS,
            "change_id": "position_changes.id; alerts carry it as parley-change-<change_id>",
            "actor": "canonical actor id (codebook)",
            "actor_name": "the actor's display name",
            "actor_kind": "party | mediator | other",
            "issue": "issue key of the negotiation (codebook)",
            "issue_label": "the issue's display label",
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
        SELECT c.negotiation, n.label AS negotiation_label,
               c.id AS claim_id, c.actor, a.name AS actor_name, c.issue, c.value, c.value_number, c.stance,
               c.evidence, c.confidence, ar.id AS article_id, ar.title, ar.url,
               coalesce(ar.published_at, ar.fetched_at) AS published_at,
               coalesce(f.title, f.url) AS outlet, f.id AS feed_id, ar.duplicate_of,
               ps.position_id, c.extractor_version
          FROM claims c
          JOIN negotiations n ON n.key = c.negotiation
          JOIN actors a ON a.id = c.actor
          JOIN articles ar ON ar.id = c.article_id
          JOIN feeds f ON f.id = ar.feed_id
          LEFT JOIN position_support ps ON ps.claim_id = c.id
        """,
        "Every claim read from an article, with its negotiation, the article, its outlet and the"
        " evidence sentence.",
        {
            **NEGOTIATION_COMMENTS,
            "claim_id": "claims.id",
            "actor": "canonical actor id (codebook)",
            "actor_name": "the actor's display name",
            "issue": "issue key of the negotiation (codebook)",
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
]


class DowngradeRefused(UserError):
    """The database holds what a schema of one negotiation cannot (``parley db downgrade`` says so
    in one line)."""


# the views of 0004, for the downgrade (same text, without the negotiation)
VIEWS_0011: dict[str, str] = {
    "current_positions": """
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
    "position_history": """
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
    "position_change_events": """
        SELECT pc.id AS change_id, pc.actor, a.name AS actor_name, a.kind AS actor_kind, pc.issue,
               pc.kind, pc.old_value, pc.old_stance, pc.new_value, pc.new_stance,
               pc.old_evidence, pc.old_url, pc.new_evidence, pc.new_url, pc.outlet,
               pc.published_at, pc.detected_at, pc.confirmed_at, pc.confirmed_at IS NOT NULL AS confirmed,
               p.outlets, p.valid_to IS NULL AS still_holds, pc.new_position_id AS position_id
          FROM position_changes pc
          JOIN actors a ON a.id = pc.actor
          JOIN positions p ON p.id = pc.new_position_id
        """,
    "claims_with_evidence": """
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
}


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _select_grantees(names: Sequence[str]) -> list[tuple[str, str]]:
    """(view, role) of every SELECT grant on ``names`` to a role other than the owner."""
    rows = op.get_bind().execute(
        sa.text(
            "SELECT DISTINCT table_name, grantee FROM information_schema.role_table_grants"
            " WHERE table_schema = current_schema() AND privilege_type = 'SELECT'"
            " AND table_name = ANY(:names) AND grantee <> current_user"
        ),
        {"names": list(names)},
    )
    return [(table, grantee) for table, grantee in rows]


def _grant(grants: Sequence[tuple[str, str]]) -> None:
    quote = op.get_bind().dialect.identifier_preparer.quote
    for table, grantee in grants:
        op.execute(f"GRANT SELECT ON {table} TO {quote(grantee)}")


def _value_types(values: Sequence[str]) -> None:
    op.drop_constraint("value_type", "issues", type_="check")
    listed = ", ".join(f"'{v}'" for v in values)
    op.create_check_constraint("value_type", "issues", f"value_type IN ({listed})")


def upgrade() -> None:
    names = [name for name, *_ in VIEWS]
    grants = _select_grantees(names)
    for name in reversed(names):
        op.execute(f"DROP VIEW {name}")

    op.create_table(
        "negotiations",
        sa.Column("key", sa.String(64), nullable=False, comment="negotiation key, e.g. gaza"),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_negotiations"),
    )
    op.execute(
        sa.text("INSERT INTO negotiations (key, label) VALUES (:key, :label)").bindparams(
            key=FIRST, label=FIRST_LABEL
        )
    )
    grants += [("negotiations", grantee) for grantee in {g for _, g in grants}]

    for table in LEDGER_TABLES:
        op.drop_constraint(f"fk_{table}_issue_issues", table, type_="foreignkey")
    op.add_column(
        "issues",
        sa.Column(
            "negotiation", sa.String(64), server_default=FIRST, nullable=False, comment="negotiation key"
        ),
    )
    op.alter_column("issues", "negotiation", server_default=None)
    op.drop_constraint("pk_issues", "issues", type_="primary")
    op.create_primary_key("pk_issues", "issues", ["negotiation", "key"])
    op.create_foreign_key(
        "fk_issues_negotiation_negotiations", "issues", "negotiations", ["negotiation"], ["key"]
    )
    _value_types(VALUE_TYPES)

    for table in LEDGER_TABLES:
        op.add_column(
            table,
            sa.Column(
                "negotiation", sa.String(64), server_default=FIRST, nullable=False, comment="negotiation key"
            ),
        )
        op.alter_column(table, "negotiation", server_default=None)
        op.create_foreign_key(
            f"fk_{table}_negotiation_issue_issues",
            table,
            "issues",
            ["negotiation", "issue"],
            ["negotiation", "key"],
        )
    op.alter_column("claims", "issue", comment="issue key (of the negotiation)", existing_type=sa.String(64))

    op.drop_constraint("uq_claims_article_id_actor_issue_value_extractor_version", "claims", type_="unique")
    op.create_unique_constraint(
        "uq_claims_identity",
        "claims",
        ["article_id", "negotiation", "actor", "issue", "value", "extractor_version"],
    )
    op.drop_index("ix_claims_actor_issue", table_name="claims")
    op.create_index("ix_claims_negotiation_actor_issue", "claims", ["negotiation", "actor", "issue"])
    op.drop_index("uq_positions_current", table_name="positions")
    op.create_index(
        "uq_positions_current",
        "positions",
        ["negotiation", "actor", "issue"],
        unique=True,
        postgresql_where=sa.text("valid_to IS NULL"),
    )
    op.drop_index("ix_positions_actor_issue_valid_from", table_name="positions")
    op.create_index(
        "ix_positions_negotiation_actor_issue_valid_from",
        "positions",
        ["negotiation", "actor", "issue", "valid_from"],
    )
    op.drop_index("ix_position_changes_actor_issue_published_at", table_name="position_changes")
    op.create_index(
        "ix_position_changes_negotiation_actor_issue_published_at",
        "position_changes",
        ["negotiation", "actor", "issue", "published_at"],
    )
    op.execute(
        sa.text(
            "UPDATE alerts SET payload = payload || jsonb_build_object("
            " 'negotiation', CAST(:key AS text), 'negotiation_label', CAST(:label AS text))"
            " WHERE kind = 'position_change' AND jsonb_typeof(payload) = 'object'"
            " AND NOT payload ? 'negotiation'"
        ).bindparams(key=FIRST, label=FIRST_LABEL)
    )

    for name, select, comment, columns in VIEWS:
        op.execute(f"CREATE VIEW {name} AS {select}")
        op.execute(f"COMMENT ON VIEW {name} IS {_literal(comment)}")
        for column, column_comment in columns.items():
            op.execute(f"COMMENT ON COLUMN {name}.{column} IS {_literal(column_comment)}")
    _grant(grants)


def downgrade() -> None:
    """Back to one negotiation: refused while the database holds rows of any other (issues, claims,
    positions, changes), since their keys would clash with gaza's; the message names them."""
    counts = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT negotiation, what, count(*) FROM ("
                " SELECT negotiation, 'issues' AS what FROM issues"
                " UNION ALL SELECT negotiation, 'claims' FROM claims"
                " UNION ALL SELECT negotiation, 'positions' FROM positions"
                " UNION ALL SELECT negotiation, 'position changes' FROM position_changes"
                ") rows WHERE negotiation <> :key GROUP BY negotiation, what ORDER BY negotiation, what"
            ).bindparams(key=FIRST)
        )
        .all()
    )
    if counts:
        held: dict[str, list[str]] = {}
        for negotiation, what, count in counts:
            held.setdefault(negotiation, []).append(f"{count} {what}")
        listed = "; ".join(f"{negotiation}: {', '.join(parts)}" for negotiation, parts in held.items())
        raise DowngradeRefused(
            f"cannot downgrade below 0012: the database holds rows of negotiations other than {FIRST}"
            f" ({listed}), which a schema of one negotiation cannot hold; delete them first"
        )
    names = [name for name, *_ in VIEWS]
    grants = [(t, g) for t, g in _select_grantees(names) if t != "negotiations"]
    for name in reversed(names):
        op.execute(f"DROP VIEW {name}")
    op.execute(
        "UPDATE alerts SET payload = payload - 'negotiation' - 'negotiation_label'"
        " WHERE kind = 'position_change' AND jsonb_typeof(payload) = 'object'"
    )
    op.drop_index("ix_position_changes_negotiation_actor_issue_published_at", table_name="position_changes")
    op.create_index(
        "ix_position_changes_actor_issue_published_at", "position_changes", ["actor", "issue", "published_at"]
    )
    op.drop_index("ix_positions_negotiation_actor_issue_valid_from", table_name="positions")
    op.create_index("ix_positions_actor_issue_valid_from", "positions", ["actor", "issue", "valid_from"])
    op.drop_index("uq_positions_current", table_name="positions")
    op.create_index(
        "uq_positions_current",
        "positions",
        ["actor", "issue"],
        unique=True,
        postgresql_where=sa.text("valid_to IS NULL"),
    )
    op.drop_index("ix_claims_negotiation_actor_issue", table_name="claims")
    op.create_index("ix_claims_actor_issue", "claims", ["actor", "issue"])
    op.drop_constraint("uq_claims_identity", "claims", type_="unique")
    op.create_unique_constraint(
        "uq_claims_article_id_actor_issue_value_extractor_version",
        "claims",
        ["article_id", "actor", "issue", "value", "extractor_version"],
    )
    op.alter_column("claims", "issue", comment="issue key", existing_type=sa.String(64))
    for table in LEDGER_TABLES:
        op.drop_constraint(f"fk_{table}_negotiation_issue_issues", table, type_="foreignkey")
        op.drop_column(table, "negotiation")
    op.execute("DELETE FROM issues WHERE value_type = 'days_or_flag'")
    _value_types(VALUE_TYPES_0011)
    op.drop_constraint("fk_issues_negotiation_negotiations", "issues", type_="foreignkey")
    op.drop_constraint("pk_issues", "issues", type_="primary")
    op.drop_column("issues", "negotiation")
    op.create_primary_key("pk_issues", "issues", ["key"])
    for table in LEDGER_TABLES:
        op.create_foreign_key(f"fk_{table}_issue_issues", table, "issues", ["issue"], ["key"])
    op.drop_table("negotiations")
    for name, select in VIEWS_0011.items():
        op.execute(f"CREATE VIEW {name} AS {select}")
    # the columns keep this revision's comments (the 0004 views had no issue_label in the events)
    for name, _select, comment, columns in VIEWS:
        op.execute(f"COMMENT ON VIEW {name} IS {_literal(comment)}")
        for column, column_comment in columns.items():
            if column in NEGOTIATION_COMMENTS or (name, column) == ("position_change_events", "issue_label"):
                continue
            op.execute(f"COMMENT ON COLUMN {name}.{column} IS {_literal(column_comment)}")
    _grant(grants)
