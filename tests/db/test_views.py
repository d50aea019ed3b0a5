"""The analysts' SQL surface (migrations 0004 and 0012): documented views over the ledger, each
starting with its negotiation, feed health and full-text search over articles; and the example
queries of docs/queries.sql about the Russia–Ukraine talks, on a ledger of what each side stated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine

from etl.ledger.store import apply_claims
from etl.settings import Settings
from models import Feed, FeedFetch, Issue
from tests.db.conftest import VERSION, VIEWS, day, state
from tests.e2e.test_queries import QUERIES

LEDGER_VIEWS = ["current_positions", "position_history", "position_change_events", "claims_with_evidence"]


def rows(engine: Engine, sql: str, **params: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(text(sql), params)]


def test_every_view_and_every_view_column_carries_a_comment(engine: Engine) -> None:
    found = rows(
        engine,
        """
        SELECT c.relname AS view, obj_description(c.oid, 'pg_class') AS comment,
               array_agg(a.attname ORDER BY a.attnum)
                   FILTER (WHERE col_description(c.oid, a.attnum) IS NULL) AS undocumented,
               count(a.attnum) AS columns
          FROM pg_class c
          JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
         WHERE c.relkind = 'v'
         GROUP BY c.relname, c.oid
        """,
    )
    by_view = {r["view"]: r for r in found}
    assert set(VIEWS) <= set(by_view)
    for view in VIEWS:
        assert by_view[view]["comment"], view
        assert by_view[view]["columns"] > 3, view
        assert by_view[view]["undocumented"] is None, (view, by_view[view]["undocumented"])


def test_views_speak_the_codebooks_words(engine: Engine) -> None:
    columns = {
        r["table_name"]: set(r["columns"])
        for r in rows(
            engine,
            "SELECT table_name, array_agg(column_name::text) AS columns FROM information_schema.columns"
            " WHERE table_schema = 'public' AND table_name = ANY(:views) GROUP BY table_name",
            views=VIEWS,
        )
    }
    assert {"actor", "issue", "value", "stance", "since", "outlets", "last_evidence", "last_url"} <= columns[
        "current_positions"
    ]
    assert {"actor", "issue", "value", "stance", "valid_from", "valid_to"} <= columns["position_history"]
    assert {
        "old_value",
        "new_value",
        "old_evidence",
        "new_evidence",
        "old_url",
        "new_url",
        "outlet",
    } <= columns["position_change_events"]
    assert {"actor", "issue", "value", "stance", "evidence", "outlet", "url", "title"} <= columns[
        "claims_with_evidence"
    ]
    assert {
        "last_success_at", "consecutive_failures", "items_per_day", "silent_since"
    } <= columns["feed_health"]  # fmt: skip


def test_ledger_views_start_with_the_negotiation_and_its_label(engine: Engine) -> None:
    first_two = rows(
        engine,
        "SELECT table_name, array_agg(column_name::text ORDER BY ordinal_position) AS columns"
        " FROM information_schema.columns WHERE table_schema = 'public' AND table_name = ANY(:views)"
        " AND ordinal_position <= 2 GROUP BY table_name",
        views=LEDGER_VIEWS,
    )
    assert {r["table_name"]: r["columns"] for r in first_two} == {
        view: ["negotiation", "negotiation_label"] for view in LEDGER_VIEWS
    }


def test_ledger_views_show_versions_changes_and_their_evidence(ledger_db: Engine, settings: Settings) -> None:
    state(ledger_db, "israel", "ceasefire_duration", "42", "proposes", day(2), outlet=1)
    state(ledger_db, "israel", "ceasefire_duration", "60", "proposes", day(9), outlet=1)
    state(ledger_db, "israel", "ceasefire_duration", "60", "proposes", day(10), outlet=2)
    state(ledger_db, "qatar", "hostages_released", "50", "proposes", day(4), outlet=3)
    apply_claims(ledger_db, settings.with_changes(confirm_outlets=2), ["console://"], version=VERSION)

    current = rows(ledger_db, "SELECT * FROM current_positions ORDER BY actor")
    assert [(r["negotiation"], r["actor"], r["issue"], r["value"], r["stance"]) for r in current] == [
        ("gaza", "israel", "ceasefire_duration", "60", "proposes"),
        ("gaza", "qatar", "hostages_released", "50", "proposes"),
    ]
    assert {r["negotiation_label"] for r in current} == {"Gaza captives and truce talks"}
    israel = current[0]
    assert (israel["since"], israel["outlets"], israel["claims"], israel["confirmed"]) == (day(9), 2, 2, True)
    assert (israel["last_outlet"], israel["last_published_at"]) == ("Outlet 2", day(10))
    assert israel["last_evidence"].startswith("israel proposes ceasefire_duration 60")
    assert israel["last_url"].startswith("http://outlet2.example/")
    assert current[1]["actor_kind"] == "mediator" and current[1]["confirmed"] is False

    history = rows(ledger_db, "SELECT * FROM position_history WHERE actor = 'israel' ORDER BY valid_from")
    assert [(r["value"], r["valid_from"], r["valid_to"], r["is_current"]) for r in history] == [
        ("42", day(2), day(9), False),
        ("60", day(9), None, True),
    ]
    assert history[1]["first_outlet"] == "Outlet 1" and history[1]["first_url"].startswith("http://outlet1")

    events = rows(
        ledger_db, "SELECT * FROM position_change_events WHERE actor = 'israel' ORDER BY published_at"
    )
    assert [(r["kind"], r["old_value"], r["new_value"]) for r in events] == [
        ("new", None, "42"),
        ("change", "42", "60"),
    ]
    change = events[1]
    assert change["outlet"] == "Outlet 1" and change["published_at"] == day(9)
    assert change["old_url"].startswith("http://outlet1") and change["new_url"].startswith("http://outlet1")
    assert "42" in change["old_evidence"] and "60" in change["new_evidence"]
    assert (change["confirmed"], change["outlets"], change["still_holds"]) == (True, 2, True)
    assert events[0]["still_holds"] is False

    claims = rows(ledger_db, "SELECT * FROM claims_with_evidence ORDER BY published_at")
    assert len(claims) == 4
    assert all(c["position_id"] is not None for c in claims)
    assert [c["outlet"] for c in claims] == ["Outlet 1", "Outlet 3", "Outlet 1", "Outlet 2"]
    assert claims[0]["title"].startswith("story") and claims[0]["evidence"].startswith("israel proposes")


def test_feed_health_reports_failures_rate_and_silence(ledger_db: Engine) -> None:
    now = datetime.now(UTC)
    with ledger_db.begin() as conn:
        feeds = dict(conn.execute(select(Feed.title, Feed.id)).all())
        polls = [
            (feeds["Outlet 1"], now - timedelta(hours=30), "ok", 14),
            (feeds["Outlet 1"], now - timedelta(hours=20), "ok", 0),
            (feeds["Outlet 1"], now - timedelta(hours=10), "not_modified", 0),
            (feeds["Outlet 1"], now - timedelta(hours=5), "failed", 0),
            (feeds["Outlet 2"], now - timedelta(days=9), "ok", 100),  # outside the 7-day rate
            (feeds["Outlet 2"], now - timedelta(hours=1), "ok", 7),
        ]
        conn.execute(
            insert(FeedFetch),
            [
                {"feed_id": f, "started_at": t, "duration_ms": 5, "status": s, "new_items": n}
                for f, t, s, n in polls
            ],
        )
        conn.execute(
            Feed.__table__.update()
            .where(Feed.id == feeds["Outlet 3"])
            .values(consecutive_failures=4, last_status="failed", last_error="HTTP 500")
        )

    health = {r["feed"]: r for r in rows(ledger_db, "SELECT * FROM feed_health")}
    one, two, three = health["Outlet 1"], health["Outlet 2"], health["Outlet 3"]
    assert one["polls_since_new_items"] == 2  # the failed poll says nothing about silence
    assert one["silent_since"] == one["last_new_items_at"] == polls[0][1]
    assert float(one["items_per_day"]) == 2.0
    assert two["silent_since"] is None and float(two["items_per_day"]) == 1.0
    assert two["last_new_items_at"] == polls[-1][1]
    assert three["consecutive_failures"] == 4 and three["last_error"] == "HTTP 500"
    assert three["silent_since"] is None


def test_articles_are_searchable_by_words_of_title_and_text(ledger_db: Engine) -> None:
    state(ledger_db, "hamas", "prisoners_released", "150", "demands", day(5))
    with ledger_db.begin() as conn:
        conn.execute(
            text(
                "UPDATE articles SET title = 'Talks resume in Doha',"
                " text = 'Mediators proposed a humanitarian pause.'"
            )
        )
    search = "SELECT title FROM articles WHERE search_vector @@ websearch_to_tsquery('english', :q)"
    assert rows(ledger_db, search, q='"humanitarian pauses"') == [{"title": "Talks resume in Doha"}]
    assert rows(ledger_db, search, q="doha talk") == [{"title": "Talks resume in Doha"}]
    assert rows(ledger_db, search, q='"pause humanitarian"') == []

    with ledger_db.connect() as conn:
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(conn.scalars(text("EXPLAIN " + search), {"q": "humanitarian pause"}).all())
    assert "ix_articles_search_vector" in plan


def test_an_issue_key_of_two_negotiations_gives_each_its_own_rows_and_labels(
    ledger_db: Engine, settings: Settings
) -> None:
    """ceasefire_duration is an issue of both negotiations: a view joining issues by key alone would
    give each position twice."""
    state(ledger_db, "united_states", "ceasefire_duration", "60", "proposes", day(2), negotiation="gaza")
    state(ledger_db, "united_states", "ceasefire_duration", "30", "proposes", day(3), negotiation="ukraine")
    apply_claims(ledger_db, settings, [], version=VERSION)
    with ledger_db.begin() as conn:  # the same key, labelled apart: the view must take each its own
        conn.execute(
            text("UPDATE issues SET label = label || ' (' || negotiation || ')'"),
        )

    for view in ("current_positions", "position_history", "position_change_events"):
        found = rows(ledger_db, f"SELECT * FROM {view} ORDER BY negotiation")
        assert [(r["negotiation"], r["negotiation_label"], r["issue_label"]) for r in found] == [
            ("gaza", "Gaza captives and truce talks", "Ceasefire duration (gaza)"),
            ("ukraine", "Russia–Ukraine talks", "Ceasefire duration (ukraine)"),
        ], view
    current = rows(ledger_db, "SELECT negotiation, value FROM current_positions ORDER BY negotiation")
    assert current == [{"negotiation": "gaza", "value": "60"}, {"negotiation": "ukraine", "value": "30"}]
    claims = rows(ledger_db, "SELECT negotiation, value FROM claims_with_evidence ORDER BY negotiation")
    assert claims == current


# --- the example queries about the Russia-Ukraine talks ---------------------------------------------

# The codebook's Ukraine issues the story uses, whether or not the seeds read them from text yet.
UKRAINE_ISSUES = {
    "territorial_concessions": ("Territorial concessions", "flag"),
    "security_guarantees": ("Security guarantees", "flag"),
    "nato_membership": ("NATO membership", "flag"),
    "prisoner_exchange": ("Prisoner exchange", "count_or_all"),
}


def at(month: int, day_of_month: int) -> datetime:
    return datetime(2025, month, day_of_month, 12, tzinfo=UTC)


@pytest.fixture
def ukraine_story(ledger_db: Engine, settings: Settings) -> Engine:
    """Late 2025 in the Russia–Ukraine talks, as the headlines told it (with an Israeli statement last,
    which sets the queries' "now" without being about Ukraine)."""
    with ledger_db.begin() as conn:
        conn.execute(
            pg_insert(Issue)
            .values(
                [
                    {"negotiation": "ukraine", "key": key, "label": label, "value_type": value_type}
                    for key, (label, value_type) in UKRAINE_ISSUES.items()
                ]
            )
            .on_conflict_do_nothing()
        )
    story = [
        # November: the month before
        ("ukraine", "security_guarantees", "yes", "demands", at(11, 21), 1),
        ("russia", "territorial_concessions", "yes", "demands", at(11, 27), 1),
        ("russia", "ceasefire", "yes", "rejects", at(11, 28), 2),
        ("russia", "nato_membership", "yes", "rejects", at(11, 28), 3),
        ("russia", "prisoner_exchange", "1000", "accepts", at(11, 29), 1),
        ("ukraine", "prisoner_exchange", "1000", "accepts", at(11, 29), 2),
        ("russia", "ceasefire_duration", "3", "proposes", at(11, 30), 1),
        ("ukraine", "ceasefire_duration", "30", "demands", at(11, 30), 2),
        # December: this month
        ("russia", "territorial_concessions", "yes", "demands", at(12, 4), 2),  # said again: no event
        ("ukraine", "territorial_concessions", "yes", "rejects", at(12, 9), 3),
        ("ukraine", "ceasefire", "yes", "accepts", at(12, 10), 1),
        ("russia", "ceasefire", "yes", "accepts", at(12, 20), 1),  # they no longer differ on it
        ("united_states", "security_guarantees", "yes", "proposes", at(12, 29), 1),
        ("ukraine", "security_guarantees", "yes", "accepts", at(12, 30), 2),
    ]
    for actor, issue, value, stance, when, outlet in story:
        state(ledger_db, actor, issue, value, stance, when, outlet=outlet, negotiation="ukraine")
    state(ledger_db, "israel", "ceasefire_duration", "60", "proposes", at(12, 31), negotiation="gaza")
    apply_claims(ledger_db, settings, [], version=VERSION)
    return ledger_db


def test_where_russia_and_ukraine_differ_lists_the_issues_they_hold_apart_now(ukraine_story: Engine) -> None:
    found = rows(ukraine_story, QUERIES["ukraine_where_russia_and_ukraine_differ"])
    assert [
        (r["issue"], r["russia_value"], r["russia_stance"], r["ukraine_value"], r["ukraine_stance"])
        for r in found
    ] == [
        ("ceasefire_duration", "3", "proposes", "30", "demands"),
        ("territorial_concessions", "yes", "demands", "yes", "rejects"),
    ]  # not the ceasefire both now accept, the swap both accept, nor NATO, on which Ukraine said nothing
    land = found[1]
    assert (land["issue_label"], land["russia_since"], land["ukraine_since"]) == (
        "Territorial concessions", at(11, 27), at(12, 9)
    )  # fmt: skip
    assert land["russia_evidence"].startswith("russia demands territorial_concessions yes")
    assert land["russia_url"].startswith("http://outlet2.example/")  # the latest statement: 4 December
    assert land["ukraine_evidence"].startswith("ukraine rejects") and land["ukraine_url"].startswith(
        "http://outlet3"
    )


def test_who_moved_on_guarantees_or_territory_this_month_lists_this_months_events_only(
    ukraine_story: Engine,
) -> None:
    found = rows(ukraine_story, QUERIES["ukraine_moves_on_guarantees_or_territory_this_month"])
    assert [
        (r["published_at"], r["kind"], r["actor_name"], r["issue"], r["was"], r["now"]) for r in found
    ] == [
        (at(12, 30), "change", "Ukraine", "security_guarantees", "yes (demands)", "yes (accepts)"),
        (at(12, 29), "new", "United States", "security_guarantees", None, "yes (proposes)"),
        (at(12, 9), "new", "Ukraine", "territorial_concessions", None, "yes (rejects)"),
    ]  # not November's, nor December's ceasefire moves, nor Israel's truce
    assert all(r["still_holds"] for r in found)
    assert found[0]["outlet"] == "Outlet 2" and found[0]["new_url"].startswith("http://outlet2.example/")
