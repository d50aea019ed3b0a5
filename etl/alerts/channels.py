"""Alert channels: delivering one :class:`AlertMessage` to one destination.

This module owns the meaning of the URLs in ``PARLEY_ALERT_URLS``. It sends; it does not decide what to
send, when to retry or whether a message was already delivered — the outbox (:mod:`etl.alerts.outbox`) does.
A channel's :attr:`Channel.name` is its URL with secrets masked, stable across runs; a message's
``alert_id`` is what receivers dedupe on.

Schemes:

- ``console://`` — subject and body on stdout.
- ``jsonl:///abs/path/alerts.jsonl`` — one JSON object per alert, appended with a single ``O_APPEND``
  write and fsynced, so several processes can share the file.
- ``webhook+http://…`` / ``webhook+https://…`` — a JSON POST signed with ``PARLEY_WEBHOOK_SECRET``
  (``X-Parley-Signature: sha256=<hex HMAC-SHA256 of the body bytes>``). Internal receivers are normal,
  so unlike feed fetching no address is refused; only http and https are spoken.
- ``smtp://user:pass@host:port/?from=a@example.org&to=b@example.org[&starttls=yes]`` and ``smtps://…``
  (TLS from the start) — e-mail through the standard library's smtplib.
- anything else (``mailto://``, ``mailtos://``, ``tgram://``, ``slack://``, …) — handed to Apprise.

Channels hold only their configuration, so one channel may be used from several threads at once.
Every delivery failure is a :class:`ChannelError` with a one-line message and ``retryable`` saying
whether sending the same message again later can succeed without anyone changing configuration.
"""

from __future__ import annotations

import contextlib
import email.utils
import errno
import hashlib
import hmac
import json
import logging
import os
import re
import smtplib
import ssl
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol, TextIO
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

import httpx

from etl.settings import ConfigError, Settings

# Query parameters whose values are masked in channel names and error messages.
_SECRET_PARAM = re.compile(r"pass|secret|token|key|auth|sig|cred|session", re.IGNORECASE)
# HTTP statuses worth retrying besides 5xx: request timeout, too early, too many requests.
_RETRYABLE_HTTP = frozenset({408, 425, 429})
# An alert id travels in HTTP and e-mail headers: printable ASCII without spaces.
_ALERT_ID = re.compile(r"[!-~]{1,200}")
# RFC 5322 dot-atom text, usable as the left part of a Message-ID.
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_OWN_SCHEMES = frozenset({"console", "jsonl", "webhook+http", "webhook+https", "smtp", "smtps"})
_TRUE = frozenset({"1", "yes", "true", "on"})
_FALSE = frozenset({"0", "no", "false", "off"})


@dataclass(frozen=True)
class AlertMessage:
    """One alert, as every channel renders it.

    ``alert_id`` is stable across retries (receivers dedupe on it); ``subject`` is one line;
    ``body`` is plain text with the evidence; ``payload`` is the structured event, JSON-serialisable.
    A message that breaks these rules raises ``ValueError`` when it is built, not when it is sent.
    """

    alert_id: str
    subject: str
    body: str
    payload: dict[str, Any]

    def __post_init__(self) -> None:
        if not _ALERT_ID.fullmatch(self.alert_id):
            raise ValueError(
                f"alert_id must be 1-200 printable ASCII characters without spaces: {self.alert_id!r}"
            )
        if not self.subject.strip() or any(c in self.subject for c in "\r\n\x00"):
            raise ValueError(f"subject must be one non-empty line: {self.subject[:80]!r}")
        try:
            self.to_json_bytes()
        except (TypeError, ValueError) as exc:
            raise ValueError(f"payload of alert {self.alert_id} is not JSON-serialisable: {exc}") from exc

    def document(self) -> dict[str, Any]:
        """The JSON object the jsonl and webhook channels write."""
        return {
            "alert_id": self.alert_id,
            "subject": self.subject,
            "body": self.body,
            "payload": self.payload,
        }

    def to_json_bytes(self) -> bytes:
        """:meth:`document` as compact UTF-8 JSON with sorted keys: the same message, the same bytes."""
        text = json.dumps(
            self.document(), ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
        )
        return text.encode("utf-8")


