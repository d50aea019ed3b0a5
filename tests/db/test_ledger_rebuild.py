"""A new extractor version: the ledger waits until that version has read every article, then is
rebuilt from its claims alone, silently; the alerts of the old ledger stay in the outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl.ledger.store import apply_claims
from etl.settings import Settings
from models import Alert, Article, ArticleExtraction, Claim, Position, PositionChange
from tests.conftest import run_parley
from tests.db.conftest import VERSION, day, state
from tests.db.test_ledger import count_rows, history

NEXT = "test-2"
CHANNELS = ["console://"]


def restate(engine: Engine, claim_id: int, version: str, value: str | None = None) -> None:
    """What ``version`` reads in the article of ``claim_id``: the same claim (or another value)."""
    with Session(engine) as session, session.begin():
        old = session.get_one(Claim, claim_id)
        session.execute(
            insert(Claim).values(
                article_id=old.article_id, negotiation=old.negotiation, actor=old.actor, issue=old.issue,
                value=value or old.value, stance=old.stance, evidence=old.evidence, start_offset=0,
                end_offset=10, confidence=0.9, extractor_version=version,
            )
        )  # fmt: skip


def mark_read(engine: Engine, version: str) -> None:
    """``version`` has read every stored article."""
    with Session(engine) as session, session.begin():
        ids = session.scalars(select(Article.id)).all()
        session.execute(
            insert(ArticleExtraction), [{"article_id": i, "extractor_version": version} for i in ids]
        )


def values(engine: Engine) -> list[tuple[str, str, str, str, datetime, datetime | None]]:
    with Session(engine) as session:
        rows = session.scalars(
            select(Position).order_by(
                Position.negotiation, Position.actor, Position.issue, Position.valid_from
            )
        )
        return [(p.negotiation, p.actor, p.issue, p.value, p.valid_from, p.valid_to) for p in rows]


def test_a_new_version_waits_for_its_reading_then_rebuilds_without_alerts(
    ledger_db: Engine, settings: Settings
) -> None:
    first = state(ledger_db, "israel", "ceasefire_duration", "4", "accepts", day(1))
    second = state(ledger_db, "israel", "ceasefire_duration", "6", "accepts", day(5))
    mark_read(ledger_db, VERSION)
    built = apply_claims(ledger_db, settings, CHANNELS, version=VERSION)
    assert (built.new_positions, built.changes, built.alerts) == (1, 1, 2)

    # the new version reads the first article only so far, and reads 5 days there, not 4
    restate(ledger_db, first, NEXT, value="5")
    waiting = apply_claims(ledger_db, settings, CHANNELS, version=NEXT)
    assert waiting.rebuilt is False and waiting.waiting == 2 and waiting.claims == 0
    assert "still to read" in waiting.line()
    assert history(ledger_db, "israel", "ceasefire_duration")[0][0] == "4"  # untouched

    restate(ledger_db, second, NEXT)
    mark_read(ledger_db, NEXT)
    rebuilt = apply_claims(ledger_db, settings, CHANNELS, version=NEXT)

    assert rebuilt.rebuilt is True and "rebuilt" in rebuilt.line()
    assert (rebuilt.claims, rebuilt.new_positions, rebuilt.changes, rebuilt.alerts) == (2, 1, 1, 0)
    assert [(v, start, end) for v, _, start, end in history(ledger_db, "israel", "ceasefire_duration")] == [
        ("5", day(1), day(5)),
        ("6", day(5), None),
    ]
    with Session(ledger_db) as session:  # the old ledger's alerts are kept, their events are gone
        alerts = session.execute(select(Alert.change_id, Alert.status)).all()
        assert len(alerts) == 2 and all(change_id is None for change_id, _ in alerts)
        opened_by = session.scalars(
            select(Claim.extractor_version).join(Position, Position.opened_by_claim_id == Claim.id)
        ).all()
        assert set(opened_by) == {NEXT}
    assert count_rows(ledger_db, PositionChange) == 2

    # from now on the ledger moves as usual, alerts included
    later = state(ledger_db, "israel", "ceasefire_duration", "7", "accepts", day(9))
    restate(ledger_db, later, NEXT)
    moved = apply_claims(ledger_db, settings, CHANNELS, version=NEXT)
    assert moved.rebuilt is False
    assert (moved.claims, moved.changes, moved.alerts) == (1, 1, 1)


def test_rebuild_on_demand_gives_the_same_positions_and_no_alerts(
    ledger_db: Engine, settings: Settings
) -> None:
    state(ledger_db, "hamas", "permanent_ceasefire", "yes", "demands", day(1))
    state(ledger_db, "hamas", "permanent_ceasefire", "yes", "demands", day(2), outlet=2)
    state(ledger_db, "israel", "ceasefire_duration", "4", "accepts", day(3))
    state(ledger_db, "united_states", "ceasefire_duration", "30", "proposes", day(3), negotiation="ukraine")
    state(ledger_db, "united_states", "ceasefire_duration", "60", "proposes", day(4))
    apply_claims(ledger_db, settings, CHANNELS, version=VERSION)
    before, alerts = values(ledger_db), count_rows(ledger_db, Alert)

    again = apply_claims(ledger_db, settings, CHANNELS, version=VERSION, rebuild=True)

    assert again.rebuilt is True and again.claims == 5 and again.alerts == 0
    assert values(ledger_db) == before
    assert [(n, a, v) for n, a, _, v, _, end in before if end is None] == [
        ("gaza", "hamas", "yes"), ("gaza", "israel", "4"), ("gaza", "united_states", "60"),
        ("ukraine", "united_states", "30"),
    ]  # fmt: skip
    assert count_rows(ledger_db, Alert) == alerts
    assert apply_claims(ledger_db, settings, CHANNELS, version=VERSION).claims == 0


def test_diff_rebuild_on_the_command_line(ledger_db: Engine, cli_env: dict[str, str]) -> None:
    from etl.extract.engine import EXTRACTOR_VERSION

    claim = state(ledger_db, "qatar", "ceasefire_duration", "7", "proposes", day(2))
    restate(ledger_db, claim, EXTRACTOR_VERSION)
    first = run_parley("diff", env=cli_env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("1 claims applied: 1 new positions")

    rebuilt = run_parley("diff", "--rebuild", env=cli_env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert " ".join(rebuilt.stdout.split()).startswith("ledger rebuilt, without alerts: 1 claims applied")
    assert count_rows(ledger_db, Position) == 1
