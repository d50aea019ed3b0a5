"""Any URL Apprise understands (``mailto://``, ``mailtos://``, ``tgram://``, ``slack://``, …): the
channel for every scheme parley does not speak itself."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from etl.alerts.channels.base import AlertMessage, ChannelError
from etl.settings import ConfigError


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


def from_url(url: str) -> AppriseChannel:
    """The channel of a URL Apprise accepts; :class:`ConfigError` when it accepts none of it."""
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
