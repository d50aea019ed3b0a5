"""What alerts let out of parley: error text scrubbed of secrets and cut, channel names and "bad alert
URL" errors without passwords or path tokens, only http(s) links; and how the outbox judges a failed
send (give up or wait, and how long)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from etl.alerts.channels import ChannelError, channel_from_url, mask_url
from etl.alerts.outbox import Failure, judge_failure, next_attempt_delay
from etl.alerts.redact import ERROR_LIMIT, scrub_secrets, web_url
from etl.settings import ConfigError, Settings

# --- scrubbing error text ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("webhook answered HTTP 400: token=abc123 is not valid", "abc123"),
        ("webhook answered HTTP 401: password=hunter2&user=bob", "hunter2"),
        ('webhook answered HTTP 400: {"api_key": "k-77x", "error": "bad"}', "k-77x"),
        ("HTTP 403: Authorization: Bearer eyJhbGciOi.eyJzdWIi.sig", "eyJhbGciOi"),
        ("HTTP 403: echo Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA"),
        ("unreachable: http://bot:s3cr3t@hooks.example.org/in", "s3cr3t"),
        (
            "HTTP 400: signature 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 bad",
            "9f86d081",
        ),
        ("HTTP 400: key xoxbAbC1234567890DefGhIjKlMn9 revoked", "xoxbAbC1234567890DefGhIjKlMn9"),
        ("HTTP 400: X-Api-Key: qwerty-9", "qwerty-9"),
    ],
)
def test_error_text_is_scrubbed_of_anything_that_looks_like_a_secret(text: str, secret: str) -> None:
    scrubbed = scrub_secrets(text)
    assert secret not in scrubbed
    assert "****" in scrubbed


@pytest.mark.parametrize(
    "text",
    [
        "webhook answered HTTP 400: bad request",
        "webhook unreachable: [Errno 111] Connection refused",
        "cannot append to /tmp/pytest-of-root/pytest-41/test_jsonl_unwritable_path_is_0/alerts.jsonl:"
        " Is a directory",
        "SMTP server mail.example.org answered 550 5.1.1 <analyst@example.org>: Recipient address rejected",
    ],
)
def test_ordinary_error_text_is_kept_as_it_is(text: str) -> None:
    assert scrub_secrets(text) == text


def test_error_text_is_cut_to_a_couple_hundred_characters_on_one_line() -> None:
    scrubbed = scrub_secrets("oops\n" + "x " * 5000)
    assert len(scrubbed) == ERROR_LIMIT and scrubbed.endswith("…") and "\n" not in scrubbed


def test_a_channel_error_is_stored_and_printed_scrubbed_and_cut() -> None:
    error = ChannelError("webhook answered HTTP 400: token=abc123 " + "y" * 1000, retryable=False)
    assert "abc123" not in str(error) and len(str(error)) == ERROR_LIMIT


# --- links ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://news.example/a?x=1", "https://news.example/a?x=1"),
        ("HTTP://news.example/a", "HTTP://news.example/a"),
        ("javascript:alert(1)", None),
        ("JavaScript:alert(1)", None),
        (" javascript:alert(1)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("vbscript:msgbox", None),
        ("//news.example/a", None),
        ("http://news.example/a\nSubject: injected", None),
        (None, None),
    ],
)
def test_only_http_and_https_links_leave_parley(url: str | None, kept: str | None) -> None:
    assert web_url(url) == kept


# --- channel names and bad alert URLs ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (
            "webhook+https://hooks.example/services/T000/B000/XXXXSECRET",
            "webhook+https://hooks.example/services/T000/B000/****",
        ),
        (
            "webhook+https://discord.example/api/webhooks/1174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js",
            "webhook+https://discord.example/api/webhooks/****/****",
        ),
        (
            "webhook+https://hooks.example.org/incoming-webhook/parley",
            "webhook+https://hooks.example.org/incoming-webhook/parley",
        ),
        ("webhook+http://127.0.0.1:8080/hooks/parley", "webhook+http://127.0.0.1:8080/hooks/parley"),
    ],
)
def test_token_looking_path_segments_are_masked_and_names_kept(url: str, masked: str) -> None:
    assert mask_url(url) == masked
    channel = channel_from_url(url, Settings(webhook_secret="k"))  # type: ignore[arg-type]
    assert channel.name == masked


@pytest.mark.parametrize(
    ("url", "pieces"),
    [
        (
            "smtp://alerts:Qz7/Vk9x@mail.example.org:587/?from=a@example.org&to=b@example.org",
            ["Qz7", "Vk9x"],
        ),
        ("smtp://alerts:Qz7#Vk9x@mail.example.org/?from=a@example.org&to=b@example.org", ["Qz7", "Vk9x"]),
        ("smtp://alerts:Qz7?Vk9x@mail.example.org/?from=a@example.org&to=b@example.org", ["Qz7", "Vk9x"]),
        ("smtp://alerts:1234/5678@mail.example.org/?from=a@example.org&to=b@example.org", ["1234", "5678"]),
        ("smtp://alerts:1234#5678@mail.example.org/?from=a@example.org&to=b@example.org", ["1234", "5678"]),
        ("smtp://alerts:1234?5678@mail.example.org/?from=a@example.org&to=b@example.org", ["1234", "5678"]),
        ("webhook+https://bob:Qz7/Vk9x@hooks.example.org/in", ["Qz7", "Vk9x"]),
        ("webhook+https://bob:Qz7@hooks.example.org:99999/in", ["Qz7"]),
    ],
)
def test_a_bad_alert_url_never_shows_a_piece_of_its_password(url: str, pieces: list[str]) -> None:
    with pytest.raises(ConfigError) as raised:
        channel_from_url(url, Settings(webhook_secret="k"))  # type: ignore[arg-type]
    message = str(raised.value)
    assert message.startswith("bad alert URL ") and "\n" not in message
    for piece in pieces:
        assert piece not in message, message


def test_a_password_with_a_slash_is_named_as_the_fault_with_its_fix() -> None:
    url = "smtp://alerts:pa/ss@mail.example.org/?from=a@example.org&to=b@example.org"
    with pytest.raises(ConfigError, match=r"^bad alert URL smtp://…: .*percent-encode"):
        channel_from_url(url, Settings())


# --- judging a failed send --------------------------------------------------------------------------

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
SETTINGS = Settings(alert_max_attempts=5, alert_max_age_hours=48.0)


@pytest.mark.parametrize(
    ("failure", "attempts", "waited", "verdict"),
    [
        (Failure("HTTP 400", retryable=False), 1, timedelta(0), "refused"),
        (Failure("HTTP 503", retryable=True), 1, timedelta(0), None),
        (Failure("HTTP 503", retryable=True), 4, timedelta(hours=47), None),
        (Failure("HTTP 503", retryable=True), 5, timedelta(0), "given up after 5 attempts"),
        (Failure("timed out", retryable=True), 2, timedelta(hours=48), "given up after 48 h"),
        (Failure("HTTP 429", retryable=True, retry_after=3600), 1, timedelta(0), None),
    ],
)
def test_a_failed_send_is_given_up_when_refused_or_past_its_attempts_or_age(
    failure: Failure, attempts: int, waited: timedelta, verdict: str | None
) -> None:
    assert judge_failure(SETTINGS, failure, attempts, NOW - waited, NOW) == verdict


@pytest.mark.parametrize(
    ("attempts", "retry_after", "seconds"),
    [
        (1, None, 60),  # the backoff
        (12, None, 21600),  # its cap
        (1, 3600.0, 3600),  # what the receiver asked for, not the backoff
        (12, 3600.0, 3600),  # nor its cap
        (1, 0.0, 0),
        (1, 1e12, 72 * 3600),  # never past the age at which the alert is given up
    ],
)
def test_the_next_attempt_waits_what_the_receiver_asked_else_the_backoff(
    attempts: int, retry_after: float | None, seconds: int
) -> None:
    assert next_attempt_delay(Settings(), attempts, retry_after) == timedelta(seconds=seconds)


@pytest.mark.parametrize("name", ["PARLEY_ALERT_MAX_ATTEMPTS", "PARLEY_ALERT_MAX_AGE_HOURS"])
def test_the_limits_are_settings_with_sane_defaults(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    assert (Settings().alert_max_attempts, Settings().alert_max_age_hours) == (12, 72.0)
    monkeypatch.setenv(name, "3")
    changed = Settings()
    assert 3 in (changed.alert_max_attempts, changed.alert_max_age_hours)
