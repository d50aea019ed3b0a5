"""etl.alerts.channels against real receivers on loopback: an HTTP server that records webhook requests,
and an SMTP server (aiosmtpd) that records e-mail — for our smtplib channel and for Apprise's mailto."""

from __future__ import annotations

import email
import email.policy
import email.utils
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from etl.alerts.channels import AlertMessage, ChannelError, channel_from_url, channels_from_settings
from etl.settings import Settings

SECRET = "loopback-webhook-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {"webhook_secret": SECRET, "alert_timeout": 1.0, "connect_timeout": 1.0}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def make_message(alert_id: str = "chg-42-webhook") -> AlertMessage:
    return AlertMessage(
        alert_id=alert_id,
        subject="Israel — ceasefire_duration: 60 days → 42 days (proposes)",
        body="per Reuters, 2023-11-21: 'Israel proposed a 42-day pause in the fighting.'",
        payload={"actor": "israel", "issue": "ceasefire_duration", "old": "60 days", "new": "42 days"},
    )


# --- an HTTP receiver that records what it gets -----------------------------------------------------


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str  # http://127.0.0.1:port
    requests: list[Received] = field(default_factory=list)
    status: int = 200
    extra_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytes = b"ok"
    delay: float = 0.0


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.requests.append(
                Received("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            if state.delay:
                time.sleep(state.delay)
            self.send_response(state.status)
            for key, value in state.extra_headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(state.response_body)))
            self.end_headers()
            self.wfile.write(state.response_body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.block_on_close = False
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def webhook(receiver: Receiver, path: str = "/hooks/parley", **settings: object) -> Any:
    return channel_from_url(f"webhook+{receiver.url}{path}", make_settings(**settings))


# --- webhook ----------------------------------------------------------------------------------------


def test_webhook_delivers_json_signed_over_the_exact_body_with_alert_id_headers(receiver: Receiver) -> None:
    message = make_message()
    webhook(receiver, "/hooks/parley?team=gaza").send(message)

    [request] = receiver.requests
    assert request.path == "/hooks/parley?team=gaza"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.body) == {
        "alert_id": message.alert_id,
        "subject": message.subject,
        "body": message.body,
        "payload": message.payload,
    }
    expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["x-parley-signature"], expected)
    assert request.headers["x-parley-alert-id"] == message.alert_id
    assert request.headers["idempotency-key"] == message.alert_id


def test_webhook_signature_does_not_verify_with_another_secret(receiver: Receiver) -> None:
    webhook(receiver).send(make_message())
    [request] = receiver.requests
    forged = "sha256=" + hmac.new(b"other-key", request.body, hashlib.sha256).hexdigest()
    assert not hmac.compare_digest(request.headers["x-parley-signature"], forged)


def test_webhook_redelivery_carries_the_same_alert_id_and_bytes_so_receivers_can_dedupe(
    receiver: Receiver,
) -> None:
    channel = webhook(receiver)
    channel.send(make_message())
    channel.send(make_message())
    first, second = receiver.requests
    assert first.headers["x-parley-alert-id"] == second.headers["x-parley-alert-id"] == "chg-42-webhook"
    assert first.body == second.body
    assert first.headers["x-parley-signature"] == second.headers["x-parley-signature"]


def test_webhook_to_a_loopback_receiver_is_not_refused_like_a_feed_would_be(receiver: Receiver) -> None:
    # Feed fetching refuses 127.0.0.1 unless allowed; analysts' receivers are often internal.
    webhook(receiver, allowed_hosts=[]).send(make_message())
    assert len(receiver.requests) == 1


def test_webhook_userinfo_becomes_basic_auth_and_is_masked_in_the_name(receiver: Receiver) -> None:
    url = receiver.url.replace("http://", "webhook+http://bob:s3cret@") + "/in"
    channel = channel_from_url(url, make_settings())
    channel.send(make_message())
    assert "s3cret" not in channel.name
    assert receiver.requests[0].headers["authorization"] == "Basic Ym9iOnMzY3JldA=="  # bob:s3cret


@pytest.mark.parametrize("status", [500, 502, 503, 408, 429])
def test_webhook_server_error_or_throttling_is_retryable(receiver: Receiver, status: int) -> None:
    receiver.status = status
    receiver.response_body = b"receiver is\nbusy"
    with pytest.raises(ChannelError) as raised:
        webhook(receiver).send(make_message())
    assert raised.value.retryable is True
    assert str(raised.value) == f"webhook answered HTTP {status}: receiver is busy"


