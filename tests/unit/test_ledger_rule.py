"""The ledger's versioning rule, without a database: versions, events, confirmation and alerts."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count

import pytest

from etl.ledger import rule
from etl.ledger.rule import LedgerKey, Outcome, PendingClaim, Policy, Version
from models.enums import ChangeKind, Stance

KEY = ("gaza", "israel", "ceasefire_duration")
NOW = datetime(2026, 1, 1, tzinfo=UTC)
FIRST = Policy(confirm_outlets=2, alert_on="first")
CONFIRMED = Policy(confirm_outlets=2, alert_on="confirmed")
_ids = count(1)

Row = tuple[str, str, int, int | None]
"""(value, stance, first day, day it ended or None)"""


def day(n: int) -> datetime:
    return datetime(2025, 1, n, 12, tzinfo=UTC)


def said(value: str, on: int, stance: str = "proposes", feed: int = 1) -> PendingClaim:
    n = next(_ids)
    return PendingClaim(
        id=n, negotiation=KEY[0], actor=KEY[1], issue=KEY[2], value=value, value_number=None,
        stance=Stance(stance), evidence=f"israel {stance} {value} (story {n})", published_at=day(on),
        feed_id=feed, outlet=f"Outlet {feed}", url=f"http://outlet{feed}.example/{n}",
    )  # fmt: skip


def run(
    claims: list[PendingClaim],
    versions: list[Version] | None = None,
    policy: Policy = FIRST,
) -> tuple[list[Version], Outcome]:
    histories = {KEY: versions if versions is not None else []}
    outcome = rule.apply(histories, claims, policy, NOW)
    return histories[KEY], outcome


def rows(versions: list[Version]) -> list[Row]:
    return [
        (v.value, v.stance, v.valid_from.day, v.valid_to.day if v.valid_to is not None else None)
        for v in versions
    ]


def stored(claims: list[PendingClaim], policy: Policy = FIRST) -> list[Version]:
    """The versions ``claims`` make, as a store holds them after writing (ids given, events kept)."""
    versions, outcome = run(claims, policy=policy)
    for n, version in enumerate(outcome.opened, start=100):
        version.id = n
    for n, event in enumerate(outcome.events, start=200):
        event.id = n
    return versions


def test_first_claim_opens_a_current_version_and_a_new_event() -> None:
    claim = said("42", 2)
    versions, outcome = run([claim])

    assert rows(versions) == [("42", "proposes", 2, None)]
    [event] = outcome.events
    assert (event.kind, event.old_value, event.new_value) == (ChangeKind.NEW, None, "42")
    assert event.new_stance == Stance.PROPOSES
    assert (event.new_evidence, event.new_url, event.outlet) == (claim.evidence, claim.url, "Outlet 1")
    assert event.new_position is versions[0] and event.old_position is None
    assert versions[0].opened_by_claim_id == claim.id and versions[0].opened_by is event
    assert outcome.opened == versions and outcome.support == [(claim, versions[0])]
    assert (outcome.new_positions, outcome.changes, outcome.confirmations) == (1, 0, 0)


# a history of 42 days from day 5 and 60 days from day 10 (current), and one claim arriving
@pytest.mark.parametrize(
    ("claim", "history", "kinds"),
    [
        pytest.param(
            ("60", 12, "proposes"), [("42", "proposes", 5, 10), ("60", "proposes", 10, None)], [],
            id="same-as-current-corroborates",
        ),
        pytest.param(
            ("30", 12, "proposes"),
            [("42", "proposes", 5, 10), ("60", "proposes", 10, 12), ("30", "proposes", 12, None)],
            [ChangeKind.CHANGE], id="other-value-while-current-is-a-change",
        ),
        pytest.param(
            ("60", 12, "accepts"),
            [("42", "proposes", 5, 10), ("60", "proposes", 10, 12), ("60", "accepts", 12, None)],
            [ChangeKind.CHANGE], id="other-stance-same-value-is-a-change",
        ),
        pytest.param(
            ("42", 7, "proposes"), [("42", "proposes", 5, 10), ("60", "proposes", 10, None)], [],
            id="late-and-same-corroborates-history",
        ),
        pytest.param(
            ("30", 7, "proposes"),
            [("42", "proposes", 5, 7), ("30", "proposes", 7, 10), ("60", "proposes", 10, None)], [],
            id="late-and-different-splits-history",
        ),
        pytest.param(
            ("42", 3, "proposes"), [("42", "proposes", 3, 10), ("60", "proposes", 10, None)], [],
            id="before-all-and-same-extends-the-first-back",
        ),
        pytest.param(
            ("30", 1, "proposes"),
            [("30", "proposes", 1, 5), ("42", "proposes", 5, 10), ("60", "proposes", 10, None)], [],
            id="before-all-and-different-opens-older-history",
        ),
    ],
)  # fmt: skip
def test_a_claim_against_a_stored_history(
    claim: tuple[str, int, str], history: list[Row], kinds: list[ChangeKind]
) -> None:
    versions = stored([said("42", 5), said("60", 10)])
    value, on, stance = claim

    after, outcome = run([said(value, on, stance)], versions)

    assert rows(after) == history
    assert [e.kind for e in outcome.events] == kinds
    assert len(outcome.alerts) == len(kinds)  # late news raises no alert
    assert sum(v.claims for v in after) == 3


def test_a_change_reports_the_claim_that_opened_the_version_it_closes() -> None:
    opening, later, change = said("42", 2), said("42", 3, feed=2), said("60", 9)
    versions, outcome = run([opening, later, change])

    event = outcome.events[-1]
    assert (event.kind, event.old_value, event.new_value) == (ChangeKind.CHANGE, "42", "60")
    assert (event.old_evidence, event.old_url) == (opening.evidence, opening.url)
    assert event.old_position is versions[0] and event.new_position is versions[1]


def test_corroboration_counts_a_claim_and_an_outlet_only_for_a_new_feed() -> None:
    versions, _ = run([said("42", 2, feed=1), said("42", 3, feed=1), said("42", 4, feed=2)])

    [version] = versions
    assert (version.claims, version.feeds) == (3, {1, 2})


@pytest.mark.parametrize(
    ("confirm_outlets", "feeds", "confirmed_by"),
    [
        (1, [1, 1], 0),
        (2, [1, 1, 2], 2),
        (2, [1, 1, 1], None),
        (3, [1, 2, 1, 3], 3),
    ],
)
def test_a_version_is_confirmed_by_enough_distinct_outlets(
    confirm_outlets: int, feeds: list[int], confirmed_by: int | None
) -> None:
    policy = Policy(confirm_outlets=confirm_outlets, alert_on="first")
    histories: dict[LedgerKey, list[Version]] = {KEY: []}
    confirmed = []
    for n, feed in enumerate(feeds):
        outcome = rule.apply(histories, [said("42", 2 + n, feed=feed)], policy, NOW)
        confirmed.append(outcome.confirmations)

    assert confirmed == [1 if n == confirmed_by else 0 for n in range(len(feeds))]
    [version] = histories[KEY]
    assert version.confirmed_at == (NOW if confirmed_by is not None else None)
    assert version.opened_by is not None and version.opened_by.confirmed_at == version.confirmed_at


@pytest.mark.parametrize(
    ("policy", "alerted_after", "confirmed"),
    [
        (FIRST, [1, 0], [False]),  # on the event itself, unconfirmed then
        (CONFIRMED, [0, 1], [True]),  # when a second outlet confirms it
        (Policy(confirm_outlets=1, alert_on="first"), [1, 0], [True]),  # confirmed by its first outlet
        (Policy(confirm_outlets=1, alert_on="confirmed"), [1, 0], [True]),
    ],
)
def test_alerts_are_queued_per_alert_on(
    policy: Policy, alerted_after: list[int], confirmed: list[bool]
) -> None:
    histories: dict[LedgerKey, list[Version]] = {KEY: []}
    first = rule.apply(histories, [said("42", 2, feed=1)], policy, NOW)
    second = rule.apply(histories, [said("42", 3, feed=2)], policy, NOW)

    assert [len(first.alerts), len(second.alerts)] == alerted_after
    queued = first.alerts + second.alerts
    assert [a.confirmed_at is not None for a in queued] == confirmed
    assert all(a.event.kind == ChangeKind.NEW for a in queued)


def test_a_stored_event_confirmed_later_is_returned_to_be_updated_and_alerted_once() -> None:
    versions = stored([said("42", 2, feed=1)], policy=CONFIRMED)

    _, confirming = run([said("42", 3, feed=2)], versions, policy=CONFIRMED)
    _, again = run([said("42", 4, feed=3)], versions, policy=CONFIRMED)

    [event] = confirming.confirmed
    assert event.id == 200 and event.confirmed_at == NOW
    assert confirming.events == [] and [a.event for a in confirming.alerts] == [event]
    assert (again.confirmed, again.alerts, again.confirmations) == ([], [], 0)


def test_the_outcome_names_what_a_store_must_write() -> None:
    versions = stored([said("42", 5), said("60", 10)])

    _, split = run([said("30", 7, feed=2)], versions)

    older, newer, current = versions
    assert split.opened == [newer] and newer.id is None
    assert list(split.touched) == [older, newer]  # the version cut short, the one placed in history
    assert [(c.value, v) for c, v in split.support] == [("30", newer)]
    assert current not in split.touched


def test_claims_of_several_keys_keep_their_order() -> None:
    hamas = PendingClaim(
        id=next(_ids), negotiation="gaza", actor="hamas", issue="prisoners_released", value="all",
        value_number=None, stance=Stance.DEMANDS, evidence="hamas demands all", published_at=day(3),
        feed_id=1, outlet="Outlet 1", url=None,
    )  # fmt: skip
    histories: dict[LedgerKey, list[Version]] = {KEY: [], ("gaza", "hamas", "prisoners_released"): []}

    outcome = rule.apply(histories, [said("42", 2), hamas, said("60", 4)], FIRST, NOW)

    assert [(e.actor, e.kind) for e in outcome.events] == [
        ("israel", ChangeKind.NEW), ("hamas", ChangeKind.NEW), ("israel", ChangeKind.CHANGE),
    ]  # fmt: skip
    assert [a.event for a in outcome.alerts] == outcome.events


# stated out of publication order (as a store of many feeds holds them): (value, day, feed)
STATED = [("60", 9, 1), ("42", 2, 1), ("42", 3, 2), ("60", 10, 2), ("42", 4, 1), ("30", 12, 3), ("30", 13, 3)]


@pytest.mark.parametrize("cut", range(len(STATED) + 1))
def test_applying_in_two_parts_builds_the_history_of_one(cut: int) -> None:
    claims = sorted((said(value, on, feed=feed) for value, on, feed in STATED), key=lambda c: c.published_at)
    histories: dict[LedgerKey, list[Version]] = {KEY: []}

    parts = [rule.apply(histories, claims[:cut], FIRST, NOW), rule.apply(histories, claims[cut:], FIRST, NOW)]

    assert rows(histories[KEY]) == [
        ("42", "proposes", 2, 9),
        ("60", "proposes", 9, 12),
        ("30", "proposes", 12, None),
    ]
    assert [(v.claims, len(v.feeds)) for v in histories[KEY]] == [(3, 2), (2, 2), (2, 1)]
    assert [e.kind for p in parts for e in p.events] == [ChangeKind.NEW, ChangeKind.CHANGE, ChangeKind.CHANGE]
    assert sum(p.confirmations for p in parts) == 2


def test_a_key_the_store_did_not_load_is_an_error_not_a_new_position() -> None:
    with pytest.raises(KeyError):
        rule.apply({}, [said("42", 2)], FIRST, NOW)


# --- one actor, the same issue key, two negotiations (codebook v2) ---------------------------------


def us_said(negotiation: str, value: str, on: int, feed: int = 1) -> PendingClaim:
    n = next(_ids)
    return PendingClaim(
        id=n, negotiation=negotiation, actor="united_states", issue="ceasefire_duration", value=value,
        value_number=float(value), stance=Stance.PROPOSES,
        evidence=f"US proposes {value} days ({negotiation})", published_at=day(on), feed_id=feed,
        outlet=f"Outlet {feed}", url=f"http://outlet{feed}.example/{n}",
    )  # fmt: skip


def test_the_same_issue_key_in_two_negotiations_keeps_two_histories() -> None:
    gaza = ("gaza", "united_states", "ceasefire_duration")
    ukraine = ("ukraine", "united_states", "ceasefire_duration")
    histories: dict[LedgerKey, list[Version]] = {gaza: [], ukraine: []}

    outcome = rule.apply(histories, [us_said("gaza", "60", 2), us_said("ukraine", "30", 5)], FIRST, NOW)

    # a 30-day Ukraine ceasefire is the US's first Ukraine position, not a change of its Gaza one
    assert rows(histories[gaza]) == [("60", "proposes", 2, None)]
    assert rows(histories[ukraine]) == [("30", "proposes", 5, None)]
    assert [(e.negotiation, e.kind, e.old_value, e.new_value) for e in outcome.events] == [
        ("gaza", ChangeKind.NEW, None, "60"),
        ("ukraine", ChangeKind.NEW, None, "30"),
    ]
    assert outcome.changes == 0
    assert [v.negotiation for v in outcome.opened] == ["gaza", "ukraine"]

    # and a later Gaza claim moves the Gaza version only, reporting the Gaza claim as 'before'
    later = rule.apply(histories, [us_said("gaza", "42", 9)], FIRST, NOW)
    [change] = later.events
    assert (change.negotiation, change.kind, change.old_value, change.new_value) == (
        "gaza", ChangeKind.CHANGE, "60", "42",
    )  # fmt: skip
    assert change.old_evidence == "US proposes 60 days (gaza)"
    assert rows(histories[ukraine]) == [("30", "proposes", 5, None)]
