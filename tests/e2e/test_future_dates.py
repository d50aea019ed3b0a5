"""Issue 16, item 2: a feed item dated in the future must not freeze an actor's position.

One loopback feed offers a 5-day ceasefire (dated 2023-11-20), then a 7-day one dated 2099-12-31,
then, a poll later, a 10-day one dated at that poll. Through ingest → extract → diff → alerts
(``etl.stages.run_once``) the 2099 item is placed at the time it was fetched, so the history is
5 → 7 → 10 with an event and an alert for each change; believing 2099 made the 7-day offer current
until then and the 10-day one a "late article" with no event and no alert.
"""

from __future__ import annotations

import email.utils
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl import stages
from etl.catalog import add_feeds
from etl.seeds import FeedSeed
from etl.settings import Settings
from models import Article, Position, PositionChange
from tests.receivers import serve_body

Item = tuple[str, datetime, str]  # guid, pubDate, title


def feed_of(items: list[Item]) -> bytes:
    """An RSS feed of ``items``."""
    entries = "".join(
        f'<item><guid isPermaLink="false">{guid}</guid><title>{escape(title)}</title>'
        f"<link>http://news.example/{guid}</link>"
        f"<description>{escape(title)}, officials said.</description>"
        f"<pubDate>{email.utils.format_datetime(when)}</pubDate></item>"
        for guid, when, title in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>{entries}</channel></rss>'
    ).encode()


def test_an_item_dated_2099_is_placed_at_its_fetch_and_later_offers_still_alert(
    clean_db: Engine, settings: Settings, tmp_path: Path
) -> None:
    alerts_file = tmp_path / "alerts.jsonl"
    run = settings.with_changes(alert_urls=[f"jsonl://{alerts_file}"], fetch_articles=False)
    items: list[Item] = [
        ("offer-5", datetime(2023, 11, 20, 9, tzinfo=UTC), "Israel proposes a 5-day ceasefire in Gaza"),
        ("offer-7", datetime(2099, 12, 31, 9, tzinfo=UTC), "Israel proposes a 7-day ceasefire in Gaza"),
    ]
    with serve_body(lambda: feed_of(items)) as url:
        add_feeds(clean_db, [FeedSeed(url=url)])
        first_started = datetime.now(UTC)
        stages.run_once(clean_db, run, poll_all=True)
        first_ended = datetime.now(UTC)
        time.sleep(1.1)  # the next offer's date (whole seconds) falls after the first fetch
        items.append(("offer-10", datetime.now(UTC), "Israel proposes a 10-day ceasefire in Gaza"))
        stages.run_once(clean_db, run, poll_all=True)

    with Session(clean_db) as session:
        articles = {a.guid: a for a in session.scalars(select(Article))}
        history = session.execute(
            select(Position.value, Position.valid_from, Position.valid_to)
            .where(
                Position.negotiation == "gaza",
                Position.actor == "israel",
                Position.issue == "ceasefire_duration",
            )
            .order_by(Position.valid_from)
        ).all()
        events = session.execute(
            select(PositionChange.kind, PositionChange.old_value, PositionChange.new_value)
            .where(
                PositionChange.negotiation == "gaza",
                PositionChange.actor == "israel",
                PositionChange.issue == "ceasefire_duration",
            )
            .order_by(PositionChange.published_at)
        ).all()

    # the feed's date is kept; the believed one is the fetch time when the date lies in the future
    future = articles["offer-7"]
    assert future.claimed_published_at == datetime(2099, 12, 31, 9, tzinfo=UTC)
    assert future.published_at is not None
    assert first_started <= future.published_at <= min(first_ended, future.fetched_at)
    for guid in ("offer-5", "offer-10"):
        assert articles[guid].published_at == articles[guid].claimed_published_at is not None

    assert [value for value, _, _ in history] == ["5", "7", "10"]
    assert history[-1].valid_to is None  # the 10-day offer is current
    assert [tuple(e) for e in events] == [("new", None, "5"), ("change", "5", "7"), ("change", "7", "10")]
    delivered = [json.loads(line) for line in alerts_file.read_text(encoding="utf-8").splitlines()]
    assert len(delivered) == len(events)
    assert any("10" in json.dumps(alert) and "7" in json.dumps(alert) for alert in delivered)
