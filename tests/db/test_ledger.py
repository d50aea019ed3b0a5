"""The position ledger: versions in publication order, change events, late articles, confirmation."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl.alerts.messages import describe_change
from etl.ledger.store import PENDING_CHUNK, apply_claims
from etl.settings import Settings
from models import Alert, Claim, Position, PositionChange, PositionSupport
from tests.db.conftest import VERSION, day, state


def history(
    engine: Engine, actor: str, issue: str, negotiation: str = "gaza"
) -> list[tuple[str, str, datetime, datetime | None]]:
    with Session(engine) as session:
        rows = session.scalars(
            select(Position)
            .where(Position.negotiation == negotiation, Position.actor == actor, Position.issue == issue)
            .order_by(Position.valid_from, Position.id)
        )
        return [(p.value, p.stance, p.valid_from, p.valid_to) for p in rows]


def changes(engine: Engine) -> list[tuple[str, str, str | None, str]]:
    with Session(engine) as session:
        rows = session.scalars(select(PositionChange).order_by(PositionChange.id))
        return [(c.actor, c.kind, c.old_value, c.new_value) for c in rows]


def support(engine: Engine, actor: str, issue: str) -> list[tuple[str, int, int]]:
    """Each version's value, claims and outlets, as stored and as counted from ``position_support``."""
    with Session(engine) as session:
        rows = session.execute(
            select(
                Position.value, Position.claims, Position.outlets, func.count(),
                func.count(func.distinct(PositionSupport.feed_id)),
            )
            .join(PositionSupport, PositionSupport.position_id == Position.id)
            .where(Position.actor == actor, Position.issue == issue)
            .group_by(Position.id)
            .order_by(Position.valid_from, Position.id)
        ).all()  # fmt: skip
    assert all((claims, outlets) == (counted, distinct) for _, claims, outlets, counted, distinct in rows)
    return [(value, claims, outlets) for value, claims, outlets, _, _ in rows]


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


def test_change_message_says_in_which_negotiation_what_changed_and_why(
    ledger_db: Engine, settings: Settings
) -> None:
    state(ledger_db, "israel", "ceasefire_duration", "60", "proposes", day(2))
    state(ledger_db, "israel", "ceasefire_duration", "42", "proposes", day(9), outlet=2)
    apply_claims(ledger_db, settings, ["console://"], version=VERSION)
    with Session(ledger_db) as session:
        change = session.scalars(select(PositionChange).where(PositionChange.kind == "change")).one()
        subject, body = describe_change(change, "days", "Gaza captives and truce talks")
        queued = session.scalars(select(Alert).where(Alert.change_id == change.id)).one()

    assert (
        subject == "Gaza captives and truce talks: Israel — ceasefire_duration: 60 days → 42 days (proposes)"
    )
    assert body.startswith(f"{subject}, per Outlet 2, 2025-01-09: 'israel proposes ceasefire_duration 42")
    assert "http://outlet2.example/" in body
    # the outbox holds that text, with the label the seeds give the negotiation
    assert (queued.subject, queued.body) == (subject, body)
    assert (queued.payload["negotiation"], queued.payload["negotiation_label"]) == (
        "gaza", "Gaza captives and truce talks",
    )  # fmt: skip


