"""etl.alerts.channels without a network: alert URLs → channels, secrets masked in names and errors,
the message contract, the webhook signature, the console and the JSON-lines file."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from etl.alerts.channels import (
    AlertMessage,
    AppriseChannel,
    ChannelError,
    ConsoleChannel,
    JsonlChannel,
    SmtpChannel,
    WebhookChannel,
    channel_from_url,
    channels_from_settings,
    mask_url,
    webhook_signature,
)
from etl.settings import ConfigError, Settings

REPO = Path(__file__).resolve().parents[2]
SECRET = "hunter2-webhook-key"


def make_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {"webhook_secret": SECRET, "alert_timeout": 2.0}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def make_message(**overrides: object) -> AlertMessage:
    values: dict[str, object] = {
        "alert_id": "chg-17-3f9a",
        "subject": "Israel — ceasefire_duration: 60 days → 42 days (proposes)",
        "body": "per Reuters, 2023-11-21: 'Israel proposed a 42-day pause.'",
        "payload": {"actor": "israel", "issue": "ceasefire_duration", "old": "60 days", "new": "42 days"},
    }
    values.update(overrides)
    return AlertMessage(**values)  # type: ignore[arg-type]


# --- channel_from_url: which channel a URL names, and its (masked) name ------------------------------

CHANNEL_URLS = [
    ("console://", ConsoleChannel, "console://"),
    ("jsonl:///var/log/parley/alerts.jsonl", JsonlChannel, "jsonl:///var/log/parley/alerts.jsonl"),
    ("jsonl://localhost/tmp/a%20b.jsonl", JsonlChannel, "jsonl:///tmp/a b.jsonl"),
    ("webhook+https://hooks.example.org/parley?team=gaza", WebhookChannel, None),
    ("webhook+http://10.0.0.5:8080/in", WebhookChannel, None),
    ("WEBHOOK+HTTPS://hooks.example.org/in", WebhookChannel, None),
    ("smtp://mail.example.org/?from=alerts@example.org&to=a@example.org", SmtpChannel, None),
    ("smtps://u:p@mail.example.org/?from=alerts@example.org&to=a@example.org", SmtpChannel, None),
    ("mailto://user:pass@example.com?to=analyst@example.com", AppriseChannel, None),
    ("json://receiver.example.org/path", AppriseChannel, None),
]


@pytest.mark.parametrize(("url", "kind", "name"), CHANNEL_URLS)
def test_each_scheme_builds_its_channel(url: str, kind: type, name: str | None) -> None:
    channel = channel_from_url(url, make_settings())
    assert isinstance(channel, kind)
    if name is not None:
        assert channel.name == name


def test_webhook_scheme_prefix_is_dropped_for_the_request_target() -> None:
    channel = channel_from_url("webhook+https://hooks.example.org/in?team=gaza#frag", make_settings())
    assert isinstance(channel, WebhookChannel)
    assert channel.target == "https://hooks.example.org/in?team=gaza"


def test_smtp_url_gives_host_port_sender_recipients_and_login() -> None:
    channel = channel_from_url(
        "smtp://bot%40example.org:p%40ss@mail.example.org:2525/"
        "?from=Parley <alerts@example.org>&to=a@example.org,b@example.org&to=c@example.org&starttls=yes",
        make_settings(),
    )
    assert isinstance(channel, SmtpChannel)
    assert (channel.host, channel.port) == ("mail.example.org", 2525)
    assert channel.sender == "Parley <alerts@example.org>"
    assert channel.recipients == ["a@example.org", "b@example.org", "c@example.org"]
    assert channel._username == "bot@example.org"
    assert channel._password == "p@ss"
    assert channel._starttls is True


@pytest.mark.parametrize(("url", "port"), [("smtp://h.example.org", 25), ("smtps://h.example.org", 465)])
def test_smtp_default_ports_follow_the_scheme(url: str, port: int) -> None:
    channel = channel_from_url(f"{url}/?from=a@example.org&to=b@example.org", make_settings())
    assert isinstance(channel, SmtpChannel)
    assert channel.port == port


# --- secrets never show in names or errors -----------------------------------------------------------

MASKED = [
    ("webhook+https://bob:s3cret@hooks.example.org/in", "webhook+https://bob:****@hooks.example.org/in"),
    (
        "webhook+https://hooks.example.org/in?token=abc123&team=gaza&api_key=zzz",
        "webhook+https://hooks.example.org/in?token=****&team=gaza&api_key=****",
    ),
    (
        "smtp://bot:pw@mail.example.org:587/?from=a@example.org&to=b@example.org",
        "smtp://bot:****@mail.example.org:587/?from=a@example.org&to=b@example.org",
    ),
    ("webhook+https://bob@hooks.example.org/in", "webhook+https://bob@hooks.example.org/in"),
    (
        "https://h.example.org/p?Signature=x&X-Amz-Credential=y",
        "https://h.example.org/p?Signature=****&X-Amz-Credential=****",
    ),
]


@pytest.mark.parametrize(("url", "masked"), MASKED)
def test_mask_url_hides_passwords_and_secret_parameters(url: str, masked: str) -> None:
    assert mask_url(url) == masked


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("webhook+https://bob:s3cret@hooks.example.org/in", "s3cret"),
        ("smtp://bot:pw-9f8e@mail.example.org/?from=a@example.org&to=b@example.org", "pw-9f8e"),
        ("mailto://user:mailpass77@example.com?to=analyst@example.com", "mailpass77"),
        (
            "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/-1001234567890",
            "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
        ),
        ("discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js", "JHMHI8qBe7bk2ZwO5U711o3dV_js"),
    ],
)
def test_channel_name_never_contains_the_secret(url: str, secret: str) -> None:
    channel = channel_from_url(url, make_settings())
    assert secret not in channel.name
    assert channel.name.split("://")[0] == url.split("://")[0]


def test_apprise_channel_name_keeps_only_parameters_the_user_wrote() -> None:
    # Apprise adds its defaults (overflow=, retry=, …); a name built from them would change with Apprise.
    channel = channel_from_url("json://receiver.example.org:8080/in?method=POST", make_settings())
    assert channel.name == "json://receiver.example.org:8080/in?method=POST"


# --- bad URLs: one-line ConfigError, secrets masked ------------------------------------------------

BAD_URLS = [
    ("", "empty alert URL"),
    ("console", "has no scheme"),
    ("/var/log/alerts.jsonl", "has no scheme"),
    ("console://stderr", "console:// takes no host"),
    ("jsonl://alerts.jsonl", "absolute path"),
    ("jsonl:///var/log/parley/", "names a directory"),
    ("jsonl:///var/log/a.jsonl?mode=x", "takes no parameters"),
    ("webhook+ftp://hooks.example.org/in", "webhook+http:// or webhook+https://"),
    ("webhook://hooks.example.org/in", "webhook+http:// or webhook+https://"),
    ("webhook+https:///in", "no host"),
    ("webhook+https://h.example.org:99999999/in", "bad alert URL"),
    ("smtp://u:topsecret@mail.example.org/?to=b@example.org", "one sender address"),
    ("smtp://mail.example.org/?from=a@example.org", "give recipients"),
    ("smtp://mail.example.org/?from=a@example.org&to=nobody", "'nobody' is not an e-mail address"),
    ("smtp://mail.example.org/?from=a@example.org&to=b@example.org&tls=1", "unknown parameter 'tls'"),
    ("smtp://mail.example.org/?from=a@example.org&to=b@example.org&starttls=maybe", "starttls must be"),
    ("smtps://mail.example.org/?from=a@example.org&to=b@example.org&starttls=yes", "TLS already"),
    ("smtp://mail.example.org:port/?from=a@example.org&to=b@example.org", "bad alert URL"),
    ("smtp:///?from=a@example.org&to=b@example.org", "no SMTP host"),
    ("nosuchscheme://u:topsecret@host/path", "not a known scheme"),
]


@pytest.mark.parametrize(("url", "reason"), BAD_URLS)
def test_bad_alert_url_is_a_one_line_config_error(url: str, reason: str) -> None:
    with pytest.raises(ConfigError) as raised:
        channel_from_url(url, make_settings())
    message = str(raised.value)
    assert reason in message
    assert "\n" not in message
    assert "topsecret" not in message


def test_webhook_without_secret_is_refused_rather_than_sent_unsigned() -> None:
    with pytest.raises(ConfigError, match="needs PARLEY_WEBHOOK_SECRET"):
        channel_from_url("webhook+https://hooks.example.org/in", make_settings(webhook_secret=None))


# --- channels_from_settings ------------------------------------------------------------------------


def test_default_alert_urls_is_the_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PARLEY_ALERT_URLS", raising=False)
    channels = channels_from_settings(Settings())
    assert [c.name for c in channels] == ["console://"]


def test_alert_urls_split_at_commas_that_start_a_url_not_inside_recipient_lists(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(
        "PARLEY_ALERT_URLS",
        f"console://, jsonl://{tmp_path}/a.jsonl,"
        "smtp://mail.example.org/?from=a@example.org&to=b@example.org,c@example.org ,"
        "webhook+https://hooks.example.org/in",
    )
    monkeypatch.setenv("PARLEY_WEBHOOK_SECRET", SECRET)
    channels = channels_from_settings(Settings())
    assert [type(c) for c in channels] == [ConsoleChannel, JsonlChannel, SmtpChannel, WebhookChannel]
    smtp = channels[2]
    assert isinstance(smtp, SmtpChannel)
    assert smtp.recipients == ["b@example.org", "c@example.org"]


def test_alert_urls_are_secrets_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARLEY_ALERT_URLS", "smtp://bot:pw-in-env@mail.example.org/?from=a@x.org&to=b@x.org")
    assert "pw-in-env" not in repr(Settings())


def test_empty_alert_urls_means_no_channels() -> None:
    assert channels_from_settings(make_settings(alert_urls="")) == []


def test_bad_url_in_settings_names_the_variable() -> None:
    with pytest.raises(ConfigError, match=r"^bad setting PARLEY_ALERT_URLS: .*has no scheme"):
        channels_from_settings(make_settings(alert_urls="alerts.jsonl,console://"))


def test_same_channel_twice_is_refused_because_the_name_keys_the_outbox() -> None:
    with pytest.raises(ConfigError, match="listed twice"):
        channels_from_settings(
            make_settings(
                alert_urls="webhook+https://a:1@h.example.org/in,webhook+https://a:2@h.example.org/in"
            )
        )


# --- AlertMessage: the contract every channel relies on ------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("alert_id", "", "alert_id"),
        ("alert_id", "has space", "alert_id"),
        ("alert_id", "bad\r\nX-Injected: 1", "alert_id"),
        ("alert_id", "é", "alert_id"),
        ("subject", "two\nlines", "one non-empty line"),
        ("subject", "header\rinjection", "one non-empty line"),
        ("subject", "  ", "one non-empty line"),
        ("payload", {"when": object()}, "not JSON-serialisable"),
        ("payload", {"score": math.nan}, "not JSON-serialisable"),
    ],
)
def test_alert_message_refuses_what_a_channel_could_not_carry(field: str, value: object, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        make_message(**{field: value})


def test_alert_json_is_the_same_bytes_for_the_same_message() -> None:
    first = make_message(payload={"b": 1, "a": [1, 2], "ç": "→"})
    second = make_message(payload={"ç": "→", "a": [1, 2], "b": 1})
    assert first.to_json_bytes() == second.to_json_bytes()
    assert json.loads(first.to_json_bytes()) == first.document()
    assert "→".encode() in first.to_json_bytes()  # UTF-8, not \u escapes


def test_webhook_signature_is_hmac_sha256_hex_of_the_body() -> None:
    body = make_message().to_json_bytes()
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    signature = webhook_signature(body, SECRET)
    assert signature.startswith("sha256=")
    assert hmac.compare_digest(signature.removeprefix("sha256="), expected)
    assert not hmac.compare_digest(webhook_signature(body + b" ", SECRET), signature)


# --- console --------------------------------------------------------------------------------------


def test_console_writes_subject_then_body_to_the_given_stream() -> None:
    stream = io.StringIO()
    message = make_message()
    ConsoleChannel(stream).send(message)
    assert stream.getvalue() == f"{message.subject}\n{message.body}\n\n"


def test_console_does_not_repeat_a_subject_the_body_begins_with() -> None:
    stream = io.StringIO()
    subject = "Hamas — withdrawal: full (demands) [new position]"
    body = f"{subject}, per Levant Wire, 2025-01-03: 'Hamas insists on a full withdrawal.'"
    ConsoleChannel(stream).send(AlertMessage("parley-change-7", subject, body, {}))
    assert stream.getvalue() == f"{body}\n\n"


def test_console_default_writes_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    channel_from_url("console://", make_settings()).send(make_message())
    out = capsys.readouterr().out
    assert out.startswith("Israel — ceasefire_duration: 60 days → 42 days (proposes)\n")
    assert "per Reuters, 2023-11-21: 'Israel proposed a 42-day pause.'" in out


def test_console_whose_reader_went_away_is_a_retryable_channel_error() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    with open(write_end, "w", encoding="utf-8") as stream:
        with pytest.raises(ChannelError, match="cannot write to the console") as raised:
            ConsoleChannel(stream).send(make_message())
        assert raised.value.retryable is True
        with contextlib.suppress(BrokenPipeError):
            stream.close()


# --- JSON lines -----------------------------------------------------------------------------------


def test_jsonl_appends_one_object_per_alert_with_id_subject_body_payload(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "alerts.jsonl"  # the directory does not exist yet
    channel = channel_from_url(f"jsonl://{path}", make_settings())
    first = make_message()
    second = make_message(alert_id="chg-18-0000", subject="Hamas — captives_released: 50 (accepts)")
    channel.send(first)
    channel.send(second)
    raw = path.read_bytes()
    assert raw.endswith(b"\n")
    lines = raw.decode("utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [first.document(), second.document()]
    assert set(json.loads(lines[0])) == {"alert_id", "subject", "body", "payload"}


def test_jsonl_keeps_existing_lines(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    path.write_text('{"earlier": true}\n')
    JsonlChannel(path).send(make_message())
    assert path.read_text().splitlines()[0] == '{"earlier": true}'
    assert len(path.read_text().splitlines()) == 2


@pytest.mark.parametrize("shape", ["path_is_directory", "parent_is_file"])
def test_jsonl_unwritable_path_is_not_retryable(tmp_path: Path, shape: str) -> None:
    if shape == "path_is_directory":
        path = tmp_path / "alerts.jsonl"
        path.mkdir()
    else:
        (tmp_path / "afile").write_text("x")
        path = tmp_path / "afile" / "alerts.jsonl"
    with pytest.raises(ChannelError) as raised:
        JsonlChannel(path).send(make_message())
    assert raised.value.retryable is False
    assert str(raised.value).startswith(f"cannot append to {path}")


def test_jsonl_concurrent_processes_never_interleave_records(tmp_path: Path) -> None:
    path = tmp_path / "shared.jsonl"
    go = tmp_path / "go"
    writer = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from etl.alerts.channels import AlertMessage, JsonlChannel
        channel = JsonlChannel(Path({str(path)!r}))
        worker = sys.argv[1]
        while not Path({str(go)!r}).exists():  # start together, so that the appends overlap
            time.sleep(0.001)
        for i in range(150):
            channel.send(AlertMessage(f"w{{worker}}-{{i}}", "s", worker * 70_000, {{"i": i}}))
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", writer, str(n)], cwd=REPO) for n in range(4)]
    go.touch()
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(records) == 600
    assert {r["alert_id"] for r in records} == {f"w{n}-{i}" for n in range(4) for i in range(150)}
    assert all(r["body"] == r["alert_id"][1] * 70_000 for r in records)
