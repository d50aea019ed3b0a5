"""Feed parsing: fetched bytes to a feed's title, language and entries, with feedparser.

Owns what is refused before feedparser reads anything (entity declarations, character references
no string can hold), the one-line reason a bozo feed carries, and when a body is no feed at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import feedparser

from etl.errors import first_line
from etl.text import strip_tags

# A DOCTYPE that declares entities is how entity-expansion bombs are built; real feeds do not.
ENTITY_DECLARATION = re.compile(rb"<!DOCTYPE[^>\[]*\[[^\]]*<!ENTITY", re.IGNORECASE | re.DOTALL)
CHAR_REF = re.compile(rb"&#([xX][0-9a-fA-F]{1,8}|[0-9]{1,10});")


@dataclass
class ParsedFeed:
    title: str | None
    language: str | None
    entries: list[Any]
    problem: str | None
    """Why the feed is only partly usable (kept entries anyway), or None."""


class FeedRejected(Exception):
    """The body is not a usable feed; the message is a one-line reason."""


def parse_feed(body: bytes, url: str, content_type: str = "") -> ParsedFeed:
    """Parse fetched bytes with feedparser (which never fetches anything itself here).

    Bozo feeds keep their good entries and carry the problem; a body with no feed at all, or an
    entity bomb, is rejected.
    """
    if ENTITY_DECLARATION.search(body[:65536]):
        raise FeedRejected("refused: XML declares entities (possible entity-expansion bomb)")
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    body = CHAR_REF.sub(_safe_char_ref, body)
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=True, resolve_relative_uris=True)
    entries = list(parsed.entries)
    problem = None
    if parsed.bozo:
        exc = parsed.get("bozo_exception")
        problem = _bozo_reason(exc)
    if not parsed.version and not entries:
        kind = content_type.split(";")[0].strip() or "unknown content type"
        raise FeedRejected(f"not a feed: no RSS/Atom/RDF document found ({kind})")
    if problem and not entries and not parsed.feed.get("title"):
        raise FeedRejected(f"unusable feed: {problem}")
    feed = parsed.feed
    return ParsedFeed(
        title=strip_tags(feed.get("title", "")) or None,
        language=primary_language(feed.get("language")),
        entries=entries,
        problem=problem,
    )


def primary_language(tag: object) -> str | None:
    """The primary subtag of a language tag (``en-GB`` -> ``en``), or None for anything else."""
    if not isinstance(tag, str) or not tag.strip():
        return None
    primary = re.split(r"[-_]", tag.strip().lower())[0]
    return primary[:16] if primary.isalpha() else None


def _safe_char_ref(match: re.Match[bytes]) -> bytes:
    """A numeric character reference to NUL, a surrogate or past U+10FFFF becomes U+FFFD: feedparser
    would otherwise build strings that cannot be encoded (and raise) or stored."""
    digits = match.group(1)
    try:
        code = int(digits[1:], 16) if digits[:1] in (b"x", b"X") else int(digits)
    except ValueError:
        return match.group(0)
    if code == 0 or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
        return b"&#xFFFD;"
    return match.group(0)


def _bozo_reason(exc: object) -> str:
    name = type(exc).__name__
    if name == "CharacterEncodingOverride":
        return f"wrong declared encoding: {exc}"
    if name == "NonXMLContentType":
        return f"not served as XML: {exc}"
    if name == "SAXParseException":
        return f"malformed XML: {exc}"
    return f"{name}: {first_line(exc)}" if isinstance(exc, BaseException) else name
