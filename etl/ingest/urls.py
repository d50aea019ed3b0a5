"""URL rules: what a feed URL may be, and the canonical form that makes two links the same article."""

from __future__ import annotations

import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from etl.errors import UserError

# Query parameters that track the reader and never change what the page is.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "yclid",
        "_ga",
        "cmpid",
        "ocid",
        "smid",
        "smtyp",
        "ref",
        "ref_src",
        "referrer",
        "src",
        "traffic_source",
        "at_medium",
        "at_campaign",
        "at_link",
        "at_ptr",
        "at_custom1",
        "at_custom2",
        "at_custom3",
        "at_custom4",
        "at_format",
        "at_link_id",
        "at_link_origin",
        "at_link_type",
        "at_bbc_team",
        "itid",
        "taid",
    }
)
TRACKING_PREFIXES = ("utm_", "at_", "pk_", "mtm_", "hsa_")
HOST_PREFIXES = ("www.", "m.", "amp.")


class UrlError(UserError, ValueError):
    """A URL parley will not use: a user's error (a bad feed URL given at the CLI or in the seeds),
    and still a ValueError for the callers that catch it as one."""


def check_feed_url(url: str) -> str:
    """Return the URL stripped, or raise UrlError naming what is wrong with it (its password hidden).

    A control or format character anywhere (CR, LF, TAB, ESC, a bidi override …) is refused: such a
    URL is never a feed's address, and printed it could rewrite the terminal or a log line.
    """
    url = url.strip()
    shown = repr(without_credentials(url))
    for ch in url:
        if unicodedata.category(ch) in ("Cc", "Cf"):
            raise UrlError(f"URL contains control character {ch!r}: {shown}")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise UrlError(f"not a URL: {shown}") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise UrlError(f"only http and https URLs are fetched, not {shown}")
    if not parts.hostname:
        raise UrlError(f"URL has no host: {shown}")
    if any(ch.isspace() for ch in parts.netloc):
        raise UrlError(f"URL host contains white space: {shown}")
    try:
        port = parts.port
    except ValueError as exc:
        raise UrlError(f"bad port in URL: {shown}") from exc
    if port == 0:
        raise UrlError(f"bad port in URL: {shown}")
    return url


def canonical_url(url: str) -> str | None:
    """The form under which two links count as one article.

    Scheme and host are lower-cased, ``www.``/``m.``/``amp.`` dropped, default ports, fragments
    and tracking parameters removed, the remaining query sorted. ``http`` and ``https`` are one.
    Returns None for anything that is not an http(s) URL.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower().rstrip(".")
    stripped = True
    while stripped:
        stripped = False
        for prefix in HOST_PREFIXES:
            if host.startswith(prefix) and host.count(".") >= 2:
                host = host[len(prefix) :]
                stripped = True
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    if port and port not in (80, 443):
        host = f"{host}:{port}"
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in TRACKING_PARAMS and not k.lower().startswith(TRACKING_PREFIXES)
    )
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("https", host, path, urlencode(query), ""))


def without_credentials(url: str) -> str:
    """``url`` as parley shows it (terminal, logs, alerts, the report): a password in it as ``****``.

    A feed may need ``http://user:password@host/feed``; the URL is stored as given (it is how the feed
    is fetched), but the password is never printed.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.partition("://")[0] + "://…" if "@" in url else url
    netloc, hidden = netloc_without_password(parts.netloc)
    if not hidden:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def netloc_without_password(netloc: str) -> tuple[str, bool]:
    """``user:password@host`` as ``user:****@host``, and whether a password was hidden."""
    if "@" not in netloc:
        return netloc, False
    userinfo, _, hostport = netloc.rpartition("@")
    user, colon, _password = userinfo.partition(":")
    return (f"{user}:****@{hostport}" if colon else f"{user}@{hostport}"), bool(colon)