class ChannelError(Exception):
    """A delivery that failed. ``str()`` is one line.

    ``retryable`` is True when the same message may go through later unchanged (connection refused,
    timeout, HTTP 5xx/408/429, SMTP 4xx, disk full); False when someone has to change something first
    (HTTP 4xx, SMTP 5xx, a refused login, a file that cannot be written). ``retry_after`` is the delay
    in seconds a receiver asked for (HTTP ``Retry-After``), when it did.
    """

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(_one_line(message))
        self.retryable = retryable
        self.retry_after = retry_after


class Channel(Protocol):
    """A destination for alerts."""

    @property
    def name(self) -> str:
        """The channel's URL with secrets masked: safe to log and to store as the outbox key."""
        ...

    def send(self, message: AlertMessage) -> None:
        """Deliver ``message`` once, or raise :class:`ChannelError`."""
        ...


# --- console ----------------------------------------------------------------------------------------


class ConsoleChannel:
    """``console://``: the message on a text stream (stdout unless one is given)."""

    name = "console://"

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def send(self, message: AlertMessage) -> None:
        # sys.stdout is looked up at send time so that a redirected stdout is honoured.
        stream = self._stream if self._stream is not None else sys.stdout
        try:
            # the body restates the subject when it already begins with it (parley's alerts do)
            text = message.body.rstrip()
            if not text.startswith(message.subject):
                text = f"{message.subject}\n{text}"
            stream.write(f"{text}\n\n")
            stream.flush()
        except (OSError, ValueError) as exc:  # ValueError: the stream was closed
            raise ChannelError(f"cannot write to the console: {exc}", retryable=True) from exc


# --- JSON lines -------------------------------------------------------------------------------------

# Errors that persist until someone fixes the path or its permissions.
_PERMANENT_ERRNOS = frozenset(
    {
        errno.EACCES,
        errno.EPERM,
        errno.EROFS,
        errno.EISDIR,
        errno.ENOTDIR,
        errno.EEXIST,
        errno.ENAMETOOLONG,
        errno.ELOOP,
    }
)


class JsonlChannel:
    """``jsonl:///abs/path``: one JSON object per line, appended atomically and fsynced.

    Each record is written with one ``write(2)`` on an ``O_APPEND`` descriptor, so concurrent
    processes never interleave inside a line.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = f"jsonl://{path}"

    def send(self, message: AlertMessage) -> None:
        line = message.to_json_bytes() + b"\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
            try:
                written = os.write(fd, line)
                if written != len(line):
                    # A torn record: end its line so the next record starts on a line of its own.
                    os.write(fd, b"\n")
                    raise ChannelError(
                        f"short write to {self.path} ({written} of {len(line)} bytes)", retryable=True
                    )
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise ChannelError(
                f"cannot append to {self.path}: {exc.strerror or exc}",
                retryable=exc.errno not in _PERMANENT_ERRNOS,
            ) from exc


# --- webhook ----------------------------------------------------------------------------------------


def webhook_signature(body: bytes, secret: str) -> str:
    """The ``X-Parley-Signature`` value for ``body``: ``sha256=`` and the hex HMAC-SHA256."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class WebhookChannel:
    """``webhook+http(s)://host/path``: a signed JSON POST; any 2xx answer means delivered.

    Headers: ``X-Parley-Alert-Id`` and ``Idempotency-Key`` (both the alert id) and
    ``X-Parley-Signature``, computed over the exact bytes sent. Redirects are not followed: a POST
    that is redirected is a misconfigured URL.
    """

    def __init__(
        self,
        target: str,
        *,
        name: str,
        secret: str,
        timeout: float,
        connect_timeout: float,
        user_agent: str,
    ) -> None:
        self.target = target
        self.name = name
        self._secret = secret
        self._timeout = httpx.Timeout(timeout, connect=min(connect_timeout, timeout))
        self._user_agent = user_agent

    def send(self, message: AlertMessage) -> None:
        body = message.to_json_bytes()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": self._user_agent,
            "X-Parley-Alert-Id": message.alert_id,
            "Idempotency-Key": message.alert_id,
            "X-Parley-Signature": webhook_signature(body, self._secret),
        }
        try:
            # trust_env=False: an HTTP(S)_PROXY meant for the outside world must not see internal receivers.
            with (
                httpx.Client(timeout=self._timeout, follow_redirects=False, trust_env=False) as client,
                client.stream("POST", self.target, content=body, headers=headers) as response,
            ):
                status = response.status_code
                if 200 <= status < 300:
                    return
                detail = _response_snippet(response)
                retry_after = _retry_after(response.headers.get("retry-after"))
        except httpx.TimeoutException as exc:
            raise ChannelError(f"webhook timed out ({type(exc).__name__})", retryable=True) from exc
        except httpx.TransportError as exc:
            raise ChannelError(f"webhook unreachable: {_first_line(exc)}", retryable=True) from exc
        reason = f"webhook answered HTTP {status}"
        if 300 <= status < 400:
            reason += f" (redirect to {response.headers.get('location', '?')}; give the final URL)"
        raise ChannelError(
            f"{reason}: {detail}" if detail else reason,
            retryable=status >= 500 or status in _RETRYABLE_HTTP,
            retry_after=retry_after,
        )


