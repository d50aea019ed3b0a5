"""``console://``: subject and body on stdout."""

from __future__ import annotations

import sys
from typing import TextIO
from urllib.parse import urlsplit

from etl.alerts.channels.base import AlertMessage, ChannelError
from etl.settings import ConfigError, Settings


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


def from_url(url: str, masked: str, settings: Settings) -> ConsoleChannel:
    """The channel of a ``console://`` URL, which names nothing more."""
    parts = urlsplit(url)
    if parts.netloc or parts.path or parts.query:
        raise ConfigError(f"bad alert URL {masked}: console:// takes no host, path or parameters")
    return ConsoleChannel()
