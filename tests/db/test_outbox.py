"""The alert outbox: at least once, never twice once marked, nothing lost while a channel is down."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl.alerts.channels import channels_from_settings
from etl.alerts.outbox import deliver_pending
from etl.settings import Settings
from models import Alert
from tests.conftest import REPO
from tests.receivers import WebhookReceiver

SECRET = "test-webhook-secret"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.stop()


@pytest.fixture
def hook_settings(settings: Settings, receiver: WebhookReceiver) -> Settings:
    return settings.with_changes(
        alert_urls=[receiver.url], webhook_secret=SECRET, alert_retry_base_seconds=0.0, alert_timeout=2.0
    )


def queue(engine: Engine, channel: str, n: int, start: int = 0) -> None:
    rows = [
        {
            "alert_key": f"parley-change-{i}",
            "kind": "position_change",
            "channel": channel,
            "subject": f"Actor {i} — issue: old → new (proposes)",
            "body": f"Actor {i} — issue: old → new (proposes), per Outlet, 2025-01-0{i % 9 + 1}: 'x'",
            "payload": {"change_id": i},
        }
        for i in range(start, start + n)
    ]
    with engine.begin() as conn:
        conn.execute(insert(Alert), rows)


def pending(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).where(Alert.status == "pending")) or 0)


def test_alerts_wait_while_the_channel_is_down_and_arrive_once_when_it_is_back(
    clean_db: Engine, hook_settings: Settings, receiver: WebhookReceiver
) -> None:
    channels = channels_from_settings(hook_settings)
    queue(clean_db, channels[0].name, 3)

    down_once = deliver_pending(clean_db, hook_settings, channels)
    queue(clean_db, channels[0].name, 2, start=3)
    down_twice = deliver_pending(clean_db, hook_settings, channels)
    assert (down_once.sent, down_once.failed, down_twice.sent) == (0, 1, 0)
    assert pending(clean_db) == 5
    with Session(clean_db) as session:
        tried = session.scalars(select(Alert).where(Alert.attempts > 0)).all()
        assert tried and all(a.last_error and "\n" not in a.last_error for a in tried)

    receiver.start()
    back = deliver_pending(clean_db, hook_settings, channels)
    again = deliver_pending(clean_db, hook_settings, channels)

    assert (back.sent, again.sent) == (5, 0)
    assert sorted(receiver.ids) == sorted(f"parley-change-{i}" for i in range(5))
    assert pending(clean_db) == 0


def test_a_failed_alert_backs_off_before_its_next_attempt(
    clean_db: Engine, hook_settings: Settings, receiver: WebhookReceiver
) -> None:
    slow_retry = hook_settings.with_changes(alert_retry_base_seconds=3600.0)
    channels = channels_from_settings(slow_retry)
    queue(clean_db, channels[0].name, 1)
    deliver_pending(clean_db, slow_retry, channels)
    receiver.start()
    too_early = deliver_pending(clean_db, slow_retry, channels)
    assert too_early.sent == 0 and receiver.ids == []
    with Session(clean_db) as session:
        alert = session.scalars(select(Alert)).one()
        assert alert.attempts == 1
        assert (alert.next_attempt_at - alert.created_at).total_seconds() > 3000


def test_alerts_of_channels_no_longer_configured_stay_pending(
    clean_db: Engine, hook_settings: Settings, receiver: WebhookReceiver
) -> None:
    receiver.start()
    queue(clean_db, "jsonl:///nowhere/removed.jsonl", 2)
    summary = deliver_pending(clean_db, hook_settings, channels_from_settings(hook_settings))
    assert summary.sent == 0
    assert pending(clean_db) == 2


def test_a_sender_killed_between_sending_and_marking_repeats_at_most_that_alert(
    clean_db: Engine, database_url: str, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env.update(
        PARLEY_DATABASE_URL=database_url,
        PARLEY_ALERT_URLS=receiver.url,
        PARLEY_WEBHOOK_SECRET=SECRET,
        PARLEY_ALERT_RETRY_BASE_SECONDS="0",
        PARLEY_DATA_DIR=str(tmp_path),
    )
    name = channels_from_settings(
        Settings(alert_urls=[receiver.url], webhook_secret=SECRET)  # type: ignore[list-item,arg-type]
    )[0].name
    queue(clean_db, name, 4)
    receiver.start()

    sender = subprocess.Popen(
        [sys.executable, "-m", "etl.cli", "alerts", "send"], env=env, cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    receiver.kill_pid_on_first = sender.pid
    sender.wait(timeout=60)
    assert sender.returncode == -signal.SIGKILL
    assert receiver.ids == ["parley-change-0"]
    assert pending(clean_db) == 4  # nothing was marked sent

    rerun = subprocess.run(
        [sys.executable, "-m", "etl.cli", "alerts", "send"], env=env, cwd=REPO,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr
    assert "4 alerts sent" in rerun.stdout
    assert sorted(receiver.ids) == sorted(["parley-change-0", *(f"parley-change-{i}" for i in range(4))])
    duplicates = [key for key in set(receiver.ids) if receiver.ids.count(key) > 1]
    assert duplicates == ["parley-change-0"]  # the one in flight, with the same id

    third = subprocess.run(
        [sys.executable, "-m", "etl.cli", "alerts", "send"], env=env, cwd=REPO,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "0 alerts sent" in third.stdout
    assert len(receiver.ids) == 5
