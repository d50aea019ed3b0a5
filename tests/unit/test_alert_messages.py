"""etl.alerts.messages without a database: the feed health and digest texts, byte for byte."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from etl.alerts.messages import (
    change_payload,
    channel_failing_alert,
    describe_change,
    digest_message,
    feed_failing_alert,
    feed_silent_alert,
)
from models import Alert, Feed, PositionChange

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def test_a_failing_feed_alert_names_the_streak_the_last_success_and_the_error() -> None:
    feed = Feed(
        url="http://wire.example/rss",
        title="The Wire",
        consecutive_failures=4,
        last_success_at=datetime(2026, 12, 1, 8, 30, 15, tzinfo=UTC),
        last_error="HTTP 503 Service Unavailable",
    )
    subject, body, payload = feed_failing_alert(feed)
    assert subject == "Feed failing: The Wire — 4 polls in a row"
    assert body == (
        "http://wire.example/rss has failed 4 polls in a row (last success: 2026-12-01 08:30 UTC);"
        " last error: HTTP 503 Service Unavailable"
    )
    assert payload == {
        "feed": "http://wire.example/rss",
        "problem": "failing",
        "consecutive_failures": 4,
        "last_error": "HTTP 503 Service Unavailable",
        "last_success_at": "2026-12-01T08:30:15+00:00",
    }


def test_a_feed_that_never_succeeded_is_named_by_its_url() -> None:
    feed = Feed(url="http://new.example/rss", title=None, consecutive_failures=3, last_error="timed out")
    subject, body, payload = feed_failing_alert(feed)
    assert subject == "Feed failing: http://new.example/rss — 3 polls in a row"
    assert "(last success: never); last error: timed out" in body
    assert payload["last_success_at"] is None


@pytest.mark.parametrize(
    ("quiet", "usual", "said_quiet", "said_usual"),
    [
        (timedelta(hours=47, minutes=54), timedelta(minutes=90), "47.9 hours", "1.5 hours"),
        (timedelta(days=2), timedelta(hours=1), "2.0 days", "1.0 hours"),
        (timedelta(days=9, hours=6), timedelta(days=3), "9.2 days", "3.0 days"),
    ],
)
def test_a_silent_feed_alert_gives_hours_below_two_days_and_days_from_two(
    quiet: timedelta, usual: timedelta, said_quiet: str, said_usual: str
) -> None:
    feed = Feed(url="http://quiet.example/rss", title="Quiet Wire")
    last_news = NOW - quiet
    subject, body, payload = feed_silent_alert(feed, last_news, usual, NOW)
    assert subject == f"Feed silent: Quiet Wire — no new items for {said_quiet}"
    assert body == (
        f"http://quiet.example/rss has brought no new items since {last_news:%Y-%m-%d %H:%M} UTC;"
        f" it usually does every {said_usual}. Its polls still succeed: the feed may have moved or stalled."
    )
    assert payload == {
        "feed": "http://quiet.example/rss",
        "problem": "silent",
        "last_new_items_at": last_news.isoformat(),
        "usual_interval_seconds": int(usual.total_seconds()),
    }


def alert(row_id: int, kind: str, minutes: int, body: str) -> Alert:
    return Alert(
        id=row_id,
        alert_key=f"parley-{row_id}",
        kind=kind,
        created_at=datetime(2026, 11, 30, 22, 50, tzinfo=UTC) + timedelta(minutes=minutes),
        channel="console://",
        subject="unused",
        body=body,
        payload={"n": row_id},
    )


@pytest.mark.parametrize(
    ("alerts", "alert_id", "subject", "body"),
    [
        (
            [alert(7, "position_change", 0, "one\n"), alert(9, "feed_health", 5, "two")],
            "parley-digest-7-9-8944bbc1",
            "parley digest: 1 position change, 1 feed health alert (2026-11-30 22:50–22:55 UTC)",
            "one\n\ntwo",
        ),
        (
            [
                alert(3, "position_change", 0, "x"),
                alert(4, "position_change", 80, "y"),
                alert(5, "other", 90, "z"),
            ],
            "parley-digest-3-5-a752d8ff",
            "parley digest: 2 position changes, 1 other alert (2026-11-30 22:50–2026-12-01 00:20 UTC)",
            "x\n\ny\n\nz",
        ),
        (
            [
                alert(21, "position_change", 0, "a"),
                alert(22, "correction", 1, "b"),
                alert(23, "correction", 2, "c"),
            ],
            "parley-digest-21-23-" + hashlib.sha256(b"21,22,23").hexdigest()[:8],
            "parley digest: 1 position change, 2 retractions (2026-11-30 22:50–22:52 UTC)",
            "a\n\nb\n\nc",
        ),
        (
            [alert(11, "feed_health", 0, "only")],
            "parley-digest-11-11-4fc82b26",
            "parley digest: 1 feed health alert (2026-11-30 22:50–22:50 UTC)",
            "only",
        ),
    ],
)
def test_a_digest_counts_its_alerts_by_kind_and_is_named_by_its_rows(
    alerts: list[Alert], alert_id: str, subject: str, body: str
) -> None:
    message = digest_message(alerts)
    assert (message.alert_id, message.subject, message.body) == (alert_id, subject, body)
    assert message.payload == {
        "alerts": [{"n": a.id} for a in alerts],
        "alert_ids": [a.alert_key for a in alerts],
    }
    assert digest_message(list(reversed(alerts))).alert_id == alert_id  # the rows, not their order


# --- what leaves parley -----------------------------------------------------------------------------


GAZA = "Gaza captives and truce talks"


def a_change(new_url: str | None, old_url: str | None) -> PositionChange:
    return PositionChange(
        id=7, kind="change", negotiation="gaza", actor="israel", issue="ceasefire_duration", old_value="5",
        old_stance="proposes", new_value="7", new_stance="proposes", old_evidence="a five-day pause",
        old_url=old_url, new_evidence="a seven-day pause", new_url=new_url, outlet="Wire",
        published_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC), confirmed_at=None,
    )  # fmt: skip


@pytest.mark.parametrize(
    "hostile", ["javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,x", "ftp://x/y"]
)
def test_a_change_alert_carries_only_http_links_in_body_and_payload(hostile: str) -> None:
    change = a_change(new_url=hostile, old_url="https://wire.example/before")
    _subject, body = describe_change(change, "days", GAZA)
    payload = change_payload(change, GAZA)
    assert hostile not in body and hostile not in str(payload)
    assert payload["new"]["url"] is None and payload["old"]["url"] == "https://wire.example/before"
    assert body.endswith("before: 'a five-day pause' https://wire.example/before")

    _subject, both = describe_change(
        a_change(new_url="https://wire.example/now", old_url=hostile), "days", GAZA
    )
    assert "\nhttps://wire.example/now\n" in both and both.endswith("before: 'a five-day pause'")
    assert change_payload(a_change(None, hostile), GAZA)["old"]["url"] is None


@pytest.mark.parametrize(
    ("change", "value_type", "label", "subject", "sentence"),
    [
        (
            PositionChange(
                id=12, kind="new", negotiation="ukraine", actor="united_states", issue="ceasefire_duration",
                old_value=None, old_stance=None, new_value="30", new_stance="proposes", old_evidence=None,
                old_url=None, new_evidence="Trump proposes a 30-day ceasefire", new_url=None, outlet="Wire",
                published_at=datetime(2025, 3, 11, 9, 0, tzinfo=UTC), confirmed_at=None,
            ),
            "days",
            "Russia–Ukraine talks",
            "Russia–Ukraine talks: United States — ceasefire_duration: 30 days (proposes) [new position]",
            "Trump proposes a 30-day ceasefire",
        ),
        (
            PositionChange(
                id=13, kind="change", negotiation="ukraine", actor="russia", issue="energy_truce",
                old_value="yes", old_stance="proposes", new_value="30", new_stance="accepts",
                old_evidence="a moratorium on energy strikes", old_url=None,
                new_evidence="a 30-day halt to energy strikes", new_url=None, outlet="Wire",
                published_at=datetime(2025, 3, 18, 9, 0, tzinfo=UTC), confirmed_at=None,
            ),
            "days_or_flag",
            "Russia–Ukraine talks",
            "Russia–Ukraine talks: Russia — energy_truce: yes → 30 days (proposes → accepts)",
            "a 30-day halt to energy strikes",
        ),
    ],
)  # fmt: skip
def test_a_change_alert_names_its_negotiation_in_subject_body_and_payload(
    change: PositionChange, value_type: str, label: str, subject: str, sentence: str
) -> None:
    said_subject, body = describe_change(change, value_type, label)
    payload = change_payload(change, label)
    assert said_subject == subject
    assert body.startswith(f"{subject}, per Wire, {change.published_at:%Y-%m-%d}: '{sentence}'")
    assert (payload["negotiation"], payload["negotiation_label"]) == ("ukraine", label)
    assert (payload["actor"], payload["issue"], payload["new"]["value"]) == (
        change.actor, change.issue, change.new_value,
    )  # fmt: skip


def test_feed_health_alerts_show_a_feed_url_without_its_password() -> None:
    feed = Feed(
        url="http://reader:pw-s3cret@wire.example/rss", title=None, consecutive_failures=3,
        last_error="HTTP 401 for http://reader:pw-s3cret@wire.example/rss?token=abc123",
    )  # fmt: skip
    failing = feed_failing_alert(feed)
    silent = feed_silent_alert(feed, NOW - timedelta(days=3), timedelta(hours=2), NOW)
    for text in (failing, silent):
        assert "pw-s3cret" not in str(text) and "abc123" not in str(text)
        assert text.payload["feed"] == "http://reader:****@wire.example/rss"
    assert failing.subject == "Feed failing: http://reader:****@wire.example/rss — 3 polls in a row"


def test_a_failing_channel_alert_names_the_channel_its_quiet_and_last_error() -> None:
    subject, body, payload = channel_failing_alert(
        "webhook+https://hooks.example/services/T000/B000/****",
        NOW - timedelta(hours=5),
        4,
        "webhook answered HTTP 503: token=abc123",
        NOW,
    )
    assert subject == (
        "Alert channel failing: webhook+https://hooks.example/services/T000/B000/**** — nothing delivered"
        " for 5.0 hours"
    )
    assert body.startswith(
        "webhook+https://hooks.example/services/T000/B000/**** has delivered no alert since"
        " 2026-12-03 07:00 UTC; 4 of its alerts were tried and not delivered;"
        " last error: webhook answered HTTP 503: token=****."
    )
    assert payload == {
        "channel": "webhook+https://hooks.example/services/T000/B000/****",
        "problem": "failing",
        "last_delivery_at": "2026-12-03T07:00:00+00:00",
        "undelivered": 4,
        "last_error": "webhook answered HTTP 503: token=****",
    }
