"""Alert routing rules: routes, mutes and digests from YAML, and the one-line errors of a bad file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from etl.alerts.routing import AlertRules
from etl.settings import ConfigError, Settings

WEBHOOK = "webhook+https://hooks.example/parley?token=s3cret"
WEBHOOK_NAME = "webhook+https://hooks.example/parley?token=****"
SMTP = "smtp://bot:hunter2@mail.example:587/?from=parley@example.org&to=desk@example.org"
SMTP_NAME = "smtp://bot:****@mail.example:587/?from=parley@example.org&to=desk@example.org"
JSONL = "jsonl:///var/tmp/parley-digest.jsonl"
CHANNELS = ["console://", WEBHOOK_NAME, SMTP_NAME, JSONL]

RULES = f"""
routes:
  - channel: "{WEBHOOK}"
    actors: [israel, hamas]
    issues: [ceasefire_duration]
    kinds: [change]
  - channel: "{WEBHOOK}"
    kinds: [feed_health]
  - channel: "{SMTP_NAME}"   # the masked form names the same channel
    actors: [qatar]
mute:
  - actors: [united_nations]
  - issues: [aid_trucks_per_day]
    until: 2026-12-31T00:00:00Z
digest:
  channels: ["{JSONL}"]
  period_minutes: 30
"""
BEFORE_UNTIL = datetime(2026, 12, 30, 23, 59, tzinfo=UTC)
UNTIL = datetime(2026, 12, 31, tzinfo=UTC)


def settings_with(path: Path | None) -> Settings:
    return Settings().with_changes(
        alert_urls=["console://", WEBHOOK, SMTP, JSONL], webhook_secret="k", alert_rules=path
    )


def load(tmp_path: Path, text: str) -> AlertRules:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return AlertRules.load(settings_with(path))


@pytest.mark.parametrize(
    ("kind", "actor", "issue", "now", "expected"),
    [
        # the webhook's first route: israel/hamas on ceasefire_duration, changes only
        ("change", "israel", "ceasefire_duration", BEFORE_UNTIL, ["console://", WEBHOOK_NAME, JSONL]),
        ("change", "hamas", "ceasefire_duration", BEFORE_UNTIL, ["console://", WEBHOOK_NAME, JSONL]),
        ("new", "israel", "ceasefire_duration", BEFORE_UNTIL, ["console://", JSONL]),
        ("change", "israel", "withdrawal", BEFORE_UNTIL, ["console://", JSONL]),
        ("change", "egypt", "ceasefire_duration", BEFORE_UNTIL, ["console://", JSONL]),
        # the e-mail channel's route: anything about qatar
        ("new", "qatar", "withdrawal", BEFORE_UNTIL, ["console://", SMTP_NAME, JSONL]),
        # the webhook's second route: feed health, which has no actor or issue
        ("feed_health", None, None, BEFORE_UNTIL, ["console://", WEBHOOK_NAME, JSONL]),
        # mutes silence every channel; the timed one ends at its until
        ("change", "united_nations", "ceasefire_duration", BEFORE_UNTIL, []),
        ("change", "united_nations", "ceasefire_duration", UNTIL + timedelta(days=400), []),
        ("change", "qatar", "aid_trucks_per_day", BEFORE_UNTIL, []),
        ("change", "qatar", "aid_trucks_per_day", UNTIL, ["console://", SMTP_NAME, JSONL]),
    ],
)
def test_routes_and_mutes_choose_the_channels_of_an_event(
    tmp_path: Path, kind: str, actor: str | None, issue: str | None, now: datetime, expected: list[str]
) -> None:
    rules = load(tmp_path, RULES)
    assert rules.channels_for(kind=kind, actor=actor, issue=issue, channels=CHANNELS, now=now) == expected


NEGOTIATION_RULES = f"""
routes:
  - channel: "{WEBHOOK}"
    negotiations: [ukraine]
  - channel: "{SMTP_NAME}"
    negotiations: [gaza, ukraine]
    issues: [ceasefire_duration]
mute:
  - negotiations: [gaza]
    actors: [united_nations]
  - negotiations: [ukraine]
    kinds: [new]
    until: 2026-12-31T00:00:00Z
