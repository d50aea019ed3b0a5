"""The meaning of the URLs in ``PARLEY_ALERT_URLS``: a scheme names a channel module, and a channel's
name is its URL with secrets masked."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import unquote, urlsplit, urlunsplit

from etl.alerts.channels import apprise, console, jsonl, smtp, webhook
from etl.alerts.channels.base import Channel
from etl.ingest.urls import netloc_without_password
from etl.settings import ConfigError, Settings

# The schemes parley speaks itself, each to the function that builds its channel from the URL, the
# URL with secrets masked (for names and errors) and the settings. Any other scheme goes to Apprise.
_BUILDERS: dict[str, Callable[[str, str, Settings], Channel]] = {
    "console": console.from_url,
    "jsonl": jsonl.from_url,
    "webhook+http": webhook.from_url,
    "webhook+https": webhook.from_url,
    "smtp": smtp.from_url,
    "smtps": smtp.from_url,
}
# Query parameters whose values are masked in channel names and error messages.
_SECRET_PARAM = re.compile(r"pass|secret|token|key|auth|sig|cred|session", re.IGNORECASE)


# A path segment that looks like a token (``/services/T000/B000/XXXXSECRET``, a Discord webhook's key):
# eight or more token characters that are not a lowercase name such as ``hooks`` or ``incoming-webhook``.
_TOKEN_SEGMENT = re.compile(r"[A-Za-z0-9_\-]{8,}")
_NAME_SEGMENT = re.compile(r"[a-z]+(?:[-_][a-z]+)*")


def mask_url(url: str) -> str:
    """``url`` with its password, secret-looking query values (token, key, secret, …) and
    token-looking path segments as ``****``; ``scheme://…`` when the URL does not split where it
    should (a ``/``, ``?``, ``#`` or ``@`` in its password), so no piece of the password shows."""
    return _masked(url)[0]


def shown_url(url: str) -> str:
    """``url`` as given when it holds nothing to mask, else :func:`mask_url`'s form."""
    masked, hidden = _masked(url)
    return masked if hidden else url


def _masked(url: str) -> tuple[str, bool]:
    """The masked URL, and whether anything was hidden."""
    hidden_all = url.partition("://")[0] + "://…" if "://" in url else url.partition(":")[0] + "://…"
    try:
        parts = urlsplit(url)
    except ValueError:
        return hidden_all, True
    if misparsed(url):
        return hidden_all, True
    netloc, hidden = netloc_without_password(parts.netloc)
    segments = []
    for segment in parts.path.split("/"):
        secret = _looks_like_token(segment)
        segments.append("****" if secret else segment)
        hidden = hidden or secret
    pieces = []
    for piece in parts.query.split("&") if parts.query else []:
        key, eq, _value = piece.partition("=")
        secret = bool(eq and _SECRET_PARAM.search(unquote(key)))
        pieces.append(f"{key}=****" if secret else piece)
        hidden = hidden or secret
    masked = urlunsplit((parts.scheme, netloc, "/".join(segments), "&".join(pieces), parts.fragment))
    return masked, hidden


def _looks_like_token(segment: str) -> bool:
    text = unquote(segment)
    return bool(_TOKEN_SEGMENT.fullmatch(text)) and not _NAME_SEGMENT.fullmatch(text)


def misparsed(url: str) -> bool:
    """Whether ``url`` holds an ``@`` that did not end its user and password: a ``/``, ``?``, ``#`` or
    ``@`` in the password, not percent-encoded, moved the split and the password with it."""
    if "@" not in url:
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return True
    if "@" in parts.netloc:
        return False
    try:
        parts.port  # noqa: B018 - parses the port, raising ValueError when it is not a number
    except ValueError:
        return True
    keys = (piece.partition("=")[0] for piece in parts.query.split("&"))
    return "@" in parts.path or "@" in parts.fragment or any("@" in key for key in keys)


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
    build = _BUILDERS.get(scheme.lower())
    if build is None:
        if scheme.lower().startswith("webhook"):
            raise ConfigError(f"bad alert URL {masked}: a webhook is webhook+http:// or webhook+https://")
        return apprise.from_url(url)  # Apprise URLs are not always RFC 3986 (tgram://bot:token/chat)
    if misparsed(url):
        raise ConfigError(
            f"bad alert URL {masked}: its user or password holds a '/', '?', '#' or '@';"
            " percent-encode them (%2F, %3F, %23, %40)"
        )
    try:
        urlsplit(url).port  # noqa: B018 - parses the port, raising ValueError when it is not a number
    except ValueError:
        # the error would quote the port, which may be a piece of the password
        raise ConfigError(f"bad alert URL {masked}: the port is not a number from 0 to 65535") from None
    return build(url, masked, settings)


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
