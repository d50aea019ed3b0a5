"""Feed health alerts: one alert per failure streak or silence, never one per run."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl.alerts.health import check_feed_health
from etl.catalog import add_feeds
from etl.ingest.poll import ingest
from etl.seeds import FeedSeed
from etl.settings import Settings
from models import Alert, Feed, FeedFetch

FEED = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Flaky Wire</title>'
    b"<item><title>t</title><guid>g1</guid><description>d</description></item></channel></rss>"
)


class Flaky:
    """A feed on loopback that answers 503 until told to recover."""

    def __init__(self) -> None:
        self.healthy = False
        flaky = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                body = FEED if flaky.healthy else b"down"
                self.send_response(200 if flaky.healthy else 503)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/feed.xml"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def flaky() -> Iterator[Flaky]:
    feed = Flaky()
    yield feed
    feed.server.shutdown()
    feed.server.server_close()


def health_alerts(engine: Engine) -> list[Alert]:
    with Session(engine) as session:
        return list(session.scalars(select(Alert).where(Alert.kind == "feed_health").order_by(Alert.id)))


def test_a_failing_feed_raises_one_alert_per_streak(
    clean_db: Engine, settings: Settings, flaky: Flaky
) -> None:
    quick = settings.with_changes(fetch_articles=False)
    add_feeds(clean_db, [FeedSeed(url=flaky.url)])
    for poll in range(1, 6):
        ingest(clean_db, quick, poll_all=True)
        summary = check_feed_health(clean_db, quick, ["console://"])
        assert len(health_alerts(clean_db)) == (1 if poll >= quick.feed_failure_alert_after else 0)
    alert = health_alerts(clean_db)[0]
    assert summary.failing == 1 and summary.alerts == 0  # still failing, already alerted
    assert alert.subject.startswith("Feed failing: ") and "5 polls in a row" not in alert.subject
    assert "HTTP 503" in alert.body and "\n" not in alert.subject

    flaky.healthy = True
    ingest(clean_db, quick, poll_all=True)
    assert check_feed_health(clean_db, quick, ["console://"]).failing == 0

    flaky.healthy = False
    for _ in range(3):
        ingest(clean_db, quick, poll_all=True)
        check_feed_health(clean_db, quick, ["console://"])
    keys = [a.alert_key for a in health_alerts(clean_db)]
    assert len(keys) == 2 and keys[0] != keys[1]  # a new streak is a new alert


def test_a_feed_silent_far_longer_than_usual_raises_one_alert(clean_db: Engine, settings: Settings) -> None:
    add_feeds(clean_db, [FeedSeed(url="http://wire.example/rss", title="Quiet Wire")])
    now = datetime.now(UTC)
    with Session(clean_db) as session, session.begin():
        feed_id = session.scalar(select(Feed.id))
        # news every hour for a day, then nothing for two days while polls still succeed
        polls = [now - timedelta(days=2, hours=h) for h in range(24)]
        session.execute(
            insert(FeedFetch),
            [{"feed_id": feed_id, "started_at": t, "duration_ms": 5, "status": "ok", "new_items": 3}
             for t in polls]
            + [{"feed_id": feed_id, "started_at": now - timedelta(hours=h), "duration_ms": 5,
                "status": "not_modified", "new_items": 0} for h in range(47)],
        )  # fmt: skip

    first = check_feed_health(clean_db, settings, ["console://", "jsonl:///tmp/h.jsonl"])
    again = check_feed_health(clean_db, settings, ["console://", "jsonl:///tmp/h.jsonl"])

    assert (first.silent, first.alerts, again.silent, again.alerts) == (1, 2, 1, 0)
    alert = health_alerts(clean_db)[0]
    assert alert.subject.startswith("Feed silent: Quiet Wire — no new items for 2.0 days")
    assert "usually does every 1.0 hours" in alert.body


def test_a_young_or_lively_feed_is_not_silent(clean_db: Engine, settings: Settings) -> None:
    add_feeds(clean_db, [FeedSeed(url="http://young.example/rss"), FeedSeed(url="http://busy.example/rss")])
    now = datetime.now(UTC)
    with Session(clean_db) as session, session.begin():
        young, busy = session.scalars(select(Feed.id).order_by(Feed.id)).all()
        rows = [{"feed_id": young, "started_at": now - timedelta(days=3, hours=h), "duration_ms": 5,
                 "status": "ok", "new_items": 1} for h in range(3)]  # fmt: skip
        rows += [{"feed_id": busy, "started_at": now - timedelta(hours=h), "duration_ms": 5,
                  "status": "ok", "new_items": 1} for h in range(1, 20)]  # fmt: skip
        session.execute(insert(FeedFetch), rows)
    summary = check_feed_health(clean_db, settings, ["console://"])
    assert (summary.silent, summary.failing, summary.alerts) == (0, 0, 0)


def test_feed_health_alerts_follow_the_routing_rules(
    clean_db: Engine, settings: Settings, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "routes:\n  - channel: 'console://'\n    kinds: [change]\n", encoding="utf-8"
    )  # the console takes position changes only; the file channel takes everything
    routed = settings.with_changes(
        alert_rules=rules, alert_urls=["console://", f"jsonl://{tmp_path}/a.jsonl"]
    )
    add_feeds(clean_db, [FeedSeed(url="http://down.example/rss")])
    with clean_db.begin() as conn:
        conn.execute(update(Feed).values(consecutive_failures=4, last_error="HTTP 503"))

    summary = check_feed_health(clean_db, routed, ["console://", f"jsonl://{tmp_path}/a.jsonl"])

    assert (summary.failing, summary.alerts) == (1, 1)
    assert [a.channel for a in health_alerts(clean_db)] == [f"jsonl://{tmp_path}/a.jsonl"]
