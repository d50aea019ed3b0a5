"""Claims analysts add: checked against the seeds, attached to their source, applied to the ledger of
their (negotiation, actor, issue) at once with an alert for the event they make, counted once when
the extractor reads the same claim, and withdrawn by a rejection."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl.catalog import ANALYSTS_FEED
from etl.ledger.additions import (
    AddSummary,
    BadClaim,
    ClaimText,
    add_claim,
    added_claims,
)
from etl.ledger.corrections import AlreadyCorrected, reject_claim, restore_claim
from etl.ledger.store import ANALYST, apply_claims
from etl.settings import Settings
from models import Article, Claim, ClaimCorrection, Feed
from tests.db.conftest import VERSION, day, state
from tests.db.test_claim_corrections import CHANNELS, alerts
from tests.db.test_ledger import history

SOURCE = "https://www.example.org/interviews/israel-accepts-four-days?utm_source=x"


def words(value: str = "4", stance: str = "accepts", **changes: object) -> ClaimText:
    fields: dict[str, object] = {
        "negotiation": "gaza",
        "actor": "israel",
        "issue": "ceasefire_duration",
        "value": value,
        "stance": stance,
        "url": SOURCE,
        "evidence": "Israel's cabinet said it accepts the four-day truce.",
        "published_at": day(12),
    }
    fields.update(changes)
    return ClaimText(**fields)  # type: ignore[arg-type]


@pytest.fixture
def story(ledger_db: Engine, settings: Settings) -> dict[str, int]:
    """Israel 42 → 60 on ceasefire_duration, applied with alerts on two channels."""
    ids = {
        "42": state(ledger_db, "israel", "ceasefire_duration", "42", "proposes", day(2)),
        "60": state(ledger_db, "israel", "ceasefire_duration", "60", "proposes", day(9)),
    }
    assert apply_claims(ledger_db, settings, CHANNELS, version=VERSION).changes == 1
    return ids


def test_an_added_claim_moves_the_ledger_at_once_and_is_alerted_from_a_new_source(
    ledger_db: Engine, settings: Settings, story: dict[str, int]
) -> None:
    before = alerts(ledger_db)

    summary = add_claim(ledger_db, settings, words(), "ana", "read in the cabinet's statement", CHANNELS)

    assert isinstance(summary, AddSummary) and not summary.archived
    assert (summary.withdrawn, summary.created, summary.alerts) == ([], 1, 2)
    assert [(v, s, since) for v, s, since, _ in history(ledger_db, "israel", "ceasefire_duration")] == [
        ("42", "proposes", day(2)),
        ("60", "proposes", day(9)),
        ("4", "accepts", day(12)),
    ]
    new = alerts(ledger_db)[len(before) :]
    assert {(kind, subject) for _, kind, _, subject in new} == {
        (
            "position_change",
            "Gaza captives and truce talks: Israel — ceasefire_duration: 60 days → 4 days"
            " (proposes → accepts)",
        )
    }
    with Session(ledger_db) as session:
        claim = session.get(Claim, summary.claim_id)
        assert claim is not None and claim.extractor_version == ANALYST and claim.in_ledger
        article = session.get(Article, summary.article_id)
        assert article is not None
        feed = session.get(Feed, article.feed_id)
        assert feed is not None and (feed.url, feed.active) == (ANALYSTS_FEED, False)
        assert article.canonical_url == "https://example.org/interviews/israel-accepts-four-days"
        assert article.text == claim.evidence and article.published_at == day(12)
        audit = session.scalars(select(ClaimCorrection)).all()
        assert [(a.action, a.claim_id, a.corrected_by, a.reason) for a in audit] == [
            ("add", summary.claim_id, "ana", "read in the cabinet's statement")
        ]
    [(claim_row, addition, counts)] = added_claims(ledger_db)
    assert (claim_row.id, addition.corrected_by, counts) == (summary.claim_id, "ana", True)
    # the views say who added it
    with ledger_db.connect() as conn:
        row = conn.execute(
            text("SELECT origin, added_by, rejected FROM claims_with_evidence WHERE claim_id = :c"),
            {"c": summary.claim_id},
        ).one()
        assert tuple(row) == ("analyst", "ana", False)
        assert conn.execute(
            text(
                "SELECT added_by, history_corrected FROM position_change_events"
                " WHERE new_value = '4' AND actor = 'israel'"
            )
        ).one() == ("ana", True)
        assert conn.scalar(text("SELECT count(*) FROM feed_health WHERE url = :u"), {"u": ANALYSTS_FEED}) in (
            0,
            1,
        )


def test_a_claim_of_an_archived_article_is_attached_to_it_by_its_canonical_url(
    ledger_db: Engine, settings: Settings, story: dict[str, int]
) -> None:
    with Session(ledger_db) as session:
        sixty = session.get(Claim, story["60"])
        assert sixty is not None
        article_id = sixty.article_id
        session.execute(
            text("UPDATE articles SET canonical_url = :c WHERE id = :i"),
            {"c": "https://outlet1.example/story-60", "i": article_id},
        )
        session.commit()
    summary = add_claim(
        ledger_db,
        settings,
        words(
            "yes",
            "demands",
            issue="permanent_ceasefire",
            actor="hamas",
            url="http://outlet1.example/story-60/",
        ),
        "ana",
        channels=CHANNELS,
    )
    assert summary.archived and summary.article_id == article_id
    assert [v for v, *_ in history(ledger_db, "hamas", "permanent_ceasefire")] == ["yes"]
    # published when the archive says, not when the analyst typed it
    assert history(ledger_db, "hamas", "permanent_ceasefire")[0][2] == day(9)


def test_the_extractor_reading_an_added_claim_again_does_not_count_it_twice(
    ledger_db: Engine, settings: Settings, story: dict[str, int]
) -> None:
    summary = add_claim(ledger_db, settings, words(), "ana", channels=CHANNELS)
    before = alerts(ledger_db)
    # a later reading by the extractor finds the same claim in the same source, with its own stance
    with Session(ledger_db) as session, session.begin():
        session.add(
            Claim(
                article_id=summary.article_id, negotiation="gaza", actor="israel", issue="ceasefire_duration",
                value="4", stance="proposes", evidence="…", start_offset=0, end_offset=1, confidence=0.7,
                extractor_version=VERSION,
            )
        )  # fmt: skip
    assert apply_claims(ledger_db, settings, CHANNELS, version=VERSION).claims == 0
    rebuilt = apply_claims(ledger_db, settings, CHANNELS, version=VERSION, rebuild=True)
    assert rebuilt.claims == 3  # 42, 60 and the analyst's 4: the extractor's copy is the analyst's claim
    assert [(v, s, outlets) for v, s, _, outlets in _history_outlets(ledger_db)] == [
        ("42", "proposes", 1),
        ("60", "proposes", 1),
        ("4", "accepts", 1),
    ]
    assert alerts(ledger_db) == before


def _history_outlets(engine: Engine) -> list[tuple[str, str, datetime, int]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT value, stance, valid_from, claims FROM position_history"
                " WHERE actor = 'israel' AND issue = 'ceasefire_duration' ORDER BY valid_from"
            )
        ).all()
    return [(v, s, since, n) for v, s, since, n in rows]


def test_adding_twice_or_over_a_rejection_is_refused_in_one_line(
    ledger_db: Engine, settings: Settings, story: dict[str, int]
) -> None:
    add_claim(ledger_db, settings, words(), "ana", channels=CHANNELS)
    with pytest.raises(AlreadyCorrected, match="already added"):
        add_claim(ledger_db, settings, words(stance="proposes"), "bob", channels=CHANNELS)

    reject_claim(ledger_db, settings, story["60"], "misread", "ana", CHANNELS)
    with Session(ledger_db) as session:
        sixty = session.get(Claim, story["60"])
        assert sixty is not None
        url = session.scalar(select(Article.url).where(Article.id == sixty.article_id))
    with pytest.raises(AlreadyCorrected, match=f"claims restore {story['60']}"):
        add_claim(ledger_db, settings, words("60", "proposes", url=url), "bob", channels=CHANNELS)
    with Session(ledger_db) as session:
        assert session.scalar(select(func.count()).select_from(ClaimCorrection)) == 2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"negotiation": "yemen"}, "unknown negotiation 'yemen'; known: gaza, ukraine"),
        ({"actor": "atlantis"}, "unknown actor 'atlantis'"),
        ({"issue": "sanctions_relief"}, "gaza has no issue 'sanctions_relief'"),
        ({"value": "sixty"}, "ceasefire_duration takes a number of days"),
        ({"stance": "maybe"}, "unknown stance 'maybe'"),
        ({"url": "ftp://example.org/x"}, "only http and https"),
        ({"evidence": "  \n "}, "needs its evidence"),
        ({"published_at": datetime(2025, 1, 12)}, "needs a time zone"),
        ({"published_at": datetime(2999, 1, 1, tzinfo=UTC)}, "is in the future"),
    ],
)
def test_a_malformed_claim_changes_nothing(
    ledger_db: Engine, settings: Settings, changes: dict[str, object], message: str
) -> None:
    with pytest.raises(BadClaim, match=message) as caught:
        add_claim(ledger_db, settings, words(**changes), "ana", channels=CHANNELS)
    assert "\n" not in str(caught.value)
    with Session(ledger_db) as session:
        assert session.scalar(select(func.count()).select_from(Claim)) == 0
        assert session.scalar(select(func.count()).select_from(Article)) == 0
        assert session.scalar(select(func.count()).select_from(ClaimCorrection)) == 0


def test_rejecting_an_added_claim_withdraws_it_and_its_event_and_restore_brings_it_back(
    ledger_db: Engine, settings: Settings, story: dict[str, int]
) -> None:
    summary = add_claim(ledger_db, settings, words(), "ana", channels=CHANNELS)
    before = alerts(ledger_db)

    withdrawn = reject_claim(ledger_db, settings, summary.claim_id, "the cabinet denied it", "bob", CHANNELS)

    assert (len(withdrawn.withdrawn), withdrawn.created) == (1, 0)
    assert [v for v, *_ in history(ledger_db, "israel", "ceasefire_duration")] == ["42", "60"]
    retractions = alerts(ledger_db)[len(before) :]
    assert [(kind, subject) for _, kind, _, subject in retractions] == [
        (
            "correction",
            "retracted: Gaza captives and truce talks: Israel — ceasefire_duration 4 days, rejected by an"
            " analyst: the cabinet denied it",
        )
    ] * len(CHANNELS)
    [(_, _, counts)] = added_claims(ledger_db)
    assert counts is False

    restore_claim(ledger_db, settings, summary.claim_id, "ana", channels=CHANNELS)
    assert [v for v, *_ in history(ledger_db, "israel", "ceasefire_duration")] == ["42", "60", "4"]
