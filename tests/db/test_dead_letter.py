"""Alerts that give up honestly: a refusal gives one alert up and lets the others through, a receiver's
Retry-After is honoured, attempts and age are bounded, a given-up alert can be put back, and a channel
that has delivered nothing for a while is reported on the other channels, once per episode."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl import stages
from etl.alerts.channels import channels_from_settings
from etl.alerts.outbox import deliver_pending, retry_failed
from etl.settings import Settings
from models import Alert
from tests.alert_receivers import Answer, ScriptedReceiver, scripted_receiver

SECRET = "dead-letter-webhook-key"


@pytest.fixture
def receiver() -> Iterator[ScriptedReceiver]:
    with scripted_receiver() as server:
        yield server


@pytest.fixture
def hook(settings: Settings, receiver: ScriptedReceiver) -> Settings:
    return settings.with_changes(
        alert_urls=[receiver.url], webhook_secret=SECRET, alert_retry_base_seconds=0.0, alert_timeout=2.0
    )


def queue(
    engine: Engine, channel: str, n: int, *, age: timedelta = timedelta(0), kind: str = "position_change"
) -> None:
    created = datetime.now(UTC) - age
    rows = [
        {
            "alert_key": f"parley-change-{i}",
            "kind": kind,
            "channel": channel,
            "subject": f"Actor {i} — issue: old → new (proposes)",
            "body": f"Actor {i} — issue: old → new (proposes), per Outlet, 2025-01-01: 'x'",
            "payload": {"change_id": i},
            "created_at": created,
            "next_attempt_at": created,
        }
        for i in range(n)
    ]
    with engine.begin() as conn:
        conn.execute(insert(Alert), rows)


def alerts(engine: Engine) -> dict[str, Alert]:
    with Session(engine) as session:
        return {alert.alert_key: alert for alert in session.scalars(select(Alert).order_by(Alert.id))}


def test_a_refused_alert_is_given_up_and_the_others_on_its_channel_are_delivered(
    clean_db: Engine, hook: Settings, receiver: ScriptedReceiver
) -> None:
    receiver.answers["parley-change-0"] = Answer(400, b'{"error": "bad payload", "token=abc123": 1}')
    channels = channels_from_settings(hook)
    queue(clean_db, channels[0].name, 3)

    first = deliver_pending(clean_db, hook, channels)
    second = deliver_pending(clean_db, hook, channels)

    assert (first.sent, first.failed, first.given_up, first.channels_down) == (2, 0, 1, [])
    assert (second.sent, second.failed, second.given_up) == (0, 0, 0)
    assert receiver.ids == ["parley-change-0", "parley-change-1", "parley-change-2"]  # the refused one once
    rows = alerts(clean_db)
    refused = rows["parley-change-0"]
    assert (refused.status, refused.attempts) == ("failed", 1)
    assert refused.failed_at is not None
    assert refused.last_error is not None and refused.last_error.startswith(
        "refused: webhook answered HTTP 400"
    )
    assert "abc123" not in refused.last_error
    assert [rows[f"parley-change-{i}"].status for i in (1, 2)] == ["sent", "sent"]


def test_a_429_with_retry_after_waits_that_long_for_every_alert_of_its_channel(
    clean_db: Engine, hook: Settings, receiver: ScriptedReceiver
) -> None:
    receiver.default = Answer(429, b"slow down", {"Retry-After": "3600"})
    channels = channels_from_settings(hook)
    queue(clean_db, channels[0].name, 3)

    summary = deliver_pending(clean_db, hook, channels)

    assert (summary.sent, summary.failed, summary.channels_down) == (0, 1, [channels[0].name])
    assert receiver.ids == ["parley-change-0"]
    now = datetime.now(UTC)
    for alert in alerts(clean_db).values():
        assert alert.status == "pending"
        wait = (alert.next_attempt_at - now).total_seconds()
        assert 3500 < wait <= 3600, (alert.alert_key, wait)  # not the backoff (0 s here) nor its cap
    assert [a.attempts for a in alerts(clean_db).values()] == [1, 0, 0]


def test_an_alert_is_given_up_after_the_maximum_number_of_attempts(
    clean_db: Engine, hook: Settings, receiver: ScriptedReceiver
) -> None:
    receiver.default = Answer(503, b"maintenance")
    limited = hook.with_changes(alert_max_attempts=2)
    channels = channels_from_settings(limited)
    queue(clean_db, channels[0].name, 1)

    first = deliver_pending(clean_db, limited, channels)
    second = deliver_pending(clean_db, limited, channels)
    third = deliver_pending(clean_db, limited, channels)

    assert [(s.failed, s.given_up) for s in (first, second, third)] == [(1, 0), (0, 1), (0, 0)]
    alert = alerts(clean_db)["parley-change-0"]
    assert (alert.status, alert.attempts) == ("failed", 2)
    assert alert.last_error == "given up after 2 attempts: webhook answered HTTP 503: maintenance"
    assert len(receiver.ids) == 2


def test_alerts_older_than_the_maximum_age_are_given_up_without_another_send(
    clean_db: Engine, hook: Settings, receiver: ScriptedReceiver
) -> None:
    channels = channels_from_settings(hook)
    queue(clean_db, channels[0].name, 2, age=timedelta(hours=73))
    with clean_db.begin() as conn:
        conn.execute(text("UPDATE alerts SET attempts = 5, last_error = 'webhook timed out' WHERE id = 1"))

    summary = deliver_pending(clean_db, hook, channels)

    assert (summary.sent, summary.given_up) == (0, 2)
    assert receiver.ids == []
    rows = alerts(clean_db)
    assert [row.status for row in rows.values()] == ["failed", "failed"]
    assert rows["parley-change-0"].last_error == "not delivered within 72 h; last error: webhook timed out"
    assert rows["parley-change-1"].last_error == "not delivered within 72 h"


def test_a_channel_refusing_alert_after_alert_is_set_aside_for_the_run(
    clean_db: Engine, hook: Settings, receiver: ScriptedReceiver
) -> None:
    receiver.default = Answer(401, b"bad signature")
    channels = channels_from_settings(hook)
    queue(clean_db, channels[0].name, 5)

    summary = deliver_pending(clean_db, hook, channels)

    assert (summary.given_up, summary.channels_refusing) == (3, [channels[0].name])
    assert [(a.status, a.attempts) for a in alerts(clean_db).values()] == [("failed", 1)] * 3 + [
        ("pending", 0)
    ] * 2


def test_retry_puts_given_up_alerts_back_with_a_fresh_age_and_they_are_delivered(
    clean_db: Engine, hook: Settings, receiver: ScriptedReceiver
) -> None:
    receiver.default = Answer(400, b"no")
    channels = channels_from_settings(hook)
    queue(clean_db, channels[0].name, 2, age=timedelta(hours=100))
    with clean_db.begin() as conn:  # queued 100 hours ago: older than the maximum age
        conn.execute(text("UPDATE alerts SET status = 'failed', failed_at = now(), attempts = 1"))

    assert retry_failed(clean_db, alert_key="parley-change-1") == 1
    assert retry_failed(clean_db, alert_key="parley-change-1") == 0  # pending now, not failed
    assert retry_failed(clean_db, channel="webhook+http://127.0.0.1:1/elsewhere") == 0
    receiver.default = Answer(204)
    summary = deliver_pending(clean_db, hook, channels)

    assert (summary.sent, summary.given_up) == (1, 0)
    assert receiver.ids == ["parley-change-1"]
    assert retry_failed(clean_db, channel=receiver.url) == 1  # by URL, as PARLEY_ALERT_URLS says it
    assert deliver_pending(clean_db, hook, channels).sent == 1
    rows = alerts(clean_db)
    assert [(r.status, r.attempts, r.failed_at) for r in rows.values()] == [("sent", 0, None)] * 2
    assert all(r.retried_at is not None for r in rows.values())


def test_a_refused_digest_gives_up_its_alerts_and_the_next_period_is_still_sent(
    clean_db: Engine, hook: Settings, receiver: ScriptedReceiver, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(f'digest: {{channels: ["{receiver.url}"], period_minutes: 30}}\n', encoding="utf-8")
    digesting = hook.with_changes(alert_rules=rules)
    channels = channels_from_settings(digesting)
    queue(clean_db, channels[0].name, 2, age=timedelta(minutes=100))
    with clean_db.begin() as conn:  # the second alert in a later period than the first
        conn.execute(text("UPDATE alerts SET created_at = created_at + interval '40 minutes' WHERE id = 2"))
    receiver.default = Answer(413, b"too large")

    summary = deliver_pending(clean_db, digesting, channels, flush_digests=True)

    # both periods were tried: the refusal of the first did not stop the second
    assert len(receiver.documents) == 2
    assert summary.given_up == 2
    assert [a.status for a in alerts(clean_db).values()] == ["failed", "failed"]


def test_a_channel_delivering_nothing_for_a_while_is_reported_once_on_the_other_channels(
    clean_db: Engine, hook: Settings, receiver: ScriptedReceiver, tmp_path: Path
) -> None:
    journal = tmp_path / "alerts.jsonl"
    two = hook.with_changes(alert_urls=[receiver.url, f"jsonl://{journal}"], alert_channel_failing_hours=3.0)
    webhook_name = channels_from_settings(two)[0].name
    receiver.default = Answer(502, b"bad gateway")
    queue(clean_db, webhook_name, 1, age=timedelta(hours=4))

    stages.deliver_alerts(clean_db, two)  # the first failed attempt
    stages.deliver_alerts(clean_db, two)  # failing for four hours now: reported on the jsonl channel
    stages.deliver_alerts(clean_db, two)  # the same episode: not again

    lines = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 1
    (report,) = lines
    assert report["alert_id"].startswith("parley-channel-") and report["alert_id"].endswith("-failing-never")
    assert report["subject"] == f"Alert channel failing: {webhook_name} — nothing delivered ever"
    assert report["payload"]["channel"] == webhook_name
    assert report["payload"]["last_error"] == "webhook answered HTTP 502: bad gateway"
    with Session(clean_db) as session:
        health = session.scalars(select(Alert).where(Alert.kind == "channel_health")).all()
        assert [a.channel for a in health] == [f"jsonl://{journal}"]  # never on the failing channel


def test_a_channel_that_delivers_is_not_reported_as_failing(
    clean_db: Engine, hook: Settings, receiver: ScriptedReceiver, tmp_path: Path
) -> None:
    journal = tmp_path / "alerts.jsonl"
    two = hook.with_changes(alert_urls=[receiver.url, f"jsonl://{journal}"])
    webhook_name = channels_from_settings(two)[0].name
    receiver.answers["parley-change-0"] = Answer(400, b"refused")  # one refusal, the rest go through
    queue(clean_db, webhook_name, 3, age=timedelta(hours=4))

    for _ in range(3):
        stages.deliver_alerts(clean_db, two)

    assert not journal.exists()