"""


@pytest.mark.parametrize(
    ("kind", "actor", "issue", "negotiation", "expected"),
    [
        # the webhook takes Ukraine events only, of any actor and issue
        (
            "change",
            "united_states",
            "ceasefire_duration",
            "ukraine",
            ["console://", WEBHOOK_NAME, SMTP_NAME, JSONL],
        ),
        ("change", "united_states", "security_guarantees", "ukraine", ["console://", WEBHOOK_NAME, JSONL]),
        ("change", "united_states", "ceasefire_duration", "gaza", ["console://", SMTP_NAME, JSONL]),
        ("change", "israel", "withdrawal", "gaza", ["console://", JSONL]),
        # an event of no negotiation (feed health, or a caller that does not say) matches none
        ("feed_health", None, None, None, ["console://", JSONL]),
        ("change", "united_states", "ceasefire_duration", None, ["console://", JSONL]),
        # the UN is muted in Gaza only; new Ukraine positions are muted until the end of the year
        ("change", "united_nations", "ceasefire_duration", "gaza", []),
        (
            "change",
            "united_nations",
            "ceasefire_duration",
            "ukraine",
            ["console://", WEBHOOK_NAME, SMTP_NAME, JSONL],
        ),
        ("new", "russia", "energy_truce", "ukraine", []),
        ("new", "israel", "withdrawal", "gaza", ["console://", JSONL]),
    ],
)
def test_routes_and_mutes_by_negotiation_match_only_that_negotiations_events(
    tmp_path: Path,
    kind: str,
    actor: str | None,
    issue: str | None,
    negotiation: str | None,
    expected: list[str],
) -> None:
    rules = load(tmp_path, NEGOTIATION_RULES)
    assert rules.channels_for(kind, actor, issue, CHANNELS, BEFORE_UNTIL, negotiation=negotiation) == expected


def test_an_issue_of_a_listed_negotiation_or_of_any_without_negotiations_is_accepted(tmp_path: Path) -> None:
    rules = load(
        tmp_path,
        "mute:\n  - negotiations: [gaza, ukraine]\n    issues: [ceasefire]\n"
        "  - issues: [ceasefire, withdrawal]\n",
    )
    assert (
        rules.channels_for("new", "russia", "ceasefire", CHANNELS, BEFORE_UNTIL, negotiation="ukraine") == []
    )
    assert rules.channels_for("new", "israel", "withdrawal", CHANNELS, BEFORE_UNTIL, negotiation="gaza") == []


def test_a_timed_mute_of_a_negotiation_ends_at_its_until(tmp_path: Path) -> None:
    rules = load(tmp_path, NEGOTIATION_RULES)
    assert rules.channels_for("new", "russia", "energy_truce", CHANNELS, UNTIL, negotiation="ukraine") == [
        "console://", WEBHOOK_NAME, JSONL,
    ]  # fmt: skip


def test_without_a_rules_file_every_event_goes_to_every_channel() -> None:
    rules = AlertRules.load(settings_with(None))
    for kind, actor, issue in [("new", "israel", "withdrawal"), ("feed_health", None, None)]:
        assert rules.channels_for(kind, actor, issue, CHANNELS, BEFORE_UNTIL) == CHANNELS
    assert not any(rules.is_digest(name) for name in CHANNELS)


def test_an_empty_rules_file_is_no_rules(tmp_path: Path) -> None:
    rules = load(tmp_path, "# nothing yet\n")
    assert rules.channels_for("change", "israel", "withdrawal", CHANNELS, BEFORE_UNTIL) == CHANNELS


def test_digest_channels_and_period_come_from_the_file(tmp_path: Path) -> None:
    rules = load(tmp_path, RULES)
    assert [name for name in CHANNELS if rules.is_digest(name)] == [JSONL]
    assert rules.digest_period == timedelta(minutes=30)


def test_a_channel_is_named_by_its_full_or_its_masked_url(tmp_path: Path) -> None:
    full = load(tmp_path, f'routes: [{{channel: "{SMTP}", actors: [qatar]}}]\n')
    masked = load(tmp_path, f'routes: [{{channel: "{SMTP_NAME}", actors: [qatar]}}]\n')
    assert full.routes.keys() == masked.routes.keys() == {SMTP_NAME}


def test_an_unknown_alert_kind_is_a_programming_error(tmp_path: Path) -> None:
    rules = load(tmp_path, RULES)
    with pytest.raises(ValueError, match="unknown alert kind 'position_change'"):
        rules.channels_for("position_change", "israel", "withdrawal", CHANNELS, BEFORE_UNTIL)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f'routes:\n  - channel: "{WEBHOOK}"\n    actors: [isreal]\n',
            f"routes entry #1 ({WEBHOOK_NAME}) field 'actors' item #1: unknown actor 'isreal'",
        ),
        (
            f'routes:\n  - channel: "{WEBHOOK}"\n    negotiations: [ukraine, ukrain]\n',
            f"routes entry #1 ({WEBHOOK_NAME}) field 'negotiations' item #2: unknown negotiation 'ukrain'",
        ),
        (
            # Ukraine's issue in a rule limited to Gaza would never match
            f'routes:\n  - channel: "{WEBHOOK}"\n    negotiations: [gaza]\n'
            "    issues: [ceasefire_duration, ceasefire]\n",
            f"routes entry #1 ({WEBHOOK_NAME}) field 'issues' item #2: unknown issue 'ceasefire'"
            " (not in the issues of gaza)",
        ),
        (
            "mute:\n  - negotiations: [sudan]\n",
            "mute entry #1 field 'negotiations' item #1: unknown negotiation 'sudan'",
        ),
        (
            "mute:\n  - negotiations: []\n",
            "mute entry #1 field 'negotiations': List should have at least 1 item",
        ),
        (
            "mute:\n  - actors: [hamas]\n  - issues: [ceasefire_duration, aid_truck_per_day]\n",
            "mute entry #2 field 'issues' item #2: unknown issue 'aid_truck_per_day'",
        ),
        (
            f'routes:\n  - channel: "{WEBHOOK}"\n    kinds: [changes]\n',
            f"routes entry #1 ({WEBHOOK_NAME}) field 'kinds' item #1: Input should be 'new', 'change',"
            " 'feed_health' or",
        ),
        (
            "routes:\n  - channel: console://\n    actor: [israel]\n",
            "routes entry #1 (console://) field 'actor': Extra inputs are not permitted",
        ),
        ("routes:\n  - actors: [israel]\n", "routes entry #1 field 'channel': Field required"),
        (
            "mute:\n  - until: 2026-12-31T00:00:00Z\n",
            "mute entry #1: a mute needs negotiations, actors, issues or kinds",
        ),
        (
            "mute:\n  - actors: [hamas]\n    until: 2026-12-31\n",
            "mute entry #1 field 'until': give a time with its zone",
        ),
        (
            "routes:\n  - channel: webhook+https://hooks.example/other?token=t0psecret\n",
            "routes entry #1 (webhook+https://hooks.example/other?token=****) field 'channel': "
            "webhook+https://hooks.example/other?token=**** is not a channel of PARLEY_ALERT_URLS",
        ),
        (
            "digest:\n  channels: [console://, mailto://desk@example.org]\n",
            "digest field 'channels' item #2: mailto://desk@example.org is not a channel of PARLEY_ALERT",
        ),
        ("digest:\n  channels: [console://]\n  period_minutes: 0\n", "digest field 'period_minutes': Input"),
        ("route:\n  - channel: console://\n", "field 'route': Extra inputs are not permitted"),
        ("- console://\n", "expected a mapping with routes, mute and/or digest"),
        ("routes: [channel: console://\n", "invalid YAML"),
    ],
)
def test_a_bad_rules_file_is_one_line_naming_file_entry_and_field(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        AlertRules.load(settings_with(path))
    message = str(caught.value)
    assert message.startswith(f"{path}:")
    assert expected in message
    assert "\n" not in message
    assert "t0psecret" not in message and "s3cret" not in message


def test_a_missing_rules_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="alert rules file not found"):
        AlertRules.load(settings_with(tmp_path / "nowhere.yaml"))