def test_webhook_retry_after_is_passed_on(receiver: Receiver) -> None:
    receiver.status = 429
    receiver.extra_headers = {"Retry-After": "120"}
    with pytest.raises(ChannelError) as raised:
        webhook(receiver).send(make_message())
    assert raised.value.retryable is True
    assert raised.value.retry_after == 120.0


def test_webhook_retry_after_as_http_date_becomes_seconds(receiver: Receiver) -> None:
    receiver.status = 503
    receiver.extra_headers = {"Retry-After": email.utils.formatdate(time.time() + 90, usegmt=True)}
    with pytest.raises(ChannelError) as raised:
        webhook(receiver).send(make_message())
    assert raised.value.retry_after is not None
    assert 80 <= raised.value.retry_after <= 91


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
def test_webhook_client_error_is_not_retryable(receiver: Receiver, status: int) -> None:
    receiver.status = status
    with pytest.raises(ChannelError) as raised:
        webhook(receiver).send(make_message())
    assert raised.value.retryable is False
    assert f"HTTP {status}" in str(raised.value)


def test_webhook_redirect_is_not_followed_and_not_retryable(receiver: Receiver) -> None:
    receiver.status = 307
    receiver.extra_headers = {"Location": "/elsewhere"}
    with pytest.raises(ChannelError, match="redirect to /elsewhere") as raised:
        webhook(receiver).send(make_message())
    assert raised.value.retryable is False
    assert [r.path for r in receiver.requests] == ["/hooks/parley"]


def test_webhook_receiver_down_is_retryable() -> None:
    port = free_port()  # nothing listens there
    channel = channel_from_url(f"webhook+http://127.0.0.1:{port}/in", make_settings())
    with pytest.raises(ChannelError, match="webhook unreachable") as raised:
        channel.send(make_message())
    assert raised.value.retryable is True
    assert "\n" not in str(raised.value)


def test_webhook_receiver_too_slow_is_a_retryable_timeout(receiver: Receiver) -> None:
    receiver.delay = 2.0
    started = time.monotonic()
    with pytest.raises(ChannelError, match="timed out") as raised:
        webhook(receiver, alert_timeout=0.3).send(make_message())
    assert raised.value.retryable is True
    assert time.monotonic() - started < 1.5


# --- SMTP -------------------------------------------------------------------------------------------


@dataclass
class Mailbox:
    port: int
    envelopes: list[Envelope] = field(default_factory=list)
    refuse_rcpt: str | None = None  # an SMTP reply such as "550 5.1.1 no such user"

    def messages(self) -> list[EmailMessage]:
        parsed = []
        for env in self.envelopes:
            assert isinstance(env.content, bytes)
            mail = email.message_from_bytes(env.content, policy=email.policy.default)
            assert isinstance(mail, EmailMessage)
            parsed.append(mail)
        return parsed


class RecordingHandler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if self.box.refuse_rcpt:
            return self.box.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.box.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def _authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"bot", b"right-pass")
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(port=free_port())
    controller = Controller(
        RecordingHandler(box),
        hostname="127.0.0.1",
        port=box.port,
        authenticator=_authenticate,
        auth_require_tls=False,
    )
    controller.start()
    yield box
    controller.stop()


def smtp_url(box: Mailbox, userinfo: str = "") -> str:
    return (
        f"smtp://{userinfo}127.0.0.1:{box.port}/"
        "?from=Parley <alerts@parley.example>&to=analyst@example.org,desk@example.org"
    )


def test_smtp_delivers_one_email_with_subject_body_and_alert_id(mailbox: Mailbox) -> None:
    message = make_message("chg-42-mail")
    channel_from_url(smtp_url(mailbox), make_settings()).send(message)

    [envelope] = mailbox.envelopes
    assert envelope.mail_from == "alerts@parley.example"
    assert envelope.rcpt_tos == ["analyst@example.org", "desk@example.org"]
    [mail] = mailbox.messages()
    assert mail["Subject"] == message.subject  # non-ASCII survives the header encoding
    assert mail["X-Parley-Alert-Id"] == "chg-42-mail"
    assert mail["Message-ID"] == "<chg-42-mail@parley.alerts>"
    assert mail["To"] == "analyst@example.org, desk@example.org"
    body = mail.get_body(("plain",))
    assert body is not None
    assert body.get_content().strip() == message.body