def _response_snippet(response: httpx.Response, limit: int = 200) -> str:
    """The start of an error response's body, for the error message; never the whole of it."""
    chunks: list[bytes] = []
    size = 0
    with contextlib.suppress(httpx.HTTPError):
        for chunk in response.iter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size >= limit:
                break
    text = b"".join(chunks)[:limit].decode("utf-8", errors="replace")
    return " ".join(text.split())


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


# --- SMTP (standard library) ------------------------------------------------------------------------


class SmtpChannel:
    """``smtp://`` / ``smtps://``: one plain-text e-mail per alert through smtplib.

    The Message-ID is derived from the alert id, and ``X-Parley-Alert-Id`` carries it, so a
    redelivered alert is recognisably the same message.
    """

    def __init__(
        self,
        *,
        name: str,
        host: str,
        port: int,
        sender: str,
        recipients: list[str],
        username: str | None,
        password: str | None,
        implicit_tls: bool,
        starttls: bool,
        timeout: float,
    ) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.sender = sender
        self.recipients = recipients
        self._username = username
        self._password = password
        self._implicit_tls = implicit_tls
        self._starttls = starttls
        self._timeout = timeout

    def build_email(self, message: AlertMessage) -> EmailMessage:
        mail = EmailMessage()
        mail["Subject"] = message.subject
        mail["From"] = self.sender
        mail["To"] = ", ".join(self.recipients)
        mail["Date"] = email.utils.formatdate(usegmt=True)
        mail["Message-ID"] = f"<{_message_id_part(message.alert_id)}@parley.alerts>"
        mail["X-Parley-Alert-Id"] = message.alert_id
        mail.set_content(message.body)
        return mail

    def send(self, message: AlertMessage) -> None:
        mail = self.build_email(message)
        try:
            smtp: smtplib.SMTP
            if self._implicit_tls:
                smtp = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self._timeout, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self._timeout)
            with smtp:
                if self._starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self._username:
                    smtp.login(self._username, self._password or "")
                refused = smtp.send_message(mail, from_addr=self.sender, to_addrs=self.recipients)
        except smtplib.SMTPNotSupportedError as exc:
            raise ChannelError(f"SMTP server {self.host}: {exc}", retryable=False) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise ChannelError(
                f"SMTP server {self.host} refused every recipient: {_refusals(exc.recipients)}",
                retryable=all(400 <= code < 500 for code in codes),
            ) from exc
        except smtplib.SMTPResponseException as exc:
            text = (
                exc.smtp_error.decode("utf-8", "replace")
                if isinstance(exc.smtp_error, bytes)
                else exc.smtp_error
            )
            raise ChannelError(
                f"SMTP server {self.host} answered {exc.smtp_code} {text}",
                retryable=400 <= exc.smtp_code < 500,
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:  # disconnects, refused connections, timeouts, TLS
            raise ChannelError(
                f"SMTP server {self.host}:{self.port} unreachable: {_first_line(exc) or type(exc).__name__}",
                retryable=True,
            ) from exc
        if refused:
            # Some recipients have it: sending again would give them a second copy.
            raise ChannelError(
                f"SMTP server {self.host} refused some recipients: {_refusals(refused)}", retryable=False
            )


def _refusals(refused: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(
        f"{rcpt} ({code} {msg.decode('utf-8', 'replace') if isinstance(msg, bytes) else msg})"
        for rcpt, (code, msg) in refused.items()
    )


def _message_id_part(alert_id: str) -> str:
    if _DOT_ATOM.fullmatch(alert_id):
        return alert_id
    return hashlib.sha256(alert_id.encode("utf-8")).hexdigest()[:32]


# --- Apprise ----------------------------------------------------------------------------------------


class AppriseChannel:
    """Any URL Apprise understands (``mailto://``, ``tgram://``, ``slack://``, …).

    ``notify()`` answering False is a retryable failure; its reason is the last warning Apprise logged.
    """

    def __init__(self, url: str, *, name: str) -> None:
        self._url = url
        self.name = name

    def send(self, message: AlertMessage) -> None:
        import apprise

        notifier = apprise.Apprise()
        if not notifier.add(self._url):
            raise ChannelError(f"apprise cannot load {self.name}", retryable=False)
        with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
            try:
                delivered = bool(notifier.notify(body=message.body, title=message.subject))
            except Exception as exc:  # a plugin bug is a failed delivery, never a crashed outbox run
                raise ChannelError(f"apprise failed: {type(exc).__name__}: {exc}", retryable=True) from exc
            logged = captured.getvalue()
        if not delivered:
            lines = [line for line in logged.splitlines() if line.strip()]
            reason = lines[-1] if lines else "notify() returned False"
            raise ChannelError(f"apprise could not deliver: {reason}", retryable=True)


def _apprise_channel(url: str) -> AppriseChannel:
    import apprise

    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        # Only the scheme is shown: where an Apprise URL keeps its tokens depends on the service.
        raise ConfigError(
            f"alert URL {url.partition('://')[0]}://… is not a known scheme (console, jsonl, "
            "webhook+http(s), smtp(s)) nor a URL Apprise accepts"
        )
    return AppriseChannel(url, name=_apprise_name(url, plugin.url(privacy=True)))


def _apprise_name(url: str, private_url: str) -> str:
    """Apprise's own masked URL (it knows which path parts are tokens), keeping only the query
    parameters the user wrote: Apprise appends its defaults, which would make the name unstable."""
    try:
        given = {key.lower() for key, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)}
    except ValueError:
        given = set()
    parts = urlsplit(private_url)
    kept = [
        piece
        for piece in parts.query.split("&")
        if piece and unquote(piece.partition("=")[0]).lower() in given
    ]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "&".join(kept), parts.fragment))


