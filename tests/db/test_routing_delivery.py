"""Routing, mutes and digests end to end: ledger events → outbox rows → loopback receivers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl.alerts.channels import channels_from_settings
from etl.alerts.outbox import deliver_pending
from etl.ledger.store import apply_claims
from etl.settings import ConfigError, Settings
from models import Alert, Position, PositionChange
from tests.conftest import REPO
from tests.db.conftest import VERSION, day, state
from tests.receivers import WebhookReceiver

SECRET = "test-webhook-secret"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    server.start()
    yield server
    server.stop()


def with_rules(settings: Settings, tmp_path: Path, rules: str, alert_urls: list[str]) -> Settings:
    path = tmp_path / "alert-rules.yaml"
    path.write_text(textwrap.dedent(rules), encoding="utf-8")
    return settings.with_changes(
        alert_urls=alert_urls, webhook_secret=SECRET, alert_rules=path, alert_timeout=2.0
    )


def names(settings: Settings) -> list[str]:
    return [channel.name for channel in channels_from_settings(settings)]


def alerts_by_channel(engine: Engine) -> dict[str, list[tuple[str, str, str]]]:
    """channel → [(actor, issue, kind)] of its outbox rows, in id order."""
    rows: dict[str, list[tuple[str, str, str]]] = {}
    with Session(engine) as session:
        for alert in session.scalars(select(Alert).order_by(Alert.id)):
            payload = alert.payload
            rows.setdefault(alert.channel, []).append((payload["actor"], payload["issue"], payload["kind"]))
    return rows


def age_alerts(engine: Engine, channel: str, minutes: float) -> None:
    """Make the channel's pending alerts ``minutes`` old and due, instead of waiting."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE alerts SET created_at = now() - make_interval(mins => :m),"
                " next_attempt_at = now() - make_interval(mins => :m)"
                " WHERE channel = :channel AND status = 'pending'"
            ),
            {"m": minutes, "channel": channel},
        )


def statuses(engine: Engine, channel: str) -> list[tuple[str, int]]:
    with Session(engine) as session:
        rows = session.execute(
            select(Alert.status, Alert.attempts).where(Alert.channel == channel).order_by(Alert.id)
        )
        return [(status, attempts) for status, attempts in rows]


def test_a_route_limits_a_channel_to_its_actors_issues_and_kinds(
    ledger_db: Engine, settings: Settings, tmp_path: Path
) -> None:
    everything = f"jsonl://{tmp_path}/everything.jsonl"
    israel_desk = f"jsonl://{tmp_path}/israel-desk.jsonl"
    routed = with_rules(
        settings,
        tmp_path,
        f"""
        routes:
          - channel: "{israel_desk}"
            actors: [israel]
            issues: [ceasefire_duration]
            kinds: [change]
        """,
        [everything, israel_desk],
    )
    state(ledger_db, "israel", "ceasefire_duration", "42", "proposes", day(2))  # new
    state(ledger_db, "hamas", "ceasefire_duration", "4", "demands", day(3))  # new, other actor
    state(ledger_db, "israel", "withdrawal", "partial", "proposes", day(4))  # new, other issue
    state(ledger_db, "israel", "ceasefire_duration", "60", "proposes", day(9))  # the change
    state(ledger_db, "hamas", "ceasefire_duration", "5", "demands", day(10))  # change, other actor

    first = apply_claims(ledger_db, routed, names(routed), version=VERSION)
    again = apply_claims(ledger_db, routed, names(routed), version=VERSION)

    queued = alerts_by_channel(ledger_db)
    assert queued[israel_desk] == [("israel", "ceasefire_duration", "change")]
    assert len(queued[everything]) == 5
    assert (first.alerts, again.alerts) == (6, 0)

    delivery = deliver_pending(ledger_db, routed, channels_from_settings(routed))
    assert delivery.sent == 6
    lines = (tmp_path / "israel-desk.jsonl").read_text().splitlines()
    assert [json.loads(line)["payload"]["new"]["value"] for line in lines] == ["60"]


