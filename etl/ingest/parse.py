"""Feed parsing: fetched bytes to a feed's title, language and entries, with feedparser.

Owns what is refused before feedparser reads anything (entity declarations, character references
no string can hold), what of a long feed feedparser reads at all (its newest items: see
:func:`newest_items`), the one-line reason a bozo feed carries, and when a body is no feed at all.
"""

from __future__ import annotations

import email.utils
import heapq
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser

from etl.errors import first_line
from etl.text import strip_tags

# A DOCTYPE that declares entities is how entity-expansion bombs are built; real feeds do not.
ENTITY_DECLARATION = re.compile(rb"<!DOCTYPE[^>\[]*\[[^\]]*<!ENTITY", re.IGNORECASE | re.DOTALL)
CHAR_REF = re.compile(rb"&#([xX][0-9a-fA-F]{1,8}|[0-9]{1,10});")
# The start and end tags of an RSS/RDF item or an Atom entry, with or without a namespace prefix.
ITEM_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s/>]")
ITEM_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?(?:item|entry)\s*>")
# An item's date elements, in the order feedparser prefers them (published, then updated, created).
ITEM_DATE = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?(pubDate|published|issued|updated|modified|date|created)(?:\s[^>]*)?>"
    rb"\s*([^<]{1,80}?)\s*<"
)
# "Mon, 20 Nov 2023 09:30:00 GMT" or "+0100": the RFC 822 date almost every RSS feed writes
RFC822 = re.compile(
    rb"(?:[A-Za-z]{3},\s*)?(\d{1,2})\s+([A-Za-z]{3})\s+(\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?"
    rb"\s*(?:GMT|UTC|UT|Z|([+-])(\d{2})(\d{2}))"
)
MONTHS = {name: n for n, name in enumerate((b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul",
          b"aug", b"sep", b"oct", b"nov", b"dec"), start=1)}  # fmt: skip
DATE_RANK = {b"pubDate": 0, b"published": 0, b"issued": 0, b"updated": 1, b"modified": 1, b"date": 1}


@dataclass
class ParsedFeed:
    title: str | None
    language: str | None
    entries: list[Any]
    problem: str | None
    """Why the feed is only partly usable (kept entries anyway), or None."""
    served: int = 0
    """how many items the document held (``entries`` may be only the newest of them)"""


class FeedRejected(Exception):
    """The body is not a usable feed; the message is a one-line reason."""


def parse_feed(body: bytes, url: str, content_type: str = "", max_entries: int | None = None) -> ParsedFeed:
    """Parse fetched bytes with feedparser (which never fetches anything itself here); with
    ``max_entries``, only the newest items of a longer document are parsed (:func:`newest_items`).

    Bozo feeds keep their good entries and carry the problem; a body with no feed at all, or an
    entity bomb, is rejected.
    """
    if ENTITY_DECLARATION.search(body[:65536]):
        raise FeedRejected("refused: XML declares entities (possible entity-expansion bomb)")
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    served = 0
    if max_entries is not None:
        body, served = newest_items(body, max_entries)
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
        served=max(served, len(entries)),
    )


def newest_items(body: bytes, limit: int) -> tuple[bytes, int]:
    """The document with only its ``limit`` newest items (or entries), and how many it held.

    feedparser builds a dict per entry, and parley a draft and its raw JSON: 180,000 tiny entries in
    a 10 MiB body took 1.4 GB. So a longer document is cut before feedparser sees it, in one pass over
    the bytes that keeps ``limit`` items at a time: an item is its start tag up to the next item's,
    dated by the first date element in it (RFC 822 or ISO 8601); undated items count as older than
    dated ones, and ties go to the earlier in the document. The header before the first item and
    everything after the last one's end tag are kept. The tags are found in the raw bytes, so a
    document in an encoding that is not ASCII-compatible (UTF-16) is not cut here (the caller still
    reads only the newest entries of what feedparser returns), nor is one that hides item tags in
    CDATA sections read right (it may come out malformed; feedparser's loose parser takes what it can).
    """
    if body.count(b"item") + body.count(b"entry") <= limit:  # cheap: most feeds stop here
        return body, 0
    starts = ITEM_START.finditer(body)
    first = next(starts, None)
    if first is None:
        return body, 0
    held = 0
    end_of_items = len(body)

    def items() -> Iterator[tuple[bool, float, int, int, int]]:
        """(undated, -time, index, start, end) of each item: the smallest are the newest. Item tags and
        date elements are each found in one scan of the body, walked side by side."""
        nonlocal held, end_of_items
        dates = ITEM_DATE.finditer(body, first.start())
        date = next(dates, None)
        start = first.start()
        following: re.Match[bytes] | None = first
        while following is not None:
            following = next(starts, None)
            if following is not None:
                end = following.start()
            else:
                last_end = ITEM_END.search(body, start)
                end = end_of_items = last_end.end() if last_end else len(body)
            when, rank = None, 3
            while date is not None and date.start() < end:
                name_rank = DATE_RANK.get(date.group(1), 2)
                if name_rank < rank and (parsed := _timestamp(date.group(2))) is not None:
                    when, rank = parsed, name_rank
                date = next(dates, None)
            yield when is None, -(when or 0.0), held, start, end
            held += 1
            start = end

    kept = heapq.nsmallest(limit, items())
    if held <= limit:
        return body, held
    kept.sort(key=lambda item: item[3])
    cut = b"".join(body[start:end] for *_, start, end in kept)
    return body[: first.start()] + cut + body[end_of_items:], held


def _timestamp(text: bytes) -> float | None:
    """An RFC 822 (RSS) or ISO 8601 (Atom) date as a POSIX timestamp; None if it is neither. The
    usual RFC 822 form is read by one regex: ``email.utils`` took most of the time of a long feed."""
    try:
        if match := RFC822.fullmatch(text):
            day, month, year, hour, minute, second, sign, zone_hours, zone_minutes = match.groups()
            offset = (int(zone_hours or 0) * 60 + int(zone_minutes or 0)) * (-1 if sign == b"-" else 1)
            when = datetime(
                int(year), MONTHS[month.lower()], int(day), int(hour), int(minute), int(second or 0),
                tzinfo=UTC,
            ) - timedelta(minutes=offset)  # fmt: skip
            return when.timestamp()
        value = text.decode("ascii", "replace")
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            when = datetime.fromisoformat(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return when.timestamp()
    except (OverflowError, ValueError, OSError, KeyError):
        return None


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
