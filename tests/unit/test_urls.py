"""etl.ingest.urls: which feed URLs parley accepts, and when two links are the same article."""

from __future__ import annotations

import pytest

from etl.errors import UserError
from etl.ingest.urls import UrlError, canonical_url, check_feed_url, without_credentials

# --- check_feed_url ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://example.com/feed.xml", "http://example.com/feed.xml"),
        ("https://example.com/rss", "https://example.com/rss"),
        ("HTTPS://Example.COM/Feed", "HTTPS://Example.COM/Feed"),
        ("https://example.com:8443/rss?cat=middle-east", "https://example.com:8443/rss?cat=middle-east"),
        ("http://127.0.0.1:8000/feeds/demo.xml", "http://127.0.0.1:8000/feeds/demo.xml"),
        ("http://[::1]:8000/feed", "http://[::1]:8000/feed"),
        ("  https://example.com/feed\n", "https://example.com/feed"),
    ],
)
def test_check_feed_url_accepts_http_and_https_and_strips_whitespace(url: str, expected: str) -> None:
    assert check_feed_url(url) == expected


@pytest.mark.parametrize(
    ("url", "message_part"),
    [
        ("ftp://example.com/feed.xml", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("javascript:alert(1)", "only http and https"),
        ("data:text/xml,<rss/>", "only http and https"),
        ("//example.com/feed", "only http and https"),
        ("example.com/feed", "only http and https"),
        ("", "only http and https"),
        ("http://", "no host"),
        ("https:///feed.xml", "no host"),
        ("http:example.com/feed", "no host"),
        ("https://:443/feed", "no host"),
        ("http://example.com:99999/feed", "bad port"),
        ("http://example.com:-1/feed", "bad port"),
        ("http://example.com:http/feed", "bad port"),
        ("http://[::1/feed", "not a URL"),
        pytest.param("http://example.com:0/feed", "bad port"),
    ],
)
def test_check_feed_url_rejects_non_http_schemes_missing_hosts_and_bad_ports(
    url: str, message_part: str
) -> None:
    with pytest.raises(UrlError, match=message_part) as excinfo:
        check_feed_url(url)
    assert repr(url.strip()) in str(excinfo.value)  # the message quotes the offending URL


def test_url_error_is_a_user_error_and_a_value_error() -> None:
    # the CLI prints a UserError as one line; other callers catch ValueError
    assert issubclass(UrlError, UserError) and issubclass(UrlError, ValueError)


# --- canonical_url ----------------------------------------------------------------------------

CANONICAL_CASES = [
    # tracking parameters
    ("https://example.com/a?utm_source=rss&utm_medium=feed", "https://example.com/a"),
    ("https://example.com/a?UTM_Campaign=x&id=7", "https://example.com/a?id=7"),
    ("https://example.com/a?fbclid=abc&gclid=def&msclkid=g", "https://example.com/a"),
    ("https://example.com/a?FBCLID=abc&Ref=rss&id=7", "https://example.com/a?id=7"),
    ("https://example.com/a?at_medium=RSS&at_campaign=KARANGA", "https://example.com/a"),
    ("https://example.com/a?id=7&smid=tw-share&ref=rss", "https://example.com/a?id=7"),
    ("https://example.com/a?pk_campaign=x&mtm_source=y&hsa_ad=z&page=2", "https://example.com/a?page=2"),
    # fragments
    ("https://example.com/a#comments", "https://example.com/a"),
    ("https://example.com/a?id=1#top", "https://example.com/a?id=1"),
    # host prefixes and case
    ("https://www.example.com/a", "https://example.com/a"),
    ("https://m.example.com/a", "https://example.com/a"),
    ("https://amp.example.com/a", "https://example.com/a"),
    ("https://WWW.Example.COM/Path/Case", "https://example.com/Path/Case"),
    ("https://www.bbc.co.uk/news/1", "https://bbc.co.uk/news/1"),
    ("https://example.com./a", "https://example.com/a"),
    # a registrable domain that merely starts like a prefix keeps its name
    ("https://www.com/a", "https://www.com/a"),
    ("https://m.com/a", "https://m.com/a"),
    # query sorted, non-tracking parameters and blank values kept
    ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
    ("https://example.com/a?z=&a=1", "https://example.com/a?a=1&z="),
    ("https://example.com/search?q=gaza+truce", "https://example.com/search?q=gaza+truce"),
    # scheme: http and https are one
    ("http://example.com/a", "https://example.com/a"),
    ("HTTP://example.com/a", "https://example.com/a"),
    # ports: defaults dropped, others kept
    ("http://example.com:80/a", "https://example.com/a"),
    ("https://example.com:443/a", "https://example.com/a"),
    ("http://example.com:8080/a", "https://example.com:8080/a"),
    ("http://127.0.0.1:8765/articles/x.html?utm_source=rss", "https://127.0.0.1:8765/articles/x.html"),
    # paths: empty becomes "/", trailing slash dropped, case kept
    ("https://example.com", "https://example.com/"),
    ("https://example.com/", "https://example.com/"),
    ("https://example.com/news/", "https://example.com/news"),
    ("https://example.com/?utm_source=x", "https://example.com/"),
    # user info is not part of the article's identity
    ("https://user:secret@example.com/a", "https://example.com/a"),
    # surrounding whitespace from feeds
    ("  https://example.com/a \n", "https://example.com/a"),
    pytest.param("http://[::1]:8080/a", "https://[::1]:8080/a"),
    pytest.param("https://example.com//", "https://example.com/"),
]


@pytest.mark.parametrize(("url", "expected"), CANONICAL_CASES)
def test_canonical_url_normalises_links_to_one_form(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (
            "http://www.example.com/story?utm_source=rss&utm_medium=feed#top",
            "https://example.com/story",
        ),
        ("https://example.com/story?b=2&a=1", "https://example.com/story?a=1&b=2"),
        ("https://m.example.com/story/", "https://example.com:443/story"),
    ],
)
def test_canonical_url_makes_variants_of_one_article_equal(first: str, second: str) -> None:
    assert canonical_url(first) == canonical_url(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("https://example.com/story?id=1", "https://example.com/story?id=2"),
        ("https://example.com/Story", "https://example.com/story"),
        ("https://example.com:8080/story", "https://example.com/story"),
        ("https://news.example.com/story", "https://example.com/story"),
    ],
)
def test_canonical_url_keeps_different_articles_apart(first: str, second: str) -> None:
    assert canonical_url(first) != canonical_url(second)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/a",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "mailto:desk@example.com",
        "data:text/html,<p>x</p>",
        "/articles/relative.html",
        "example.com/a",
        "",
        "http://",
        "https:///a",
        "http://example.com:99999/a",
        "http://example.com:port/a",
        "http://[::1/a",
    ],
)
def test_canonical_url_returns_none_for_anything_not_http(url: str) -> None:
    assert canonical_url(url) is None