# --- URLs -------------------------------------------------------------------------------------------


def mask_url(url: str) -> str:
    """``url`` with its password and secret-looking query values (token, key, secret, …) as ``****``.

    Tokens inside a webhook's path (``/services/T000/B000/XXXX``) are not recognised; keep them in a
    query parameter or accept that the path is shown.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.partition(":")[0] + "://…"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}:****@{hostport}" if colon else f"{user}@{hostport}"
    pieces = []
    for piece in parts.query.split("&") if parts.query else []:
        key, eq, _value = piece.partition("=")
        pieces.append(f"{key}=****" if eq and _SECRET_PARAM.search(unquote(key)) else piece)
    return urlunsplit((parts.scheme, netloc, parts.path, "&".join(pieces), parts.fragment))


def channel_from_url(url: str, settings: Settings) -> Channel:
    """The channel an alert URL names; :class:`ConfigError` (one line, secrets masked) if it is bad."""
    url = url.strip()
    if not url:
        raise ConfigError("empty alert URL")
    masked = mask_url(url)
    scheme, sep, _rest = url.partition("://")
    if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.\-]*", scheme):
        raise ConfigError(
            f"alert URL {masked!r} has no scheme: use console://, jsonl:///path, webhook+https://host/path, "
            "smtp://host, or an Apprise URL"
        )
    scheme = scheme.lower()
    if scheme not in _OWN_SCHEMES:
        if scheme.startswith("webhook"):
            raise ConfigError(f"bad alert URL {masked}: a webhook is webhook+http:// or webhook+https://")
        return _apprise_channel(url)  # Apprise URLs are not always RFC 3986 (tgram://bot:token/chat)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parses the port, raising ValueError when it is not a number
    except ValueError as exc:
        raise ConfigError(f"bad alert URL {masked}: {exc}") from exc
    if scheme == "console":
        if parts.netloc or parts.path or parts.query:
            raise ConfigError(f"bad alert URL {masked}: console:// takes no host, path or parameters")
        return ConsoleChannel()
    if scheme == "jsonl":
        return _jsonl_channel(url, masked)
    if scheme in ("webhook+http", "webhook+https"):
        return _webhook_channel(url, masked, settings)
    return _smtp_channel(url, masked, settings)


def channels_from_settings(settings: Settings) -> list[Channel]:
    """Every channel in ``PARLEY_ALERT_URLS``, in order; an empty setting means no channels."""
    channels: list[Channel] = []
    seen: set[str] = set()
    for secret_url in settings.alert_urls:
        try:
            channel = channel_from_url(secret_url.get_secret_value(), settings)
        except ConfigError as exc:
            raise ConfigError(f"bad setting PARLEY_ALERT_URLS: {exc}") from exc
        if channel.name in seen:
            # The name keys the outbox: two channels with one name would share delivery state.
            raise ConfigError(f"bad setting PARLEY_ALERT_URLS: {channel.name} is listed twice")
        seen.add(channel.name)
        channels.append(channel)
    return channels


def _jsonl_channel(url: str, masked: str) -> JsonlChannel:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
        raise ConfigError(f"bad alert URL {masked}: a jsonl URL is an absolute path, jsonl:///abs/path.jsonl")
    if parts.query or parts.fragment:
        raise ConfigError(f"bad alert URL {masked}: a jsonl URL takes no parameters")
    path = unquote(parts.path)
    if path.endswith("/"):
        raise ConfigError(f"bad alert URL {masked}: the path names a directory, not a file")
    return JsonlChannel(Path(path))


def _webhook_channel(url: str, masked: str, settings: Settings) -> WebhookChannel:
    target = url.split("+", 1)[1]
    try:
        parsed = httpx.URL(target)
    except httpx.InvalidURL as exc:
        raise ConfigError(f"bad alert URL {masked}: {exc}") from exc
    if not parsed.host:
        raise ConfigError(f"bad alert URL {masked}: the webhook URL has no host")
    if settings.webhook_secret is None or not settings.webhook_secret.get_secret_value():
        raise ConfigError(f"alert URL {masked} needs PARLEY_WEBHOOK_SECRET to sign its requests")
    return WebhookChannel(
        str(parsed.copy_with(fragment=None)),
        name=masked,
        secret=settings.webhook_secret.get_secret_value(),
        timeout=settings.alert_timeout,
        connect_timeout=settings.connect_timeout,
        user_agent=settings.user_agent,
    )


def _smtp_channel(url: str, masked: str, settings: Settings) -> SmtpChannel:
    parts = urlsplit(url)
    implicit_tls = parts.scheme.lower() == "smtps"
    if not parts.hostname:
        raise ConfigError(f"bad alert URL {masked}: no SMTP host")
    params: dict[str, list[str]] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        params.setdefault(key.lower(), []).append(value)
    unknown = sorted(set(params) - {"from", "to", "starttls"})
    if unknown:
        raise ConfigError(f"bad alert URL {masked}: unknown parameter {unknown[0]!r} (from, to, starttls)")
    senders = params.get("from", [])
    if len(senders) != 1 or not _is_address(senders[0]):
        raise ConfigError(f"bad alert URL {masked}: give one sender address, ?from=alerts@example.org")
    recipients = [addr.strip() for value in params.get("to", []) for addr in value.split(",") if addr.strip()]
    if not recipients:
        raise ConfigError(f"bad alert URL {masked}: give recipients, &to=analyst@example.org[,…]")
    bad = [addr for addr in recipients if not _is_address(addr)]
    if bad:
        raise ConfigError(f"bad alert URL {masked}: {bad[0]!r} is not an e-mail address")
    starttls_values = params.get("starttls", ["no"])
    starttls_value = starttls_values[-1].lower()
    if starttls_value not in _TRUE | _FALSE:
        raise ConfigError(f"bad alert URL {masked}: starttls must be yes or no")
    starttls = starttls_value in _TRUE
    if starttls and implicit_tls:
        raise ConfigError(f"bad alert URL {masked}: smtps:// is TLS already; starttls applies to smtp://")
    return SmtpChannel(
        name=masked,
        host=parts.hostname,
        port=parts.port or (465 if implicit_tls else 25),
        sender=senders[0].strip(),
        recipients=recipients,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        implicit_tls=implicit_tls,
        starttls=starttls,
        timeout=settings.alert_timeout,
    )


def _is_address(value: str) -> bool:
    _name, addr = email.utils.parseaddr(value)
    local, at, domain = addr.rpartition("@")
    return bool(at and local and domain and not any(c.isspace() for c in addr))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def _one_line(text: str) -> str:
    return " ".join(text.split())
