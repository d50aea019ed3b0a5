"""The meaning of the URLs in ``PARLEY_ALERT_URLS``: a scheme names a channel module, and a channel's
name is its URL with secrets masked."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import unquote, urlsplit, urlunsplit

from etl.alerts.channels import apprise, console, jsonl, smtp, webhook
from etl.alerts.channels.base import Channel
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
    build = _BUILDERS.get(scheme.lower())
    if build is None:
        if scheme.lower().startswith("webhook"):
            raise ConfigError(f"bad alert URL {masked}: a webhook is webhook+http:// or webhook+https://")
        return apprise.from_url(url)  # Apprise URLs are not always RFC 3986 (tgram://bot:token/chat)
    try:
        urlsplit(url).port  # noqa: B018 - parses the port, raising ValueError when it is not a number
    except ValueError as exc:
        raise ConfigError(f"bad alert URL {masked}: {exc}") from exc
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