def test_a_route_and_a_mute_by_negotiation_follow_the_events_negotiation(
    ledger_db: Engine, settings: Settings, tmp_path: Path
) -> None:
    everything = f"jsonl://{tmp_path}/everything.jsonl"
    ukraine_desk = f"jsonl://{tmp_path}/ukraine-desk.jsonl"
    routed = with_rules(
        settings,
        tmp_path,
        f"""
        routes:
          - channel: "{ukraine_desk}"
            negotiations: [ukraine]
        mute:
          - negotiations: [gaza]
            actors: [united_states]
        """,
        [everything, ukraine_desk],
    )
    # the same actor and issue key in both negotiations: only the negotiation tells them apart
    state(ledger_db, "united_states", "ceasefire_duration", "60", "proposes", day(2))  # muted in gaza
    state(ledger_db, "united_states", "ceasefire_duration", "30", "proposes", day(3), negotiation="ukraine")
    state(ledger_db, "israel", "ceasefire_duration", "42", "proposes", day(4))

    summary = apply_claims(ledger_db, routed, names(routed), version=VERSION)

    with Session(ledger_db) as session:
        payloads = {
            channel: payloads_of(session, channel) for channel in session.scalars(select(Alert.channel))
        }
    assert summary.alerts == 3
    assert payloads == {
        everything: [("ukraine", "united_states", "30"), ("gaza", "israel", "42")],
        ukraine_desk: [("ukraine", "united_states", "30")],
    }


def payloads_of(session: Session, channel: str) -> list[tuple[str, str, str]]:
    """(negotiation, actor, new value) of the channel's outbox rows, in id order."""
    alerts = session.scalars(select(Alert).where(Alert.channel == channel).order_by(Alert.id))
    return [(a.payload["negotiation"], a.payload["actor"], a.payload["new"]["value"]) for a in alerts]


def test_a_mute_hides_an_event_from_every_channel_until_it_expires(
    ledger_db: Engine, settings: Settings, tmp_path: Path
) -> None:
    muted = with_rules(
        settings,
        tmp_path,
        """
        mute:
          - actors: [united_nations]
          - issues: [withdrawal]
            until: 2999-01-01T00:00:00Z
          - issues: [aid_trucks_per_day]
            until: 2020-01-01T00:00:00Z   # over: alerts again
        """,
        ["console://", f"jsonl://{tmp_path}/alerts.jsonl"],
    )
    state(ledger_db, "united_nations", "aid_trucks_per_day", "500", "demands", day(2))
    state(ledger_db, "israel", "withdrawal", "partial", "proposes", day(3))
    state(ledger_db, "qatar", "aid_trucks_per_day", "200", "proposes", day(4))

    summary = apply_claims(ledger_db, muted, names(muted), version=VERSION)

    with Session(ledger_db) as session:
        recorded = session.scalars(select(PositionChange.actor).order_by(PositionChange.id)).all()
    assert recorded == ["united_nations", "israel", "qatar"]  # the ledger records muted events
    assert summary.alerts == 2
    assert alerts_by_channel(ledger_db) == {
        "console://": [("qatar", "aid_trucks_per_day", "new")],
        f"jsonl://{tmp_path}/alerts.jsonl": [("qatar", "aid_trucks_per_day", "new")],
    }


def test_a_digest_channel_gets_one_message_with_every_event_after_the_period(
    ledger_db: Engine, settings: Settings, tmp_path: Path, receiver: WebhookReceiver
) -> None:
    single = f"jsonl://{tmp_path}/single.jsonl"
    digesting = with_rules(
        settings,
        tmp_path,
        f"""
        digest:
          channels: ["{receiver.url}"]
          period_minutes: 60
        """,
        [receiver.url, single],
    )
    hook = channels_from_settings(digesting)[0].name
    state(ledger_db, "israel", "ceasefire_duration", "42", "proposes", day(2))
    state(ledger_db, "hamas", "ceasefire_duration", "4", "demands", day(3))
    state(ledger_db, "israel", "ceasefire_duration", "60", "proposes", day(9))
    apply_claims(ledger_db, digesting, names(digesting), version=VERSION)
    channels = channels_from_settings(digesting)

    early = deliver_pending(ledger_db, digesting, channels)
    assert early.sent == 3  # the single channel's three messages; the digest is not an hour old
    assert receiver.documents == []
    assert len((tmp_path / "single.jsonl").read_text().splitlines()) == 3

    age_alerts(ledger_db, hook, 61)
    due = deliver_pending(ledger_db, digesting, channels)
    rerun = deliver_pending(ledger_db, digesting, channels, flush_digests=True)

    with Session(ledger_db) as session:
        rows = session.scalars(select(Alert).where(Alert.channel == hook).order_by(Alert.id)).all()
    assert (due.sent, due.digests, rerun.sent) == (3, 1, 0)
    assert "3 alerts sent (3 in 1 digest)" in due.line()
    assert len(receiver.documents) == 1
    digest = receiver.documents[0]
    assert digest["alert_id"].startswith(f"parley-digest-{rows[0].id}-{rows[-1].id}-")
    assert digest["subject"].startswith("parley digest: 3 position changes (")
    assert digest["payload"]["alert_ids"] == [row.alert_key for row in rows]
    assert [a["actor"] for a in digest["payload"]["alerts"]] == ["israel", "hamas", "israel"]
    assert all(row.body.rstrip() in digest["body"] for row in rows)
    assert all(row.status == "sent" and row.sent_at is not None for row in rows)


