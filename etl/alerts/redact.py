"""What alerts let out of parley: error text cut short and scrubbed of secrets, and only web links.

A receiver's error body, an SMTP reply or a feed's last error is outside text that may echo a
credential (``token=abc123``, ``Authorization: Bearer …``, a URL with a password): it is stored in
``alerts.last_error`` and printed, so it passes :func:`scrub_secrets` first. A link from an article
goes into an alert only when it is http(s) (:func:`web_url`): a ``javascript:`` or ``data:`` link
would run in whatever shows the alert.
"""

from __future__ import annotations

import re

ERROR_LIMIT = 240  # characters of an error kept: enough to act on, too little to carry a dump
MASK = "****"

_SECRET_NAMES = (
    r"access[_-]?token|refresh[_-]?token|api[_-]?key|apikey|client[_-]?secret|secret|token|password|passwd"
    r"|pwd|pass|auth|authorization|signature|sig|session(?:[_-]?id)?|credentials?|private[_-]?key|key"
)
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # a scheme and a credential after it: "Bearer abc", "Authorization: Basic dXNlcjpwdw=="
    (re.compile(r"\b(Bearer|Basic|Token|Digest)(\s+)[^\s,;\"']+", re.IGNORECASE), rf"\1\2{MASK}"),
    # name=value, name: value, "name": "value" (JSON), name='value'
    (
        re.compile(
            rf"""(?P<name>["']?\b[\w-]*(?:{_SECRET_NAMES})["']?)(?P<sep>\s*[=:]\s*)(?P<quote>["']?)"""
            rf"""(?!{re.escape(MASK)})[^\s"'&,;<>]+""",
            re.IGNORECASE,
        ),
        rf"\g<name>\g<sep>\g<quote>{MASK}",
    ),
    # a password in a URL: scheme://user:password@host
    (re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]*:)[^\s@/]+@"), rf"\1{MASK}@"),
    # long runs of hex, or of base64 mixing upper and lower case and digits: keys, tokens, signatures
    # (a "/" ends a run: file paths and URL paths are not tokens)
    (re.compile(r"\b[0-9a-fA-F]{32,}\b"), MASK),
    (
        re.compile(r"(?=[\w+-]*[0-9])(?=[\w+-]*[a-z])(?=[\w+-]*[A-Z])[A-Za-z0-9+_-]{24,}={0,2}", re.ASCII),
        MASK,
    ),
)


def scrub_secrets(text: str, limit: int = ERROR_LIMIT) -> str:
    """``text`` on one line with anything that looks like a secret as ``****``, cut to ``limit``
    characters (an ellipsis marks the cut)."""
    text = " ".join(text[: limit * 4].split())  # bounded work, whatever the receiver sent
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def web_url(url: str | None) -> str | None:
    """``url`` if it is an http(s) link, else None: only web links leave parley in alerts."""
    if url is None:
        return None
    url = url.strip()
    if not url.lower().startswith(("http://", "https://")) or any(c.isspace() or ord(c) < 32 for c in url):
        return None
    return url
