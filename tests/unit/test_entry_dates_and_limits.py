"""Issue 16, items 2 and 8 without a database: which publication time parley believes, and which
entries of a long feed a poll reads (the newest), both before feedparser (``newest_items``, on the
bytes) and after it (``newest_entries``)."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime, timedelta

import feedparser
import pytest

from etl.ingest.entries import CLOCK_SKEW, believed_time, draft_from_entry, newest_entries
from etl.ingest.parse import newest_items, parse_feed
from etl.settings import Settings

FETCHED = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("claimed", "believed"),
    [
        (None, None),  # no date: the store's fetch time stands in later, as before
        (datetime(2023, 11, 20, tzinfo=UTC), datetime(2023, 11, 20, tzinfo=UTC)),
        (FETCHED, FETCHED),
        (FETCHED + timedelta(minutes=15), FETCHED + timedelta(minutes=15)),  # within the clock skew
        (FETCHED + timedelta(minutes=15, seconds=1), FETCHED),
        (datetime(2099, 12, 31, tzinfo=UTC), FETCHED),
    ],
)
def test_a_date_past_the_fetch_beyond_the_clock_skew_is_replaced_by_the_fetch_time(
    claimed: datetime | None, believed: datetime | None
) -> None:
    assert believed_time(claimed, FETCHED, CLOCK_SKEW) == believed


def test_the_clock_skew_defaults_to_the_15_minutes_migration_0010_corrected_rows_with() -> None:
    assert timedelta(seconds=Settings().clock_skew_seconds) == CLOCK_SKEW == timedelta(minutes=15)


def rss(items: list[tuple[str, datetime | None]], *, prefix: str = "") -> bytes:
    def item(guid: str, when: datetime | None) -> str:
        date = f"<pubDate>{email.utils.format_datetime(when)}</pubDate>" if when else ""
        guid_tag = f"<guid isPermaLink='false'>{guid}</guid>"
        return f"<{prefix}item><title>story {guid}</title>{guid_tag}{date}</{prefix}item>\n"

    body = "".join(item(guid, when) for guid, when in items)
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>{body}</channel></rss>'.encode()
    )


def atom(items: list[tuple[str, datetime]]) -> bytes:
    entries = "".join(
        f"<entry><id>{guid}</id><title>story {guid}</title><updated>2020-01-01T00:00:00Z</updated>"
        f"<published>{when.isoformat()}</published></entry>"
        for guid, when in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Wire</title><id>urn:wire</id>{entries}</feed>"
    ).encode()


def test_a_feed_dated_2099_keeps_its_claimed_date_beside_the_fetch_time() -> None:
    future = datetime(2099, 12, 31, 9, tzinfo=UTC)
    [entry] = feedparser.parse(rss([("g1", future)])).entries

    draft = draft_from_entry(entry, "en", fetched_at=FETCHED)

    assert draft is not None
    assert (draft.claimed_published_at, draft.published_at) == (future, FETCHED)


def day(n: int) -> datetime:
    return datetime(2023, 11, n, 12, tzinfo=UTC)


# newest first by date; undated count as older than any dated one; ties: the earlier in the document
MIXED = [("a", day(3)), ("b", None), ("c", day(9)), ("d", day(5)), ("e", day(9)), ("f", None), ("g", day(1))]


def test_newest_entries_are_the_latest_dated_in_document_order() -> None:
    entries = feedparser.parse(rss(MIXED)).entries

    assert [e.id for e in newest_entries(entries, 3)] == ["c", "d", "e"]
    assert [e.id for e in newest_entries(entries, 6)] == ["a", "b", "c", "d", "e", "g"]
    assert [e.id for e in newest_entries(entries, 7)] == [guid for guid, _ in MIXED]


def test_undated_entries_are_kept_in_document_order() -> None:
    entries = feedparser.parse(rss([(str(n), None) for n in range(10)])).entries

    assert [e.id for e in newest_entries(entries, 4)] == ["0", "1", "2", "3"]


@pytest.mark.parametrize("limit", [1, 3, 6])
def test_a_long_document_is_cut_to_the_same_entries_before_feedparser(limit: int) -> None:
    body = rss(MIXED)

    cut, held = newest_items(body, limit)
    parsed = feedparser.parse(cut)

    assert held == len(MIXED)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.feed.title == "Wire"
    expected = [e.id for e in newest_entries(feedparser.parse(body).entries, limit)]
    assert [e.id for e in parsed.entries] == expected


def test_namespaced_and_atom_items_are_cut_too() -> None:
    prefixed = rss(MIXED, prefix="rss:").replace(b"<rss ", b'<rss xmlns:rss="http://purl.org/rss/1.0/" ')
    cut, held = newest_items(prefixed, 2)
    assert (held, cut.count(b"<rss:item>")) == (len(MIXED), 2)

    entries = [(f"e{n}", day(n)) for n in range(1, 21)]
    cut, held = newest_items(atom(entries), 5)
    parsed = feedparser.parse(cut)
    assert held == 20 and not parsed.bozo
    assert [e.id for e in parsed.entries] == [f"e{n}" for n in range(16, 21)]  # by published, not updated


def test_a_document_within_the_limit_is_left_as_it_is() -> None:
    body = rss(MIXED)

    assert newest_items(body, len(MIXED)) == (body, len(MIXED))
    assert newest_items(body, 100) == (body, 0)  # too few tags to count: not even scanned


def test_parse_feed_says_how_many_items_the_document_held() -> None:
    body = rss([(str(n), day(1 + n % 28)) for n in range(1000)])

    parsed = parse_feed(body, "http://127.0.0.1/feed.xml", "application/rss+xml", max_entries=10)

    assert parsed.served == 1000 and len(parsed.entries) == 10
    # the 28th is the latest day, 35 items have it: the first ten of them in the document
    assert [e.id for e in parsed.entries] == [str(n) for n in range(27, 1000, 28)][:10]


@pytest.mark.parametrize(
    "date",
    [
        "Mon, 20 Nov 2023 09:30:00 GMT",
        "20 Nov 2023 09:30 +0100",
        "Mon, 20 Nov 2023 09:30:00 -0530",
        "Mon, 20 Nov 2023 09:30:00 EST",
        "Fri, 31 Dec 2099 23:59:59 +0000",
        "2023-11-20T09:30:00Z",
        "2023-11-20T09:30:00+01:00",
    ],
)
def test_items_are_dated_as_email_utils_and_iso_8601_read_their_dates(date: str) -> None:
    # every date above is later than 1 November 2023: read right, it makes "x" the newest item
    body = rss([("old", day(1)), ("x", None), ("y", None)]).replace(
        b"<guid isPermaLink='false'>x</guid>",
        f"<guid isPermaLink='false'>x</guid><pubDate>{date}</pubDate>".encode(),
    )

    cut, _ = newest_items(body, 1)

    assert [e.id for e in feedparser.parse(cut).entries] == ["x"]


@pytest.mark.parametrize("date", ["Mon, 31 Feb 2023 09:30:00 GMT", "yesterday", "2023-13-01T00:00:00Z"])
def test_an_item_with_an_unreadable_date_counts_as_undated(date: str) -> None:
    body = rss([("undated", None), ("bad", None), ("dated", day(1))]).replace(
        b"<guid isPermaLink='false'>bad</guid>",
        f"<guid isPermaLink='false'>bad</guid><pubDate>{date}</pubDate>".encode(),
    )

    cut, _ = newest_items(body, 2)

    assert [e.id for e in feedparser.parse(cut).entries] == ["undated", "dated"]