def test_a_digest_waits_for_its_period_unless_flushed(
    ledger_db: Engine, settings: Settings, tmp_path: Path, receiver: WebhookReceiver
) -> None:
    digesting = with_rules(
        settings, tmp_path, f'digest: {{channels: ["{receiver.url}"], period_minutes: 60}}', [receiver.url]
    )
    state(ledger_db, "qatar", "aid_trucks_per_day", "200", "proposes", day(4))
    apply_claims(ledger_db, digesting, names(digesting), version=VERSION)
    hook = names(digesting)[0]
    age_alerts(ledger_db, hook, 59)
    channels = channels_from_settings(digesting)

    waiting = deliver_pending(ledger_db, digesting, channels)
    flushed = deliver_pending(ledger_db, digesting, channels, flush_digests=True)

    assert (waiting.sent, flushed.sent, flushed.digests) == (0, 1, 1)
    assert receiver.documents[0]["subject"].startswith("parley digest: 1 position change (")
    assert statuses(ledger_db, hook) == [("sent", 0)]


def queue_aged(engine: Engine, channel: str, minutes_ago: list[int]) -> None:
    rows = [
        {
            "alert_key": f"parley-change-{i}",
            "kind": "position_change",
            "channel": channel,
            "subject": f"Actor {i} — issue: old → new (proposes)",
            "body": f"Actor {i} — issue: old → new (proposes), per Outlet, 2025-01-02: 'x'",
            "payload": {"change_id": i},
        }
        for i in range(len(minutes_ago))
    ]
    with engine.begin() as conn:
        ids = conn.scalars(insert(Alert).returning(Alert.id), rows).all()
        for alert_id, minutes in zip(ids, minutes_ago, strict=True):
            conn.execute(
                text(
                    "UPDATE alerts SET created_at = now() - make_interval(mins => :m),"
                    " next_attempt_at = now() - make_interval(mins => :m) WHERE id = :id"
                ),
                {"m": minutes, "id": alert_id},
            )


def test_alerts_more_than_a_period_apart_go_in_separate_digests(
    clean_db: Engine, settings: Settings, tmp_path: Path, receiver: WebhookReceiver
) -> None:
    digesting = with_rules(
        settings, tmp_path, f'digest: {{channels: ["{receiver.url}"], period_minutes: 60}}', [receiver.url]
    )
    queue_aged(clean_db, names(digesting)[0], [180, 170, 125, 90, 20])

    summary = deliver_pending(clean_db, digesting, channels_from_settings(digesting))

    # [180, 120) minutes ago, then [90, 30): the alert 20 minutes old waits for its own period
    assert [d["payload"]["alert_ids"] for d in receiver.documents] == [
        ["parley-change-0", "parley-change-1", "parley-change-2"],
        ["parley-change-3"],
    ]
    assert (summary.sent, summary.digests) == (4, 2)
    assert statuses(clean_db, names(digesting)[0])[-1] == ("pending", 0)


