"""Feed entries: one feedparser entry normalised into an :class:`ArticleDraft`.

Owns an article's identity fields (GUID, canonical URL, the content hash that finds copies), the
entry's time (the date the feed claims, and the time parley believes: never later than the fetch,
give or take the clock skew), which entries of a long feed a poll reads (the newest), and the text
PostgreSQL will store: no NUL characters, no lone surrogates, keys that fit a B-tree index entry,
and the raw entry as plain JSON.
"""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from etl.ingest.parse import primary_language
from etl.ingest.urls import canonical_url
from etl.text import strip_tags
from models.enums import TextSource

MAX_KEY_BYTES = 2000  # B-tree entries are limited to ~2700 bytes; real GUIDs and URLs are far shorter
CLOCK_SKEW = timedelta(minutes=15)  # the default of settings.clock_skew_seconds


@dataclass
class ArticleDraft:
    """A feed entry, normalised, before its page is fetched."""

    guid: str
    url: str | None
    canonical_url: str | None
    title: str
    summary: str
    published_at: datetime | None
    """when parley believes it was published (see :func:`believed_time`)"""
    language: str | None
    raw_entry: dict[str, Any]
    text: str = ""
    text_source: TextSource = TextSource.SUMMARY
    page_status: str | None = None
    raw_html: bytes | None = None
    claimed_published_at: datetime | None = None
    """the date the feed gave, believed or not"""

    @property
    def content_hash(self) -> str:
        return content_hash(self.title, self.text)


def content_hash(title: str, text: str) -> str:
    """sha256 of the normalised main text (the title when there is no text)."""
    basis = text if text.strip() else title
    # whitespace runs as one space, ends trimmed: str.split() knows the same whitespace as re's \s
    # (tests/unit check every code point) and is several times faster on long texts
    normal = " ".join(basis.split()).casefold()
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


def clean_text(value: object) -> str:
    """A string PostgreSQL will store: no NUL characters, no lone surrogates."""
    if not isinstance(value, str):
        return ""
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def draft_from_entry(
    entry: Any,
    feed_language: str | None,
    *,
    fetched_at: datetime | None = None,
    skew: timedelta = CLOCK_SKEW,
) -> ArticleDraft | None:
    """Normalise one feedparser entry fetched at ``fetched_at`` (now if not given); None when it has
    nothing to identify it by."""
    link = clean_text(entry.get("link")).strip() or None
    title = clean_text(strip_tags(clean_text(entry.get("title", ""))))
    summary = clean_text(strip_tags(clean_text(entry.get("summary", "") or _first_content(entry))))
    guid = clean_text(entry.get("id")).strip() or link or ""
    if not guid:
        if not title and not summary:
            return None
        guid = "sha256:" + content_hash(title, summary)
    if len(guid.encode()) > MAX_KEY_BYTES:  # keys must fit a B-tree index entry
        guid = "sha256:" + hashlib.sha256(guid.encode()).hexdigest()
    claimed = entry_time(entry)
    canonical = canonical_url(link) if link else None
    if canonical is not None and len(canonical.encode()) > MAX_KEY_BYTES:
        canonical = None  # an absurdly long URL: identified by feed and GUID only
    return ArticleDraft(
        guid=guid,
        url=link,
        canonical_url=canonical,
        title=title,
        summary=summary,
        published_at=believed_time(claimed, fetched_at or datetime.now(UTC), skew),
        claimed_published_at=claimed,
        language=primary_language(entry.get("language")) or feed_language,
        raw_entry=_jsonable(entry),
        text=summary,
        text_source=TextSource.SUMMARY if summary else TextSource.TITLE,
    )


def entry_time(entry: Any) -> datetime | None:
    """When the entry was published (or else updated, or created), if it says so in a usable form."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed:
            try:
                return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
            except (OverflowError, ValueError, OSError):
                continue
    return None


def believed_time(claimed: datetime | None, fetched_at: datetime, skew: timedelta) -> datetime | None:
    """The publication time parley believes: the feed's date, unless it lies more than ``skew`` past
    the fetch, when the fetch time stands in for it (no article is published after it is read: a date
    in 2099 is a clock gone wrong or a trick to stay on top, and the ledger would keep its claim as
    the current position until then). None when the feed gave no date (the store's fetch time
    stands in later)."""
    if claimed is None:
        return None
    return fetched_at if claimed > fetched_at + skew else claimed


def newest_entries(entries: Sequence[Any], limit: int) -> list[Any]:
    """The ``limit`` newest entries by their date (as :func:`entry_time` reads it), in document order.

    Entries without a usable date count as older than any dated one, and among themselves (and among
    entries of the same date) the earlier in the document wins: feeds list their newest first."""
    if len(entries) <= limit:
        return list(entries)
    times = [entry_time(entry) for entry in entries]
    ranked = sorted(
        range(len(entries)),
        key=lambda i: (times[i] is None, -(t.timestamp()) if (t := times[i]) else 0.0, i),
    )
    return [entries[i] for i in sorted(ranked[:limit])]


def _first_content(entry: Any) -> str:
    for content in entry.get("content", []) or []:
        value = content.get("value")
        if value:
            return str(value)
    return ""


def _jsonable(value: Any) -> Any:
    """The entry as plain JSON (feedparser dicts hold struct_time and bytes)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items() if not str(k).endswith("_parsed")}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, int | float | bool) or value is None:
        return value
    if isinstance(value, bytes):
        return clean_text(value.decode("utf-8", "replace"))
    return clean_text(str(value))
