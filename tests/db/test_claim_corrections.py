"""Analysts' corrections: a rejected claim leaves the ledger of its (negotiation, actor, issue) at once,
the events it made are retracted once on the channels that got them, and a restore brings it back."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl.ledger.corrections import AlreadyCorrected, UnknownClaim, reject_claim, restore_claim
from etl.ledger.store import apply_claims
from etl.settings import Settings
from models import Alert, ClaimCorrection, Position
from tests.db.conftest import VERSION, day, state
from tests.db.test_ledger import history

CHANNELS = ["console://", "jsonl:///tmp/parley-test-unused.jsonl"]


def alerts(engine: Engine) -> list[tuple[str, str, str, str]]:
    with Session(engine) as session:
        rows = session.execute(
            select(Alert.alert_key, Alert.kind, Alert.channel, Alert.subject).order_by(Alert.id)
        ).all()
    return [(key, kind, channel, subject) for key, kind, channel, subject in rows]


def positions_by_id(engine: Engine) -> dict[int, tuple[str, str, str, str]]:
    with Session(engine) as session:
        return {p.id: (p.negotiation, p.actor, p.issue, p.value) for p in session.scalars(select(Position))}


def corrections(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(ClaimCorrection)) or 0)


@pytest.fixture
def story(ledger_db: Engine, settings: Settings) -> dict[str, int]:
    """Israel 42 → 60 on ceasefire_duration, Hamas on another key, applied with alerts on two channels."""
    ids = {
        "42": state(ledger_db, "israel", "ceasefire_duration", "42", "proposes", day(2)),
        "60": state(ledger_db, "israel", "ceasefire_duration", "60", "proposes", day(9)),
        "hamas": state(ledger_db, "hamas", "permanent_ceasefire", "yes", "demands", day(3)),
    }
    applied = apply_claims(ledger_db, settings, CHANNELS, version=VERSION)
    assert (applied.new_positions, applied.changes, applied.alerts) == (2, 1, 6)
    return ids


def test_reject_rebuilds_that_key_alone_and_retracts_its_event_once_per_channel(
    ledger_db: Engine, settings: Settings, story: dict[str, int]
) -> None:
    others = {i: p for i, p in positions_by_id(ledger_db).items() if p[1] == "hamas"}
    before = alerts(ledger_db)

    summary = reject_claim(ledger_db, settings, story["60"], "misread: 60 was Hamas's", "ana", CHANNELS)

    assert (len(summary.withdrawn), summary.created, summary.alerts) == (1, 0, 2)
    assert [(v, s, end) for v, s, _, end in history(ledger_db, "israel", "ceasefire_duration")] == [
        ("42", "proposes", None)
    ]
    assert {i: p for i, p in positions_by_id(ledger_db).items() if p[1] == "hamas"} == others
    after = alerts(ledger_db)
    assert after[: len(before)] == before  # queued alerts keep their rows
    retractions = after[len(before) :]
    change_key = next(key for key, _, _, subject in before if "42 days → 60 days" in subject)
    assert {(key, kind, channel) for key, kind, channel, _ in retractions} == {
        (change_key.replace("change", "retract"), "correction", channel) for channel in CHANNELS
    }
    assert retractions[0][3] == (
        "retracted: Gaza captives and truce talks: Israel — ceasefire_duration 60 days,"
        " rejected by an analyst: misread: 60 was Hamas's"
    )

    with pytest.raises(AlreadyCorrected, match="already rejected"):
        reject_claim(ledger_db, settings, story["60"], "again", "ana", CHANNELS)
    assert alerts(ledger_db) == after and corrections(ledger_db) == 1
    # the rejected claim stays out of the ledger: a diff, and a rebuild
    assert apply_claims(ledger_db, settings, CHANNELS, version=VERSION).claims == 0
    rebuilt = apply_claims(ledger_db, settings, CHANNELS, version=VERSION, rebuild=True)
    assert rebuilt.claims == 2
    assert [v for v, *_ in history(ledger_db, "israel", "ceasefire_duration")] == ["42"]


def test_restore_brings_the_position_back_as_a_new_alert(
    ledger_db: Engine, settings: Settings, story: dict[str, int]
) -> None:
    reject_claim(ledger_db, settings, story["60"], "misread", "ana", CHANNELS)
    before = alerts(ledger_db)

    summary = restore_claim(ledger_db, settings, story["60"], "bob", channels=CHANNELS)

    assert (summary.withdrawn, summary.created, summary.alerts) == ([], 1, 2)
    assert [(v, end is None) for v, _, _, end in history(ledger_db, "israel", "ceasefire_duration")] == [
        ("42", False),
        ("60", True),
    ]
    new = alerts(ledger_db)[len(before) :]
    assert {kind for _, kind, _, _ in new} == {"position_change"}
    assert all("42 days → 60 days" in subject for *_, subject in new)
    assert {key for key, *_ in new}.isdisjoint(key for key, *_ in before)  # a new event, a new id
    with pytest.raises(AlreadyCorrected, match="not rejected"):
        restore_claim(ledger_db, settings, story["60"], "bob", channels=CHANNELS)
    assert corrections(ledger_db) == 2


def test_rejecting_the_first_claim_withdraws_the_change_and_alerts_the_new_first_position(
    ledger_db: Engine, settings: Settings, story: dict[str, int]
) -> None:
    before = alerts(ledger_db)
    summary = reject_claim(ledger_db, settings, story["42"], "not Israel's", "ana", CHANNELS)

    # "new 42" and "42 → 60" no longer hold; "new 60" is what the ledger now says
    assert (len(summary.withdrawn), summary.created) == (2, 1)
    assert [v for v, *_ in history(ledger_db, "israel", "ceasefire_duration")] == ["60"]
    kinds = sorted(kind for _, kind, _, _ in alerts(ledger_db)[len(before) :])
    assert kinds == ["correction"] * 4 + ["position_change"] * 2


def test_unknown_claim_is_a_user_error(ledger_db: Engine, settings: Settings) -> None:
    with pytest.raises(UnknownClaim, match="no claim 999999"):
        reject_claim(ledger_db, settings, 999999, "why", "ana", CHANNELS)
    with pytest.raises(UnknownClaim):
        restore_claim(ledger_db, settings, 999999, "ana", channels=CHANNELS)
    assert corrections(ledger_db) == 0


def test_concurrent_rejects_of_one_claim_give_one_audit_row_and_one_retraction(
    ledger_db: Engine, settings: Settings, story: dict[str, int], tmp_path: Path
) -> None:
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def reject(by: str) -> None:
        start.wait()
        try:
            reject_claim(ledger_db, settings, story["60"], "wrong", by, CHANNELS)
            outcomes.append("rejected")
        except AlreadyCorrected:
            outcomes.append("already")

    threads = [threading.Thread(target=reject, args=(name,)) for name in ("ana", "bob")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["already", "rejected"]
    assert corrections(ledger_db) == 1
    assert sum(kind == "correction" for _, kind, _, _ in alerts(ledger_db)) == len(CHANNELS)


def test_an_event_the_rebuild_confirms_is_alerted_when_alerts_wait_for_confirmation(
    ledger_db: Engine, settings: Settings
) -> None:
    confirmed = settings.with_changes(alert_on="confirmed", confirm_outlets=2)
    state(ledger_db, "israel", "ceasefire_duration", "42", "proposes", day(2))
    wrong = state(ledger_db, "israel", "ceasefire_duration", "60", "proposes", day(5))
    assert apply_claims(ledger_db, confirmed, CHANNELS, version=VERSION).alerts == 0  # one outlet each
    state(ledger_db, "israel", "ceasefire_duration", "42", "proposes", day(3), outlet=2)  # not yet diffed

    summary = reject_claim(ledger_db, confirmed, wrong, "misread", "ana", CHANNELS)

    # "new 42" held before, unconfirmed and unalerted; now two outlets confirm it: it is alerted once
    assert (len(summary.withdrawn), summary.created, summary.alerts) == (1, 0, 2)
    assert [(kind, subject.endswith("[new position]")) for _, kind, _, subject in alerts(ledger_db)] == [
        ("position_change", True)
    ] * 2


def test_a_reject_while_the_ledger_applies_new_claims_loses_nothing_whichever_goes_first(
    ledger_db: Engine, settings: Settings, story: dict[str, int]
) -> None:
    # pending: a second outlet reports Israel's 60 days a day later, and Hamas moves
    state(ledger_db, "israel", "ceasefire_duration", "60", "proposes", day(10), outlet=2)
    state(ledger_db, "hamas", "permanent_ceasefire", "no", "accepts", day(11))
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(work: Callable[[], object]) -> None:
        start.wait()
        try:
            work()
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [
        threading.Thread(
            target=run, args=(lambda: apply_claims(ledger_db, settings, CHANNELS, version=VERSION),)
        ),
        threading.Thread(
            target=run,
            args=(lambda: reject_claim(ledger_db, settings, story["60"], "misread", "ana", CHANNELS),),
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    # 60 days still holds, from the second outlet's report: the move is not retracted, nor told twice
    assert [(v, start, end) for v, _, start, end in history(ledger_db, "israel", "ceasefire_duration")] == [
        ("42", day(2), day(10)),
        ("60", day(10), None),
    ]
    assert [v for v, *_ in history(ledger_db, "hamas", "permanent_ceasefire")] == ["yes", "no"]
    kinds = [kind for _, kind, _, _ in alerts(ledger_db)]
    assert kinds == ["position_change"] * 8  # the story's 6 and Hamas's move on each channel
    assert apply_claims(ledger_db, settings, CHANNELS, version=VERSION).claims == 0


def test_an_event_muted_when_it_happened_is_withdrawn_without_a_retraction(
    ledger_db: Engine, settings: Settings, tmp_path: Path
) -> None:
    from tests.db.test_routing_delivery import names, with_rules

    muted = with_rules(settings, tmp_path, "mute:\n  - actors: [united_nations]\n", CHANNELS)
    state(ledger_db, "united_nations", "aid_trucks_per_day", "500", "demands", day(2))
    wrong = state(ledger_db, "united_nations", "aid_trucks_per_day", "700", "demands", day(3))
    state(ledger_db, "qatar", "aid_trucks_per_day", "200", "proposes", day(4))
    assert apply_claims(ledger_db, muted, names(muted), version=VERSION).alerts == len(CHANNELS)  # Qatar's
    before = alerts(ledger_db)

    summary = reject_claim(ledger_db, muted, wrong, "misread", "ana", names(muted))

    # nobody was told of 500 → 700: its withdrawal is told to nobody either
    assert (len(summary.withdrawn), summary.created, summary.alerts) == (1, 0, 0)
    assert [v for v, *_ in history(ledger_db, "united_nations", "aid_trucks_per_day")] == ["500"]
    assert alerts(ledger_db) == before


def test_with_alerts_on_confirmation_an_event_left_unconfirmed_is_retracted_and_announced_again_once(
    ledger_db: Engine, settings: Settings
) -> None:
    confirmed = settings.with_changes(alert_on="confirmed", confirm_outlets=2)
    state(ledger_db, "israel", "ceasefire_duration", "42", "proposes", day(2))
    second = state(ledger_db, "israel", "ceasefire_duration", "42", "proposes", day(3), outlet=2)
    assert apply_claims(ledger_db, confirmed, CHANNELS, version=VERSION).alerts == len(CHANNELS)
    announced = alerts(ledger_db)

    summary = reject_claim(ledger_db, confirmed, second, "a copy of the first outlet", "ana", CHANNELS)

    # one outlet left: "new 42" is no longer what the alerts said (confirmed)
    assert (len(summary.withdrawn), summary.created, summary.alerts) == (1, 0, len(CHANNELS))
    retractions = alerts(ledger_db)[len(announced) :]
    assert {(kind, key) for key, kind, _, _ in retractions} == {
        ("correction", announced[0][0].replace("change", "retract"))
    }
    assert [v for v, *_ in history(ledger_db, "israel", "ceasefire_duration")] == ["42"]

    restore_claim(ledger_db, confirmed, second, "bob", channels=CHANNELS)
    again = alerts(ledger_db)[len(announced) + len(retractions) :]
    assert [(kind, subject.endswith("[new position]")) for _, kind, _, subject in again] == [
        ("position_change", True)
    ] * len(CHANNELS)
    assert {key for key, *_ in again}.isdisjoint(key for key, *_ in announced)
