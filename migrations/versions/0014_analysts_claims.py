"""claims added by analysts, and analysts' corrections in the views

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 15:30:00.000000

- ``claim_corrections.action`` may be ``add``: an analyst added a claim read in a source. The claim
  itself is a ``claims`` row of ``extractor_version`` ``analyst``: no extractor version's re-read
  replaces it.
- The analyst views show the corrections (columns appended, so ``CREATE OR REPLACE`` keeps the
  views' grants): ``claims_with_evidence`` whether a claim was added or rejected, by whom, when and
  why; ``position_history`` and ``position_change_events`` who added the claim that opened a
  version, and whether an analyst corrected the (negotiation, actor, issue)'s claims.
- ``claim_corrections_log``: every decision, newest first, with the names of what it concerns.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from etl.errors import UserError

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ANALYST = "analyst"  # claims.extractor_version of a claim an analyst added
ACTIONS = ("reject", "restore", "add")
ACTIONS_0013 = ("reject", "restore")

# the latest decision on a claim's identity (article, negotiation, actor, issue, value)
_LATEST = """
        LEFT JOIN LATERAL (
              SELECT cc.action, cc.corrected_by, cc.corrected_at, cc.reason
                FROM claim_corrections cc
               WHERE cc.article_id = c.article_id AND cc.negotiation = c.negotiation
                 AND cc.actor = c.actor AND cc.issue = c.issue AND cc.value = c.value
                 AND cc.action <> 'add'
               ORDER BY cc.id DESC
               LIMIT 1
        ) latest ON true"""
# who added a claim (NULL for the extractor's)
_ADDED_BY = """(SELECT cc.corrected_by FROM claim_corrections cc
                 WHERE cc.claim_id = {claim}.id AND cc.action = 'add' ORDER BY cc.id LIMIT 1)"""
_KEY_CORRECTED = """
        EXISTS (SELECT FROM claim_corrections cc
                 WHERE cc.negotiation = {row}.negotiation AND cc.actor = {row}.actor
                   AND cc.issue = {row}.issue)"""

NEGOTIATION_COMMENTS = {
    "negotiation": "negotiation key (seeds/negotiations/<key>.yaml), e.g. gaza, ukraine",
    "negotiation_label": "the negotiation's display label",
}

# (name, SELECT as of 0012 with {more} columns and {joins}, the columns and joins added here,
# {new column: comment})
VIEWS: list[tuple[str, str, str, str, dict[str, str]]] = [
    (
        "position_history",
        """
        SELECT p.negotiation, n.label AS negotiation_label,
               p.actor, a.name AS actor_name, a.kind AS actor_kind, p.issue, i.label AS issue_label,
               p.value, p.value_number, p.stance, p.valid_from, p.valid_to, p.valid_to IS NULL AS is_current,
               p.outlets, p.claims, p.confirmed_at,
               c.evidence AS first_evidence, ar.url AS first_url,
               coalesce(f.title, f.url) AS first_outlet, p.id AS position_id{more}
          FROM positions p
          JOIN negotiations n ON n.key = p.negotiation
          JOIN actors a ON a.id = p.actor
          JOIN issues i ON i.negotiation = p.negotiation AND i.key = p.issue
          LEFT JOIN claims c ON c.id = p.opened_by_claim_id
          LEFT JOIN articles ar ON ar.id = c.article_id
          LEFT JOIN feeds f ON f.id = ar.feed_id{joins}
        """,
        f""",
               {_ADDED_BY.format(claim="c")} AS added_by,
               {_KEY_CORRECTED.format(row="p")} AS history_corrected""",
        "",
        {
            "added_by": "the analyst who added the claim that opened this version; NULL = read by the"
            " extractor",
            "history_corrected": "true when an analyst has rejected, restored or added a claim of this"
            " negotiation × actor × issue (parley claims list --rejected | --added)",
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
               p.outlets, p.valid_to IS NULL AS still_holds, pc.new_position_id AS position_id{more}
          FROM position_changes pc
          JOIN negotiations n ON n.key = pc.negotiation
          JOIN actors a ON a.id = pc.actor
          JOIN issues i ON i.negotiation = pc.negotiation AND i.key = pc.issue
          JOIN positions p ON p.id = pc.new_position_id{joins}
        """,
        f""",
               {_ADDED_BY.format(claim="oc")} AS added_by,
               {_KEY_CORRECTED.format(row="pc")} AS history_corrected""",
        """
          LEFT JOIN claims oc ON oc.id = p.opened_by_claim_id""",
        {
            "added_by": "the analyst who added the claim behind the new position; NULL = read by the"
            " extractor",
            "history_corrected": "true when an analyst has rejected, restored or added a claim of this"
            " negotiation × actor × issue: the event was computed on the corrected history",
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
               ps.position_id, c.extractor_version{more}
          FROM claims c
          JOIN negotiations n ON n.key = c.negotiation
          JOIN actors a ON a.id = c.actor
          JOIN articles ar ON ar.id = c.article_id
          JOIN feeds f ON f.id = ar.feed_id
          LEFT JOIN position_support ps ON ps.claim_id = c.id{joins}
        """,
        f""",
               CASE WHEN c.extractor_version = '{ANALYST}' THEN 'analyst' ELSE 'extractor' END AS origin,
               {_ADDED_BY.format(claim="c")} AS added_by,
               coalesce(latest.action = 'reject', false) AS rejected,
               CASE WHEN latest.action = 'reject' THEN latest.corrected_by END AS rejected_by,
               CASE WHEN latest.action = 'reject' THEN latest.corrected_at END AS rejected_at,
               CASE WHEN latest.action = 'reject' THEN latest.reason END AS rejection_reason""",
        _LATEST,
        {
            "origin": "extractor (read by parley) | analyst (added by an analyst: parley claims add)",
            "added_by": "the analyst who added the claim; NULL for the extractor's",
            "rejected": "true when an analyst rejected the claim (it does not count in the ledger)",
            "rejected_by": "who rejected it; NULL unless rejected",
            "rejected_at": "when it was rejected; NULL unless rejected",
            "rejection_reason": "why it was rejected; NULL unless rejected",
        },
    ),
]

LOG = (
    "claim_corrections_log",
    """
    SELECT cc.id AS correction_id, cc.corrected_at, cc.corrected_by, cc.action, cc.reason,
           cc.negotiation, n.label AS negotiation_label, cc.actor, a.name AS actor_name, cc.issue,
           i.label AS issue_label, cc.value, c.stance, cc.claim_id, cc.article_id, ar.url
      FROM claim_corrections cc
      JOIN negotiations n ON n.key = cc.negotiation
      JOIN actors a ON a.id = cc.actor
      JOIN issues i ON i.negotiation = cc.negotiation AND i.key = cc.issue
      LEFT JOIN claims c ON c.id = cc.claim_id
      LEFT JOIN articles ar ON ar.id = cc.article_id
    """,
    "Every analyst's decision on a claim (parley claims reject | restore | add), as recorded: rows are"
    " never changed. Whether a claim counts now is its latest decision (claims_with_evidence.rejected).",
    {
        "correction_id": "claim_corrections.id, in the order the decisions were made",
        "corrected_at": "when the analyst decided",
        "corrected_by": "who decided (--by, default the OS user)",
        "action": "reject (the claim no longer counts) | restore (it counts again) | add (an analyst's"
        " claim)",
        "reason": "why, as the analyst gave it",
        **NEGOTIATION_COMMENTS,
        "actor": "canonical actor id (codebook)",
        "actor_name": "the actor's display name",
        "issue": "issue key of the negotiation (codebook)",
        "issue_label": "the issue's display label",
        "value": "normalised value of the claim",
        "stance": "the claim's stance; NULL once the claim's extractor version is gone",
        "claim_id": "claims.id of the claim decided on; NULL once its extractor version is gone",
        "article_id": "articles.id of the claim's source",
        "url": "URL of the claim's source",
    },
)


class DowngradeRefused(UserError):
    """The database holds what the schema of 0013 cannot (``parley db downgrade`` says so)."""


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _actions(actions: Sequence[str]) -> None:
    op.drop_constraint("action", "claim_corrections", type_="check")
    listed = ", ".join(repr(a) for a in actions)
    op.create_check_constraint("action", "claim_corrections", f"action IN ({listed})")
    op.alter_column("claim_corrections", "action", comment=" | ".join(actions), existing_type=sa.String(8))


def _select_grantees(names: Sequence[str]) -> list[tuple[str, str]]:
    rows = op.get_bind().execute(
        sa.text(
            "SELECT DISTINCT table_name, grantee FROM information_schema.role_table_grants"
            " WHERE table_schema = current_schema() AND privilege_type = 'SELECT'"
            " AND table_name = ANY(:names) AND grantee <> current_user"
        ),
        {"names": list(names)},
    )
    return [(table, grantee) for table, grantee in rows]


def _comments(view: str) -> dict[str, str]:
    """The comments of ``view`` ("": the view's own) and of its columns, to give back once it is
    made again."""
    rows = op.get_bind().execute(
        sa.text(
            "SELECT '' AS name, obj_description(CAST(:v AS regclass), 'pg_class')"
            " UNION ALL SELECT attname, col_description(attrelid, attnum) FROM pg_attribute"
            " WHERE attrelid = CAST(:v AS regclass) AND attnum > 0 AND NOT attisdropped"
        ),
        {"v": view},
    )
    return {name: comment for name, comment in rows if comment is not None}


def _version_comment(comment: str | None) -> None:
    op.alter_column("claims", "extractor_version", comment=comment, existing_type=sa.String(32))


def upgrade() -> None:
    _actions(ACTIONS)
    _version_comment("the extractor version that read it; analyst for a claim an analyst added")
    for name, select, more, joins, columns in VIEWS:
        op.execute(f"CREATE OR REPLACE VIEW {name} AS {select.format(more=more, joins=joins)}")
        for column, comment in columns.items():
            op.execute(f"COMMENT ON COLUMN {name}.{column} IS {_literal(comment)}")
    name, select, comment, columns = LOG
    op.execute(f"CREATE VIEW {name} AS {select}")
    op.execute(f"COMMENT ON VIEW {name} IS {_literal(comment)}")
    for column, column_comment in columns.items():
        op.execute(f"COMMENT ON COLUMN {name}.{column} IS {_literal(column_comment)}")
    # the analyst roles read the views of 0012: they read this one too
    quote = op.get_bind().dialect.identifier_preparer.quote
    for grantee in sorted({g for _t, g in _select_grantees(["claims_with_evidence"])}):
        op.execute(f"GRANT SELECT ON {name} TO {quote(grantee)}")


def downgrade() -> None:
    """Refused while analysts' claims exist: the schema of 0013 cannot record their addition."""
    added = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM claims WHERE extractor_version = :v").bindparams(v=ANALYST)
    )
    if added:
        raise DowngradeRefused(
            f"cannot downgrade below 0014: the database holds {added} claims added by analysts, which"
            " the schema of 0013 cannot record; reject them or delete them first"
        )
    op.execute(f"DROP VIEW {LOG[0]}")
    names = [name for name, *_ in VIEWS]
    grants = _select_grantees(names)
    for name, select, _more, _joins, columns in VIEWS:  # a view loses columns only by being made again
        kept = _comments(name)
        op.execute(f"DROP VIEW {name}")
        op.execute(f"CREATE VIEW {name} AS {select.format(more='', joins='')}")
        for column, comment in kept.items():
            if column not in columns:
                target = f"VIEW {name}" if column == "" else f"COLUMN {name}.{column}"
                op.execute(f"COMMENT ON {target} IS {_literal(comment)}")
    quote = op.get_bind().dialect.identifier_preparer.quote
    for table, grantee in grants:
        op.execute(f"GRANT SELECT ON {table} TO {quote(grantee)}")
    op.execute("DELETE FROM claim_corrections WHERE action = 'add'")
    _actions(ACTIONS_0013)
    _version_comment(None)