def test_one_actors_same_issue_in_two_negotiations_keeps_two_histories_and_no_change(
    ledger_db: Engine, settings: Settings
) -> None:
    state(ledger_db, "united_states", "ceasefire_duration", "60", "proposes", day(2))
    state(ledger_db, "united_states", "ceasefire_duration", "30", "proposes", day(5), negotiation="ukraine")
    first = apply_claims(ledger_db, settings, ["console://"], version=VERSION)
    # a second run loads both stored histories and moves the Ukraine one only
    state(ledger_db, "united_states", "ceasefire_duration", "60", "proposes", day(6), outlet=2)
    state(ledger_db, "united_states", "ceasefire_duration", "3", "proposes", day(7), negotiation="ukraine")
    second = apply_claims(ledger_db, settings, ["console://"], version=VERSION)

    assert (first.new_positions, first.changes, second.new_positions, second.changes) == (2, 0, 0, 1)
    assert history(ledger_db, "united_states", "ceasefire_duration") == [("60", "proposes", day(2), None)]
    assert history(ledger_db, "united_states", "ceasefire_duration", "ukraine") == [
        ("30", "proposes", day(5), day(7)),
        ("3", "proposes", day(7), None),
    ]
    with Session(ledger_db) as session:
        events = session.execute(
            select(PositionChange.negotiation, PositionChange.kind, PositionChange.old_value, Alert.subject)
            .join(Alert, Alert.change_id == PositionChange.id)
            .order_by(PositionChange.id)
        ).all()
    assert [tuple(e) for e in events] == [
        ("gaza", "new", None, "Gaza captives and truce talks: United States — ceasefire_duration: 60 days"
         " (proposes) [new position]"),
        ("ukraine", "new", None, "Russia–Ukraine talks: United States — ceasefire_duration: 30 days"
         " (proposes) [new position]"),
        ("ukraine", "change", "30", "Russia–Ukraine talks: United States — ceasefire_duration: 30 days"
         " → 3 days (proposes)"),
    ]  # fmt: skip
    assert support(ledger_db, "united_states", "ceasefire_duration") == [
        ("60", 2, 2),
        ("30", 1, 1),
        ("3", 1, 1),
    ]


def test_claims_of_another_extractor_version_are_not_applied(ledger_db: Engine, settings: Settings) -> None:
    state(ledger_db, "israel", "guarantees", "yes", "rejects", day(2))
    summary = apply_claims(ledger_db, settings, ["console://"], version="some-other-version")
    assert summary.claims == 0
    assert count_rows(ledger_db, Position) == 0


# --- the batched ledger: runs of many claims, chunk boundaries, stored and new pairs together -----


@pytest.mark.parametrize("chunk", [1, 3, PENDING_CHUNK])
def test_many_claims_for_one_pair_in_one_run_build_the_whole_history(
    ledger_db: Engine, settings: Settings, chunk: int
) -> None:
    said = [  # (value, day, outlet), stored out of publication order
        ("60", 9, 1), ("42", 2, 1), ("42", 3, 2), ("60", 10, 2), ("42", 4, 1), ("30", 12, 3), ("30", 13, 3),
    ]  # fmt: skip
    for value, n, outlet in said:
        state(ledger_db, "israel", "ceasefire_duration", value, "proposes", day(n), outlet=outlet)
    summary = apply_claims(ledger_db, settings, ["console://"], version=VERSION, chunk=chunk)

    assert (summary.claims, summary.new_positions, summary.changes, summary.confirmations) == (7, 1, 2, 2)
    assert summary.alerts == 3
    assert history(ledger_db, "israel", "ceasefire_duration") == [
        ("42", "proposes", day(2), day(9)),
        ("60", "proposes", day(9), day(12)),
        ("30", "proposes", day(12), None),
    ]
    assert support(ledger_db, "israel", "ceasefire_duration") == [("42", 3, 2), ("60", 2, 2), ("30", 2, 1)]
    with Session(ledger_db) as session:
        events = session.scalars(select(PositionChange).order_by(PositionChange.id)).all()
        assert [(e.kind, e.old_value, e.new_value, e.confirmed_at is not None) for e in events] == [
            ("new", None, "42", True),
            ("change", "42", "60", True),
            ("change", "60", "30", False),
        ]
        # the 'before' side of a change is the claim that opened the version it closes
        assert events[2].old_url == events[1].new_url and events[2].old_evidence == events[1].new_evidence
    again = apply_claims(ledger_db, settings, ["console://"], version=VERSION, chunk=chunk)
    assert (again.claims, again.alerts) == (0, 0)
    assert count_rows(ledger_db, Position) == 3 and count_rows(ledger_db, Alert) == 3