def test_smtp_login_with_the_url_credentials(mailbox: Mailbox) -> None:
    channel = channel_from_url(smtp_url(mailbox, "bot:right-pass@"), make_settings())
    channel.send(make_message())
    assert len(mailbox.envelopes) == 1
    assert "right-pass" not in channel.name


def test_smtp_wrong_password_is_not_retryable(mailbox: Mailbox) -> None:
    channel = channel_from_url(smtp_url(mailbox, "bot:wrong-pass@"), make_settings())
    with pytest.raises(ChannelError, match="answered 535") as raised:
        channel.send(make_message())
    assert raised.value.retryable is False
    assert "wrong-pass" not in str(raised.value)
    assert mailbox.envelopes == []


@pytest.mark.parametrize(
    ("reply", "retryable"),
    [("550 5.1.1 mailbox unavailable", False), ("450 4.2.1 mailbox busy, try later", True)],
)
def test_smtp_refused_recipients_follow_the_reply_class(
    mailbox: Mailbox, reply: str, retryable: bool
) -> None:
    mailbox.refuse_rcpt = reply
    with pytest.raises(ChannelError, match="refused every recipient") as raised:
        channel_from_url(smtp_url(mailbox), make_settings()).send(make_message())
    assert raised.value.retryable is retryable
    assert reply.split()[0] in str(raised.value)


def test_smtp_server_down_is_retryable() -> None:
    port = free_port()
    url = f"smtp://127.0.0.1:{port}/?from=alerts@parley.example&to=analyst@example.org"
    with pytest.raises(ChannelError, match="unreachable") as raised:
        channel_from_url(url, make_settings()).send(make_message())
    assert raised.value.retryable is True


def test_smtp_starttls_required_but_not_offered_is_not_retryable(mailbox: Mailbox) -> None:
    url = smtp_url(mailbox) + "&starttls=yes"
    with pytest.raises(ChannelError, match="STARTTLS") as raised:
        channel_from_url(url, make_settings()).send(make_message())
    assert raised.value.retryable is False
    assert mailbox.envelopes == []


# --- Apprise ----------------------------------------------------------------------------------------


def test_apprise_mailto_delivers_to_a_local_smtp_server(mailbox: Mailbox) -> None:
    url = (
        f"mailto://localhost:{mailbox.port}?smtp=127.0.0.1&mode=insecure"
        "&from=alerts@parley.example&to=analyst@example.org"
    )
    message = make_message("chg-42-apprise")
    channel_from_url(url, make_settings()).send(message)
    [envelope] = mailbox.envelopes
    assert envelope.rcpt_tos == ["analyst@example.org"]
    [mail] = mailbox.messages()
    assert mail["Subject"] == message.subject
    body = mail.get_body(("plain",))
    assert body is not None
    assert message.body in body.get_content()


def test_apprise_delivery_failure_is_retryable_with_apprise_reason() -> None:
    port = free_port()
    url = (
        f"mailto://localhost:{port}?smtp=127.0.0.1&mode=insecure"
        "&from=alerts@parley.example&to=analyst@example.org"
    )
    with pytest.raises(ChannelError, match=r"^apprise could not deliver: ") as raised:
        channel_from_url(url, make_settings()).send(make_message())
    assert raised.value.retryable is True
    assert "\n" not in str(raised.value)


# --- every channel at once, from the one setting -------------------------------------------------


def test_one_alert_reaches_every_channel_in_parley_alert_urls(
    receiver: Receiver, mailbox: Mailbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jsonl = tmp_path / "alerts.jsonl"
    settings = make_settings(
        alert_urls=f"console://,jsonl://{jsonl},webhook+{receiver.url}/in,{smtp_url(mailbox)}"
    )
    message = make_message("chg-7-all")
    for channel in channels_from_settings(settings):
        channel.send(message)

    assert capsys.readouterr().out == f"{message.subject}\n{message.body}\n\n"
    assert [json.loads(line)["alert_id"] for line in jsonl.read_text().splitlines()] == ["chg-7-all"]
    assert [r.headers["x-parley-alert-id"] for r in receiver.requests] == ["chg-7-all"]
    assert [m["X-Parley-Alert-Id"] for m in mailbox.messages()] == ["chg-7-all"]
