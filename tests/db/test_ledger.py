"""The position ledger: versions in publication order, change events, late articles, confirmation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl.ledger import apply_claims, describe_change
from etl.settings import Settings
from models import Alert, Position, PositionChange
from tests.db.conftest import VERSION, day, state


def history(engine: Engine, actor: str, issue: str) -> list[tuple[str, str, datetime, datetime | None]]:
    with Session(engine) as session:
        rows = session.scalars(
            select(Position)
            .where(Position.actor == actor, Position.issue == issue)
            .order_by(Position.valid_from, Position.id)
        )
        return [(p.value, p.stance, p.valid_from, p.valid_to) for p in rows]


def changes(engine: Engine) -> list[tuple[str, str, str | None, str]]:
    with Session(engine) as session:
        rows = session.scalars(select(PositionChange).order_by(PositionChange.id))
        return [(c.actor, c.kind, c.old_value, c.new_value) for c in rows]


def count_rows(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_first_claim_opens_a_new_position_and_a_change_closes_it(
    ledger_db: Engine, settings: Settings
) -> None:
    state(ledger_db, "israel", "ceasefire_duration", "42", "proposes", day(2))
    state(ledger_db, "israel", "ceasefire_duration", "60", "proposes", day(9))
    summary = apply_claims(ledger_db, settings, ["console://"], version=VERSION)

    assert (summary.claims, summary.new_positions, summary.changes) == (2, 1, 1)
    assert history(ledger_db, "israel", "ceasefire_duration") == [
        ("42", "proposes", day(2), day(9)),
        ("60", "proposes", day(9), None),
    ]
    assert changes(ledger_db) == [("israel", "new", None, "42"), ("israel", "change", "42", "60")]


def test_rerun_applies_nothing_and_queues_no_alert(ledger_db: Engine, settings: Settings) -> None:
    state(ledger_db, "hamas", "permanent_ceasefire", "yes", "demands", day(3))
    first = apply_claims(ledger_db, settings, ["console://"], version=VERSION)
    again = apply_claims(ledger_db, settings, ["console://"], version=VERSION)

    assert (first.claims, first.alerts) == (1, 1)
    assert (again.claims, again.new_positions, again.changes, again.alerts) == (0, 0, 0, 0)
    assert count_rows(ledger_db, Alert) == 1
    assert count_rows(ledger_db, Position) == 1


def test_same_value_from_other_outlets_corroborates_and_confirms(
    ledger_db: Engine, settings: Settings
) -> None:
    state(ledger_db, "qatar", "aid_trucks_per_day", "200", "proposes", day(5), outlet=1)
    state(ledger_db, "qatar", "aid_trucks_per_day", "200", "proposes", day(6), outlet=1)
    apply_claims(ledger_db, settings, ["console://"], version=VERSION)
    with Session(ledger_db) as session:
        position = session.scalars(select(Position)).one()
        assert (position.claims, position.outlets, position.confirmed_at) == (2, 1, None)

    state(ledger_db, "qatar", "aid_trucks_per_day", "200", "proposes", day(7), outlet=2)
    summary = apply_claims(ledger_db, settings, ["console://"], version=VERSION)
    with Session(ledger_db) as session:
        position = session.scalars(select(Position)).one()
        change = session.scalars(select(PositionChange)).one()
        assert (position.claims, position.outlets) == (3, 2)
        assert position.confirmed_at is not None and change.confirmed_at is not None
    assert (summary.changes, summary.confirmations) == (0, 1)


def test_stance_change_on_the_same_value_is_a_change(ledger_db: Engine, settings: Settings) -> None:
    state(ledger_db, "hamas", "ceasefire_duration", "4", "demands", day(10))
    state(ledger_db, "hamas", "ceasefire_duration", "4", "accepts", day(12))
    summary = apply_claims(ledger_db, settings, ["console://"], version=VERSION)

    assert summary.changes == 1
    assert [h[:2] for h in history(ledger_db, "hamas", "ceasefire_duration")] == [
        ("4", "demands"),
        ("4", "accepts"),
    ]


def test_late_article_is_placed_in_history_without_a_change(ledger_db: Engine, settings: Settings) -> None:
    state(ledger_db, "israel", "ceasefire_duration", "42", "proposes", day(5))
    state(ledger_db, "israel", "ceasefire_duration", "60", "proposes", day(10))
    apply_claims(ledger_db, settings, ["console://"], version=VERSION)

    # arriving now, published before everything we had: older history, not news
    state(ledger_db, "israel", "ceasefire_duration", "30", "proposes", day(1))
    # arriving now, published in the middle of the 42-day version and agreeing with it
    state(ledger_db, "israel", "ceasefire_duration", "42", "proposes", day(7), outlet=2)
    late = apply_claims(ledger_db, settings, ["console://"], version=VERSION)

    assert (late.claims, late.new_positions, late.changes, late.alerts) == (2, 0, 0, 0)
    assert history(ledger_db, "israel", "ceasefire_duration") == [
        ("30", "proposes", day(1), day(5)),
        ("42", "proposes", day(5), day(10)),
        ("60", "proposes", day(10), None),
    ]
    assert len(changes(ledger_db)) == 2


def test_late_article_that_repeats_the_first_version_extends_it_back(
    ledger_db: Engine, settings: Settings
) -> None:
    state(ledger_db, "egypt", "guarantees", "yes", "demands", day(8))
    apply_claims(ledger_db, settings, ["console://"], version=VERSION)
    state(ledger_db, "egypt", "guarantees", "yes", "demands", day(4), outlet=3)
    apply_claims(ledger_db, settings, ["console://"], version=VERSION)

    assert history(ledger_db, "egypt", "guarantees") == [("yes", "demands", day(4), None)]


def test_alerts_are_queued_per_channel_in_the_same_run(ledger_db: Engine, settings: Settings) -> None:
    state(ledger_db, "israel", "withdrawal", "partial", "proposes", day(2))
    summary = apply_claims(ledger_db, settings, ["console://", "jsonl:///tmp/x.jsonl"], version=VERSION)

    with Session(ledger_db) as session:
        alerts = session.scalars(select(Alert).order_by(Alert.channel)).all()
    assert summary.alerts == 2
    assert [a.channel for a in alerts] == ["console://", "jsonl:///tmp/x.jsonl"]
    assert {a.alert_key for a in alerts} == {alerts[0].alert_key}  # one stable id on every channel
    assert all(a.status == "pending" for a in alerts)


def test_alert_on_confirmed_waits_for_the_second_outlet(ledger_db: Engine, settings: Settings) -> None:
    confirmed = settings.with_changes(alert_on="confirmed")
    state(ledger_db, "hamas", "prisoners_released", "all", "demands", day(3), outlet=1)
    first = apply_claims(ledger_db, confirmed, ["console://"], version=VERSION)
    state(ledger_db, "hamas", "prisoners_released", "all", "demands", day(4), outlet=2)
    second = apply_claims(ledger_db, confirmed, ["console://"], version=VERSION)

    assert (first.new_positions, first.alerts) == (1, 0)
    assert (second.confirmations, second.alerts) == (1, 1)


def test_change_message_says_what_changed_and_why(ledger_db: Engine, settings: Settings) -> None:
    state(ledger_db, "israel", "ceasefire_duration", "60", "proposes", day(2))
    state(ledger_db, "israel", "ceasefire_duration", "42", "proposes", day(9), outlet=2)
    apply_claims(ledger_db, settings, ["console://"], version=VERSION)
    with Session(ledger_db) as session:
        change = session.scalars(select(PositionChange).where(PositionChange.kind == "change")).one()
        subject, body = describe_change(change, "days")

    assert subject == "Israel — ceasefire_duration: 60 days → 42 days (proposes)"
    assert body.startswith(f"{subject}, per Outlet 2, 2025-01-09: 'israel proposes ceasefire_duration 42")
    assert "http://outlet2.example/" in body


def test_claims_of_another_extractor_version_are_not_applied(ledger_db: Engine, settings: Settings) -> None:
    state(ledger_db, "israel", "guarantees", "yes", "rejects", day(2))
    summary = apply_claims(ledger_db, settings, ["console://"], version="some-other-version")
    assert summary.claims == 0
    assert count_rows(ledger_db, Position) == 0
