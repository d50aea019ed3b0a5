"""``smtp://user:pass@host:port/?from=a@example.org&to=b@example.org[&starttls=yes]`` and ``smtps://…``
(TLS from the start): e-mail through the standard library's smtplib."""

from __future__ import annotations

import email.utils
import hashlib
import re
import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import parse_qsl, unquote, urlsplit

from etl.alerts.channels.base import AlertMessage, ChannelError
from etl.errors import first_line
from etl.settings import ConfigError, Settings

# RFC 5322 dot-atom text, usable as the left part of a Message-ID.
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_TRUE = frozenset({"1", "yes", "true", "on"})
_FALSE = frozenset({"0", "no", "false", "off"})


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
                f"SMTP server {self.host}:{self.port} unreachable: {first_line(exc)}", retryable=True
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


def from_url(url: str, masked: str, settings: Settings) -> SmtpChannel:
    """The channel of an ``smtp://`` or ``smtps://`` URL: its sender, recipients and TLS checked."""
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
