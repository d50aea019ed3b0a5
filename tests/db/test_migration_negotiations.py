"""Migration 0012 on a database with history: everything parley stored while it followed one
negotiation is still there after the upgrade, in ``gaza``; the ledger goes on from it; and the
downgrade gives the same rows back, or refuses in one line while another negotiation's rows exist.

Each test fills a fresh database at 0011 with SQL of that revision's schema (not the models, which
describe the head).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from etl import db
from etl.catalog import load_reference_data
from etl.errors import UserError
from etl.ledger.store import apply_claims
from etl.settings import PROJECT_ROOT, Settings
from tests.conftest import ADMIN_URL, cli_env_for, run_parley

BEFORE = "0011"
VERSION = "test-1"
GAZA_LABEL = "Gaza captives and truce talks"
# the tables 0012 touches or whose rows refer to them, each in a stable order
TABLES = {
    "feeds": "id",
    "articles": "id",
    "actors": "id",
    "issues": "key",
    "claims": "id",
    "positions": "id",
    "position_support": "claim_id",
    "position_changes": "id",
    "alerts": "id",
}
LEDGER = ("claims", "positions", "position_changes")
VIEWS = ("current_positions", "position_history", "position_change_events", "claims_with_evidence")


def day(n: int) -> datetime:
    return datetime(2024, 1, n, 12, tzinfo=UTC)


@pytest.fixture
def old_database() -> Iterator[Engine]:
    """A database of its own, migrated to 0011 and empty."""
    name = f"parley_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(make_url(ADMIN_URL).set(database=name))
    try:
        db.upgrade(engine, BEFORE)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# what parley up to 0011 stored: two outlets, Israel's ceasefire length moving from 42 to 60 days
# (confirmed by the second outlet), Hamas's demand for all hostages, a claim not yet in the ledger,
# and the alerts of each kind, sent, pending and failed
FILL_0011 = """
INSERT INTO feeds (id, url, title) VALUES
  (1, 'http://wire.example/rss', 'Wire'), (2, 'http://post.example/rss', 'Post');
INSERT INTO articles (id, feed_id, guid, url, title, text, text_source, published_at, content_hash, raw_entry)
VALUES
  (1, 1, 'a1', 'http://wire.example/1', 'Israel offers 42 days', 'Israel proposes a 42-day truce in Gaza.',
   'summary', :d1, 'h1', '{"id": "a1"}'),
  (2, 2, 'a2', 'http://post.example/2', 'Israel moves to 60 days', 'Israel proposes a 60-day truce in Gaza.',
   'summary', :d5, 'h2', '{}'),
  (3, 1, 'a3', 'http://wire.example/3', 'Hamas wants all',
   'Hamas demands all hostages be... Israel: 60 days.', 'summary', :d6, 'h3', '{}'),
  (4, 1, 'a4', 'http://wire.example/4', 'Israel now 30 days', 'Israel proposes a 30-day truce in Gaza.',
   'summary', :d9, 'h4', '{}');
INSERT INTO actors (id, name, kind, aliases) VALUES
  ('israel', 'Israel', 'party', '["Israel"]'), ('hamas', 'Hamas', 'party', '["Hamas"]');
INSERT INTO issues (key, label, value_type, description, choices) VALUES
  ('ceasefire_duration', 'Ceasefire duration', 'days', 'Length of a truce.', '[]'),
  ('hostages_released', 'Hostages released', 'count_or_all', '', '[]');
INSERT INTO claims (id, article_id, actor, issue, value, value_number, stance, evidence, start_offset,
                    end_offset, confidence, extractor_version, in_ledger) VALUES
  (1, 1, 'israel', 'ceasefire_duration', '42', 42, 'proposes', 'Israel proposes a 42-day truce in Gaza.',
   0, 39, 0.9, :version, true),
  (2, 2, 'israel', 'ceasefire_duration', '60', 60, 'proposes', 'Israel proposes a 60-day truce in Gaza.',
   0, 39, 0.9, :version, true),
  (3, 3, 'hamas', 'hostages_released', 'all', NULL, 'demands', 'Hamas demands all hostages be...',
   0, 30, 0.8, :version, true),
  (4, 3, 'israel', 'ceasefire_duration', '60', 60, 'proposes', 'Israel: 60 days.', 31, 47, 0.7, :version,
   true),
  (5, 4, 'israel', 'ceasefire_duration', '30', 30, 'proposes', 'Israel proposes a 30-day truce in Gaza.',
   0, 39, 0.9, :version, false);