def test_a_failed_digest_keeps_all_its_alerts_pending_and_retries_them_with_the_same_id(
    clean_db: Engine, settings: Settings, tmp_path: Path, receiver: WebhookReceiver
) -> None:
    digesting = with_rules(
        settings, tmp_path, f'digest: {{channels: ["{receiver.url}"], period_minutes: 30}}', [receiver.url]
    ).with_changes(alert_retry_base_seconds=3600.0)
    hook = names(digesting)[0]
    channels = channels_from_settings(digesting)
    queue_aged(clean_db, hook, [50, 40, 35])

    receiver.status = 503
    failed = deliver_pending(clean_db, digesting, channels)
    assert (failed.sent, failed.failed, failed.channels_down) == (0, 3, [hook])
    assert statuses(clean_db, hook) == [("pending", 1)] * 3
    with Session(clean_db) as session:
        rows = session.scalars(select(Alert).where(Alert.channel == hook)).all()
        assert all(row.last_error and "503" in row.last_error for row in rows)
        wait = session.scalar(select(func.min(Alert.next_attempt_at) - func.now()))
        assert wait is not None and wait.total_seconds() > 3000  # backed off by the retry delay

    receiver.status = 204
    backing_off = deliver_pending(clean_db, digesting, channels)
    assert backing_off.sent == 0 and len(receiver.documents) == 1

    with clean_db.begin() as conn:
        conn.execute(text("UPDATE alerts SET next_attempt_at = now() - interval '1 minute'"))
    retried = deliver_pending(clean_db, digesting, channels)

    assert (retried.sent, retried.digests) == (3, 1)
    first, second = receiver.documents
    assert second["alert_id"] == first["alert_id"]
    assert (
        second["payload"]["alert_ids"]
        == first["payload"]["alert_ids"]
        == [f"parley-change-{i}" for i in range(3)]
    )
    assert statuses(clean_db, hook) == [("sent", 1)] * 3


def test_a_digest_sender_killed_between_sending_and_marking_repeats_it_once_with_the_same_id(
    clean_db: Engine, settings: Settings, database_url: str, tmp_path: Path, receiver: WebhookReceiver
) -> None:
    digesting = with_rules(
        settings, tmp_path, f'digest: {{channels: ["{receiver.url}"], period_minutes: 60}}', [receiver.url]
    )
    hook = names(digesting)[0]
    queue_aged(clean_db, hook, [70, 65, 61])
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env.update(
        PARLEY_DATABASE_URL=database_url,
        PARLEY_ALERT_URLS=receiver.url,
        PARLEY_WEBHOOK_SECRET=SECRET,
        PARLEY_ALERT_RULES=str(digesting.alert_rules),
        PARLEY_DATA_DIR=str(tmp_path),
    )
    # the outbox alone, not the CLI: this proves deliver_pending's guarantee
    script = (
        "from etl import db; from etl.alerts import outbox;"
        "from etl.alerts.channels import channels_from_settings;"
        "from etl.settings import load_settings; s = load_settings();"
        "print(outbox.deliver_pending(db.get_engine(s), s, channels_from_settings(s)).line())"
    )

    def send() -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-c", script], env=env, cwd=REPO, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip

    killed = send()
    receiver.kill_pid_on_first = killed.pid
    killed.wait(timeout=60)
    assert killed.returncode == -signal.SIGKILL
    assert statuses(clean_db, hook) == [("pending", 0)] * 3  # nothing was marked sent

    rerun_out, rerun_err = send().communicate(timeout=60)
    third_out, _ = send().communicate(timeout=60)

    assert "3 alerts sent (3 in 1 digest)" in rerun_out, rerun_err
    assert "0 alerts sent" in third_out
    assert len(receiver.ids) == 2 and receiver.ids[0] == receiver.ids[1]  # one repeat, the same id
    assert statuses(clean_db, hook) == [("sent", 0)] * 3


def test_a_bad_rules_file_stops_the_diff_before_anything_is_written(
    ledger_db: Engine, settings: Settings, tmp_path: Path
) -> None:
    typo = with_rules(settings, tmp_path, "mute:\n  - actors: [isreal]\n", ["console://"])
    state(ledger_db, "israel", "ceasefire_duration", "42", "proposes", day(2))

    with pytest.raises(ConfigError, match=r"alert-rules\.yaml: mute entry #1 field 'actors' item #1"):
        apply_claims(ledger_db, typo, ["console://"], version=VERSION)

    with Session(ledger_db) as session:
        counts = [session.scalar(select(func.count()).select_from(m)) for m in (Position, Alert)]
    assert counts == [0, 0]