def _inputs_of(cases: list) -> list:
    """The input URLs of a (url, expected) table, keeping each case's known-bug marks."""
    return [
        pytest.param(case.values[0], marks=case.marks, id=case.id) if hasattr(case, "marks") else case[0]
        for case in cases
    ]


IDEMPOTENCE_CASES = [
    *_inputs_of(CANONICAL_CASES),
    "https://example.com/a?q=a%20b&r=%2B&s=%26",
    "https://example.com/a?flag",
    "https://example.com/a?a=2&a=1",
    "https://example.com/caf%C3%A9/",
    pytest.param("https://www.m.example.com/a"),
]


@pytest.mark.parametrize("url", IDEMPOTENCE_CASES)
def test_canonical_url_is_idempotent(url: str) -> None:
    once = canonical_url(url)
    assert once is not None
    assert canonical_url(once) == once


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:pw@host.example/feed", "http://user:****@host.example/feed"),
        ("https://u:p%40ss@host.example:8443/a?b=1#c", "https://u:****@host.example:8443/a?b=1#c"),
        ("http://token@host.example/feed", "http://token@host.example/feed"),
        ("https://host.example/feed?x=1", "https://host.example/feed?x=1"),
        ("http://user:pa@ss@host.example/", "http://user:****@host.example/"),
    ],
)
def test_a_password_in_a_feed_url_is_never_shown(url: str, shown: str) -> None:
    assert without_credentials(url) == shown


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/a\rb",
        "http://example.com/a\nSet-Cookie: x",
        "http://example.com/a\tb",
        "http://example.com/\x1b[2Jfeed",
        "http://example.com/\x00feed",
        "http://example.com/\x7ffeed",
        "http://example.com/\x85feed",
        "http://example.com/\u202efeed",
    ],
)
def test_check_feed_url_refuses_any_control_character(url: str) -> None:
    with pytest.raises(UrlError, match="control character") as excinfo:
        check_feed_url(url)
    assert not any(ch in str(excinfo.value) for ch in "\r\n\t\x1b\x00\x7f\x85\u202e")  # shown escaped


@pytest.mark.parametrize(
    "url", ["ftp://alice:s3cret@example.com/feed", "http://alice:s3cret@example.com/\nfeed"]
)
def test_a_refused_url_is_quoted_without_its_password(url: str) -> None:
    with pytest.raises(UrlError) as excinfo:
        check_feed_url(url)
    assert "s3cret" not in str(excinfo.value) and "alice:****@example.com" in str(excinfo.value)
