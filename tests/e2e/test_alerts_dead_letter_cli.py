"""``parley alerts`` against a loopback webhook receiver that refuses: the refused alert is given up
and said so, ``alerts list --failed`` shows it, ``alerts retry`` puts it back and says how many, and
neither the receiver's secret-looking error body nor a password in an alert URL is ever printed."""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.engine import Engine

from models import Alert
from tests.alert_receivers import Answer, scripted_receiver
from tests.conftest import cli_env_for, run_parley


def queue(engine: Engine, channel: str, keys: list[str]) -> None:
    rows = [
        {
            "alert_key": key,
            "kind": "position_change",
            "channel": channel,
            "subject": f"{key}: 5 → 7 days (proposes)",
            "body": "per Wire",
            "payload": {},
        }
        for key in keys
    ]
    with engine.begin() as conn:
        conn.execute(insert(Alert), rows)


def test_a_refused_alert_is_listed_as_failed_retried_on_demand_and_its_error_never_shows_a_secret(
    clean_db: Engine, database_url: str
) -> None:
    with scripted_receiver() as receiver:
        env = cli_env_for(
            database_url, ALERT_URLS=receiver.url, WEBHOOK_SECRET="k", ALERT_RETRY_BASE_SECONDS="0"
        ) | {"COLUMNS": "250"}
        receiver.answers["parley-change-1"] = Answer(400, b"invalid payload; token=abc123 Bearer eyJraWQi")
        queue(clean_db, receiver.url, ["parley-change-1", "parley-change-2"])

        sent = run_parley("alerts", "send", env=env)
        assert sent.returncode == 0, sent.stderr
        assert "1 alerts sent, 0 failed and kept for retry, 1 given up" in sent.stdout
        assert "alert parley-change-1 given up on" in sent.stderr

        failed = run_parley("alerts", "list", "--failed", env=env)
        assert failed.returncode == 0, failed.stderr
        assert "parley-change-1" in failed.stdout and "parley-change-2" not in failed.stdout
        assert "refused: webhook answered HTTP 400" in failed.stdout

        for output in (sent.stdout, sent.stderr, failed.stdout):
            assert "abc123" not in output and "eyJraWQi" not in output

        receiver.answers.clear()
        retried = run_parley("alerts", "retry", "--channel", receiver.url, env=env)
        assert retried.returncode == 0, retried.stderr
        assert (
            retried.stdout.strip() == "1 failed alert put back to pending; parley alerts send delivers them"
        )
        again = run_parley("alerts", "send", env=env)
        assert "1 alerts sent" in again.stdout
        assert receiver.ids == ["parley-change-1", "parley-change-2", "parley-change-1"]
        none = run_parley("alerts", "retry", env=env)
        assert none.stdout.strip() == "0 failed alerts put back to pending"


def test_a_bad_alert_url_with_a_slash_in_its_password_is_one_line_without_the_password(
    clean_db: Engine, database_url: str
) -> None:
    env = cli_env_for(
        database_url,
        ALERT_URLS="smtp://alerts:Qz7/Vk9x@mail.example.org/?from=a@example.org&to=b@example.org",
    )
    result = run_parley("alerts", "send", env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("parley: error: bad setting PARLEY_ALERT_URLS: bad alert URL smtp://…")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Qz7" not in result.stderr + result.stdout and "Vk9x" not in result.stderr + result.stdout
