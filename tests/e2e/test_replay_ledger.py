"""Two weeks of real news (18 Nov – 2 Dec 2023, the first truce) replayed in 12-hour steps through
the whole pipeline, article pages fetched: the ledger's history, its change events, and the alerts
they produce.

The replay is the session's (``truce_news`` in tests/e2e/conftest.py: built once, the example queries
read it too); this test reads a copy of its database and runs the pipeline once more on the copy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from models import Alert, Article, Claim, Negotiation, Position, PositionChange
from tests.conftest import cli_env_for, run_parley
from tests.e2e.conftest import TRUCE_END, TruceNews


def counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {
            model.__tablename__: int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Article, Claim, Position, PositionChange, Alert)
        }


@pytest.fixture
def replayed(truce_news: TruceNews) -> Iterator[Engine]:
    """A copy of the replayed truce's database, for this test alone."""
    with truce_news.copy() as url:
        engine = create_engine(url)
        yield engine
        engine.dispose()


@pytest.mark.slow
def test_two_weeks_of_news_build_the_truce_history_and_alert_once_per_change(
    replayed: Engine, truce_news: TruceNews
) -> None:
    alerts_file = truce_news.alerts_file

    with Session(replayed) as session:
        accepted_four = {
            actor: valid_from
            for actor, valid_from in session.execute(
                select(Position.actor, func.min(Position.valid_from))
                .where(
                    Position.negotiation == "gaza",
                    Position.issue == "ceasefire_duration",
                    Position.value == "4",
                    Position.stance == "accepts",
                    Position.actor.in_(["israel", "hamas"]),
                )
                .group_by(Position.actor)
            )
        }
        extension = session.execute(
            select(Position.actor, Position.valid_from, Position.value).where(
                Position.negotiation == "gaza",
                Position.issue == "ceasefire_extension",
                Position.stance == "accepts",
            )
        ).all()
        events = session.scalar(select(func.count()).select_from(PositionChange))
        alert_rows = session.scalars(select(Alert)).all()

    # the four-day truce was agreed on 22 November (announced overnight into the 22nd)
    assert set(accepted_four) == {"israel", "hamas"}
    for actor, since in accepted_four.items():
        assert datetime(2023, 11, 21, 12, tzinfo=UTC) <= since <= datetime(2023, 11, 23, tzinfo=UTC), actor
    # and extended later, by both parties
    assert {actor for actor, _, _ in extension} >= {"israel", "hamas"}
    assert all(since > datetime(2023, 11, 24, tzinfo=UTC) for _, since, _ in extension)
    # by two days on 27 November, then by one day more on 29 and 30 November (the seventh day): the
    # corpus holds no item about Gaza dated 30 November (UTC), and the first to report the last
    # extension ("agreed Thursday to extend for a seventh day") is dated 01:22 UTC on 1 December,
    # the evening of the 30th in Washington, before the truce ended (05:00 UTC on 1 December)
    first: dict[tuple[str, str], datetime] = {}
    for actor, since, value in extension:
        first[actor, value] = min(since, first.get((actor, value), since))
    two_days = {actor: since for (actor, value), since in first.items() if value == "2"}
    one_day = {actor: since for (actor, value), since in first.items() if value == "1"}
    assert set(two_days) >= {"israel", "hamas"}
    assert set(one_day) >= {"israel", "hamas"}
    for actor in ("israel", "hamas"):
        assert two_days[actor] < one_day[actor] < datetime(2023, 12, 1, 5, tzinfo=UTC), actor

    # one alert per event on the one channel, every one delivered exactly once
    assert events and len(alert_rows) == events
    assert all(a.status == "sent" for a in alert_rows)
    documents = [json.loads(line) for line in alerts_file.read_text().splitlines()]
    delivered = [document["alert_id"] for document in documents]
    assert len(delivered) == len(set(delivered)) == events
    # each names its change's negotiation, by key and by label
    with Session(replayed) as session:
        of_change = {i: n for i, n in session.execute(select(PositionChange.id, PositionChange.negotiation))}
        labels = {key: label for key, label in session.execute(select(Negotiation.key, Negotiation.label))}
    for document in documents:
        negotiation = of_change[document["payload"]["change_id"]]
        assert document["payload"]["negotiation"] == negotiation
        assert document["subject"].startswith(f"{labels[negotiation]}: "), document["subject"]
    assert "gaza" in {document["payload"]["negotiation"] for document in documents}

    # running the last step again adds no rows and sends nothing (the channel is the replay's: its
    # name is the file's path)
    before = counts(replayed)
    truce_news.replay.set_clock(TRUCE_END.isoformat().replace("+00:00", "Z"))
    env = cli_env_for(replayed.url.render_as_string(hide_password=False), ALERT_URLS=f"jsonl://{alerts_file}")
    again = run_parley("run", "--all", env=env)
    assert again.returncode == 0, again.stderr
    assert "0 new articles" in again.stdout and "0 alerts sent" in again.stdout
    assert counts(replayed) == before
    assert len(alerts_file.read_text().splitlines()) == events