INSERT INTO positions (id, actor, issue, value, value_number, stance, valid_from, valid_to,
                       opened_by_claim_id, outlets, claims, confirmed_at) VALUES
  (1, 'israel', 'ceasefire_duration', '42', 42, 'proposes', :d1, :d5, 1, 1, 1, NULL),
  (2, 'israel', 'ceasefire_duration', '60', 60, 'proposes', :d5, NULL, 2, 2, 2, :d6),
  (3, 'hamas', 'hostages_released', 'all', NULL, 'demands', :d6, NULL, 3, 1, 1, NULL);
INSERT INTO position_support (claim_id, position_id, feed_id, published_at) VALUES
  (1, 1, 1, :d1), (2, 2, 2, :d5), (3, 3, 1, :d6), (4, 2, 1, :d6);
INSERT INTO position_changes (id, actor, issue, kind, old_position_id, new_position_id, old_value, old_stance,
                              new_value, new_stance, old_evidence, old_url, new_evidence, new_url, outlet,
                              published_at, confirmed_at) VALUES
  (1, 'israel', 'ceasefire_duration', 'new', NULL, 1, NULL, NULL, '42', 'proposes', NULL, NULL,
   'Israel proposes a 42-day truce in Gaza.', 'http://wire.example/1', 'Wire', :d1, NULL),
  (2, 'israel', 'ceasefire_duration', 'change', 1, 2, '42', 'proposes', '60', 'proposes',
   'Israel proposes a 42-day truce in Gaza.', 'http://wire.example/1',
   'Israel proposes a 60-day truce in Gaza.', 'http://post.example/2', 'Post', :d5, :d6),
  (3, 'hamas', 'hostages_released', 'new', NULL, 3, NULL, NULL, 'all', 'demands', NULL, NULL,
   'Hamas demands all hostages be...', 'http://wire.example/3', 'Wire', :d6, NULL);
INSERT INTO alerts (id, alert_key, kind, change_id, feed_id, channel, subject, body, payload, status,
                    attempts, sent_at, failed_at) VALUES
  (1, 'parley-change-1', 'position_change', 1, NULL, 'console://', 'Israel — ceasefire_duration: 42 days',
   'per Wire', '{"change_id": 1, "actor": "israel", "issue": "ceasefire_duration", "new": {"value": "42"}}',
   'sent', 1, :d1, NULL),
  (2, 'parley-change-2', 'position_change', 2, NULL, 'console://', 'Israel — ceasefire_duration: 42 → 60',
   'per Post', '{"change_id": 2, "actor": "israel", "issue": "ceasefire_duration", "new": {"value": "60"}}',
   'pending', 0, NULL, NULL),
  (3, 'parley-change-3', 'position_change', 3, NULL, 'jsonl:///tmp/x.jsonl', 'Hamas — hostages_released: all',
   'per Wire', '{"change_id": 3, "actor": "hamas", "issue": "hostages_released"}', 'failed', 8, NULL, :d6),
  (4, 'parley-change-99', 'position_change', NULL, NULL, 'console://', 'from before a rebuild', 'gone',
   '{"change_id": 99, "actor": "israel", "issue": "ceasefire_duration"}', 'sent', 1, :d5, NULL),
  (5, 'parley-feed-1-failing', 'feed_health', NULL, 1, 'console://', 'Feed failing: Wire', 'HTTP 503',
   '{"feed": "http://wire.example/rss", "problem": "failing"}', 'pending', 0, NULL, NULL);
"""


def fill_0011(engine: Engine) -> None:
    days = {f"d{n}": day(n) for n in (1, 5, 6, 9)}
    with engine.begin() as conn:
        conn.execute(text(FILL_0011), {**days, "version": VERSION})
        for table in ("feeds", "articles", "claims", "positions", "position_changes", "alerts"):
            conn.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}")
            )


def rows(engine: Engine, table: str, *, without: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Every row of ``table`` as a dict, in key order, leaving out the columns ``without``."""
    with engine.connect() as conn:
        found = conn.execute(text(f"SELECT * FROM {table} ORDER BY {TABLES[table]}")).mappings().all()
    return [{k: v for k, v in row.items() if k not in without} for row in found]