@pytest.mark.parametrize("chunk", [1, PENDING_CHUNK])
def test_a_run_mixing_stored_and_new_pairs_continues_the_stored_history(
    ledger_db: Engine, settings: Settings, chunk: int
) -> None:
    opening = state(ledger_db, "hamas", "prisoners_released", "all", "demands", day(3), outlet=1)
    apply_claims(ledger_db, settings, ["console://"], version=VERSION, chunk=chunk)

    # the stored version is confirmed by a second outlet, then changes; a new pair appears meanwhile
    state(ledger_db, "hamas", "prisoners_released", "all", "demands", day(4), outlet=2)
    state(ledger_db, "qatar", "guarantees", "yes", "proposes", day(5), outlet=3)
    state(ledger_db, "hamas", "prisoners_released", "300", "demands", day(6), outlet=3)
    summary = apply_claims(ledger_db, settings, ["console://"], version=VERSION, chunk=chunk)

    assert (summary.claims, summary.new_positions, summary.changes, summary.confirmations) == (3, 1, 1, 1)
    assert summary.alerts == 2
    assert history(ledger_db, "hamas", "prisoners_released") == [
        ("all", "demands", day(3), day(6)),
        ("300", "demands", day(6), None),
    ]
    assert support(ledger_db, "hamas", "prisoners_released") == [("all", 2, 2), ("300", 1, 1)]
    assert history(ledger_db, "qatar", "guarantees") == [("yes", "proposes", day(5), None)]
    with Session(ledger_db) as session:
        new, change = session.scalars(
            select(PositionChange).where(PositionChange.actor == "hamas").order_by(PositionChange.id)
        ).all()
        opening_evidence = session.scalar(select(Claim.evidence).where(Claim.id == opening))
    assert new.confirmed_at is not None  # the stored event is confirmed by this run
    assert (change.old_value, change.new_value, change.old_evidence) == ("all", "300", opening_evidence)
    again = apply_claims(ledger_db, settings, ["console://"], version=VERSION, chunk=chunk)
    assert (again.claims, again.confirmations, again.alerts) == (0, 0, 0)


def test_late_article_that_differs_splits_a_stored_version_without_an_event(
    ledger_db: Engine, settings: Settings
) -> None:
    state(ledger_db, "israel", "ceasefire_duration", "42", "proposes", day(5))
    state(ledger_db, "israel", "ceasefire_duration", "60", "proposes", day(10))
    apply_claims(ledger_db, settings, ["console://"], version=VERSION)

    state(ledger_db, "israel", "ceasefire_duration", "30", "proposes", day(7), outlet=2)
    state(ledger_db, "israel", "ceasefire_duration", "60", "proposes", day(11), outlet=2)
    late = apply_claims(ledger_db, settings, ["console://"], version=VERSION, chunk=1)

    assert (late.claims, late.new_positions, late.changes, late.alerts) == (2, 0, 0, 0)
    assert late.confirmations == 1  # the current 60-day version, by a second outlet
    assert history(ledger_db, "israel", "ceasefire_duration") == [
        ("42", "proposes", day(5), day(7)),
        ("30", "proposes", day(7), day(10)),
        ("60", "proposes", day(10), None),
    ]
    assert len(changes(ledger_db)) == 2


def test_confirmation_on_alert_on_confirmed_alerts_a_stored_event_once(
    ledger_db: Engine, settings: Settings
) -> None:
    confirmed = settings.with_changes(alert_on="confirmed")
    state(ledger_db, "egypt", "withdrawal", "full", "demands", day(2), outlet=1)
    apply_claims(ledger_db, confirmed, ["console://"], version=VERSION)
    state(ledger_db, "egypt", "withdrawal", "full", "demands", day(3), outlet=2)
    state(ledger_db, "egypt", "withdrawal", "full", "demands", day(4), outlet=3)
    summary = apply_claims(ledger_db, confirmed, ["console://"], version=VERSION, chunk=1)

    assert (summary.confirmations, summary.alerts) == (1, 1)
    with Session(ledger_db) as session:
        alert = session.scalars(select(Alert)).one()
    assert alert.payload["confirmed"] is True and alert.payload["new"]["value"] == "full"
