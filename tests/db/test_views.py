"""The analysts' SQL surface (migration 0004): documented views over the ledger, feed health and
full-text search over articles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.engine import Engine

from etl.ledger.store import apply_claims
from etl.settings import Settings
from models import Feed, FeedFetch
from tests.db.conftest import VERSION, VIEWS, day, state


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


def test_ledger_views_show_versions_changes_and_their_evidence(ledger_db: Engine, settings: Settings) -> None:
    state(ledger_db, "israel", "ceasefire_duration", "42", "proposes", day(2), outlet=1)
    state(ledger_db, "israel", "ceasefire_duration", "60", "proposes", day(9), outlet=1)
    state(ledger_db, "israel", "ceasefire_duration", "60", "proposes", day(10), outlet=2)
    state(ledger_db, "qatar", "hostages_released", "50", "proposes", day(4), outlet=3)
    apply_claims(ledger_db, settings.with_changes(confirm_outlets=2), ["console://"], version=VERSION)

    current = rows(ledger_db, "SELECT * FROM current_positions ORDER BY actor")
    assert [(r["actor"], r["issue"], r["value"], r["stance"]) for r in current] == [
        ("israel", "ceasefire_duration", "60", "proposes"),
        ("qatar", "hostages_released", "50", "proposes"),
    ]
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