def snapshot(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row 0011 knows of, as 0011 would read it: no negotiation column, no negotiation in a
    payload."""
    found = {table: rows(engine, table, without=("negotiation",)) for table in TABLES}
    for alert in found["alerts"]:
        alert["payload"] = {
            k: v for k, v in alert["payload"].items() if k not in ("negotiation", "negotiation_label")
        }
    return found


def view_columns(engine: Engine) -> dict[str, list[str]]:
    with engine.connect() as conn:
        return {
            view: list(
                conn.scalars(
                    text(
                        "SELECT column_name FROM information_schema.columns WHERE table_name = :view"
                        " ORDER BY ordinal_position"
                    ),
                    {"view": view},
                )
            )
            for view in VIEWS
        }


def column_values(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(sql))]


def test_upgrade_keeps_every_row_and_puts_it_in_gaza(old_database: Engine) -> None:
    fill_0011(old_database)
    before = snapshot(old_database)

    db.upgrade(old_database)

    assert db.current_revision(old_database) == db.SCHEMA_HEAD
    assert snapshot(old_database) == before  # nothing lost, nothing changed but the negotiation
    assert column_values(old_database, "SELECT key, label, description FROM negotiations") == [
        ("gaza", GAZA_LABEL, "")
    ]
    for table in LEDGER:
        negotiations = column_values(old_database, f"SELECT DISTINCT negotiation FROM {table}")
        assert negotiations == [("gaza",)], table
    assert column_values(old_database, "SELECT negotiation, key, value_type FROM issues ORDER BY key") == [
        ("gaza", "ceasefire_duration", "days"),
        ("gaza", "hostages_released", "count_or_all"),
    ]
    # position-change alerts carry their negotiation as the new ones do; feed health has none
    payloads = {a["id"]: a["payload"] for a in rows(old_database, "alerts")}
    for alert_id in (1, 2, 3, 4):
        assert payloads[alert_id]["negotiation"] == "gaza"
        assert payloads[alert_id]["negotiation_label"] == GAZA_LABEL
    assert payloads[5] == {"feed": "http://wire.example/rss", "problem": "failing"}

    # the analysts' views show the old rows, in gaza
    assert column_values(
        old_database,
        "SELECT negotiation, negotiation_label, actor, issue, value, confirmed FROM current_positions"
        " ORDER BY actor",
    ) == [
        ("gaza", GAZA_LABEL, "hamas", "hostages_released", "all", False),
        ("gaza", GAZA_LABEL, "israel", "ceasefire_duration", "60", True),
    ]
    assert column_values(
        old_database, "SELECT negotiation, position_id, is_current FROM position_history ORDER BY position_id"
    ) == [("gaza", 1, False), ("gaza", 2, True), ("gaza", 3, True)]
    assert column_values(
        old_database,
        "SELECT negotiation, change_id, kind, old_value, new_value, issue_label FROM position_change_events"
        " ORDER BY change_id",
    ) == [
        ("gaza", 1, "new", None, "42", "Ceasefire duration"),
        ("gaza", 2, "change", "42", "60", "Ceasefire duration"),
        ("gaza", 3, "new", None, "all", "Hostages released"),
    ]
    assert column_values(
        old_database, "SELECT negotiation, claim_id, position_id FROM claims_with_evidence ORDER BY claim_id"
    ) == [("gaza", 1, 1), ("gaza", 2, 2), ("gaza", 3, 3), ("gaza", 4, 2), ("gaza", 5, None)]


def test_the_ledger_goes_on_from_the_migrated_history(old_database: Engine, tmp_path: Path) -> None:
    fill_0011(old_database)
    db.upgrade(old_database)
    settings = Settings(
        database_url=old_database.url.render_as_string(hide_password=False),  # type: ignore[arg-type]
        data_dir=tmp_path / ".parley",
    )

    summary = apply_claims(old_database, settings, ["console://"], version=VERSION)
    again = apply_claims(old_database, settings, ["console://"], version=VERSION)

    # the pending 30-day claim changes the migrated 60-day version: a change, not a new position
    assert (summary.claims, summary.new_positions, summary.changes, summary.alerts) == (1, 0, 1, 1)
    assert (again.claims, again.alerts) == (0, 0)
    assert column_values(
        old_database,
        "SELECT negotiation, value, valid_from, valid_to FROM positions WHERE actor = 'israel'"
        " ORDER BY valid_from",
    ) == [("gaza", "42", day(1), day(5)), ("gaza", "60", day(5), day(9)), ("gaza", "30", day(9), None)]
    [(negotiation, old_evidence, subject, payload)] = column_values(
        old_database,
        "SELECT c.negotiation, c.old_evidence, a.subject, a.payload FROM position_changes c"
        " JOIN alerts a ON a.change_id = c.id WHERE c.id > 3",
    )
    assert (negotiation, old_evidence) == ("gaza", "Israel proposes a 60-day truce in Gaza.")
    assert subject == f"{GAZA_LABEL}: Israel — ceasefire_duration: 60 days → 30 days (proposes)"
    assert (payload["negotiation"], payload["old"]["value"], payload["new"]["value"]) == ("gaza", "60", "30")


def test_downgrade_with_only_gaza_gives_back_the_rows_and_views_of_0011(old_database: Engine) -> None:
    fill_0011(old_database)
    before, views_before = snapshot(old_database), view_columns(old_database)
    db.upgrade(old_database)

    db.downgrade(old_database, BEFORE)

    assert db.current_revision(old_database) == BEFORE
    assert snapshot(old_database) == before
    assert {a["id"]: a["payload"] for a in rows(old_database, "alerts")} == {
        a["id"]: a["payload"] for a in before["alerts"]
    }
    assert view_columns(old_database) == views_before
    for table in (*LEDGER, "issues"):
        assert "negotiation" not in rows(old_database, table)[0], table
    assert column_values(old_database, "SELECT to_regclass('negotiations')") == [(None,)]
    assert column_values(old_database, "SELECT actor, value FROM current_positions ORDER BY actor") == [
        ("hamas", "all"),
        ("israel", "60"),
    ]
    # and up again, the same rows in gaza
    db.upgrade(old_database)
    assert snapshot(old_database) == before


def test_downgrade_refuses_in_one_line_while_another_negotiations_rows_exist(old_database: Engine) -> None:
    fill_0011(old_database)
    db.upgrade(old_database)
    load_reference_data(old_database, PROJECT_ROOT / "seeds")  # gaza and ukraine, as `parley seed` does
    with old_database.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO claims (article_id, negotiation, actor, issue, value, value_number, stance,"
                " evidence, start_offset, end_offset, confidence, extractor_version)"
                " VALUES (4, 'ukraine', 'israel', 'ceasefire_duration', '30', 30, 'proposes', 'x', 0, 1, 0.5,"
                " :version)"
            ),
            {"version": VERSION},
        )
    ukraine_issues = column_values(old_database, "SELECT count(*) FROM issues WHERE negotiation = 'ukraine'")[
        0
    ][0]
    held = snapshot(old_database)

    with pytest.raises(UserError) as refused:
        db.downgrade(old_database, BEFORE)

    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith("cannot downgrade below 0012: the database holds rows of negotiations other")
    assert f"(ukraine: 1 claims, {ukraine_issues} issues)" in message and "delete them first" in message
    assert db.current_revision(old_database) == db.SCHEMA_HEAD  # nothing of the downgrade happened
    assert snapshot(old_database) == held

    # `parley db downgrade` says so in that one line, exit status 1
    url = old_database.url.render_as_string(hide_password=False)
    result = run_parley("db", "downgrade", BEFORE, env=cli_env_for(url), timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"parley: error: {message}"], result.stderr
    assert db.current_revision(old_database) == db.SCHEMA_HEAD

    # once they are deleted, the downgrade goes through and the gaza ledger is as it was
    with old_database.begin() as conn:
        conn.execute(text("DELETE FROM claims WHERE negotiation <> 'gaza'"))
        conn.execute(text("DELETE FROM issues WHERE negotiation <> 'gaza'"))
    db.downgrade(old_database, BEFORE)
    assert db.current_revision(old_database) == BEFORE
    after = snapshot(old_database)
    for table in ("claims", "positions", "position_support", "position_changes", "alerts"):
        assert after[table] == [row for row in held[table] if table != "claims" or row["id"] <= 5], table
