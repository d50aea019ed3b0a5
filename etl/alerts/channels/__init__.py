"""Alert channels: delivering one :class:`AlertMessage` to one destination, one module per channel.

This package owns the meaning of the URLs in ``PARLEY_ALERT_URLS`` (:mod:`.urls`). It sends; it does
not decide what to send, when to retry or whether a message was already delivered — the outbox
(:mod:`etl.alerts.outbox`) does. A channel's :attr:`Channel.name` is its URL with secrets masked
(a password, secret-looking query values and path segments), stable across runs; a message's
``alert_id`` is what receivers dedupe on.

Schemes, each in a module of its own:

- ``console://`` (:mod:`.console`) — subject and body on stdout.
- ``jsonl:///abs/path/alerts.jsonl`` (:mod:`.jsonl`) — one JSON object per alert, appended with a
  single ``O_APPEND`` write and fsynced, so several processes can share the file.
- ``webhook+http://…`` / ``webhook+https://…`` (:mod:`.webhook`) — a JSON POST signed with
  ``PARLEY_WEBHOOK_SECRET``.
- ``smtp://user:pass@host:port/?from=a@example.org&to=b@example.org[&starttls=yes]`` and ``smtps://…``
  (:mod:`.smtp`) — e-mail through the standard library's smtplib.
- anything else (``mailto://``, ``mailtos://``, ``tgram://``, ``slack://``, …) — handed to Apprise
  (:mod:`.apprise`).

A new channel is a module here with its channel class and a ``from_url``, and one line in
:mod:`.urls`' table of schemes. Channels hold only their configuration, so one channel may be used
from several threads at once. Every delivery failure is a :class:`ChannelError` with a one-line
message and ``retryable`` saying whether sending the same message again later can succeed without
anyone changing configuration.
"""

from etl.alerts.channels.apprise import AppriseChannel
from etl.alerts.channels.base import AlertMessage, Channel, ChannelError
from etl.alerts.channels.console import ConsoleChannel
from etl.alerts.channels.jsonl import JsonlChannel
from etl.alerts.channels.smtp import SmtpChannel
from etl.alerts.channels.urls import channel_from_url, channels_from_settings, mask_url, shown_url
from etl.alerts.channels.webhook import WebhookChannel, webhook_signature

__all__ = [
    "AlertMessage",
    "AppriseChannel",
    "Channel",
    "ChannelError",
    "ConsoleChannel",
    "JsonlChannel",
    "SmtpChannel",
    "WebhookChannel",
    "channel_from_url",
    "channels_from_settings",
    "mask_url",
    "shown_url",
    "webhook_signature",
]
