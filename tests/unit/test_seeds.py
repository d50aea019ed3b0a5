"""etl.seeds feed loading: the shipped feed list is valid, and a bad file fails with a message that
names the file, the entry and the field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from etl.ingest.urls import canonical_url
from etl.seeds import FeedSeed, SeedError, load_feeds, load_issues

SHIPPED_FEEDS = Path(__file__).resolve().parents[2] / "seeds" / "feeds.yaml"

GOOD_ENTRY = "  - url: https://news.example.com/rss\n    title: Example News\n    tags: [gaza-talks]\n"


# --- the shipped feed list --------------------------------------------------------------------


def test_shipped_feeds_yaml_loads() -> None:
    feeds = load_feeds(SHIPPED_FEEDS)
    assert 12 <= len(feeds) <= 20
    assert all(isinstance(feed, FeedSeed) for feed in feeds)


def test_shipped_feeds_are_https_titled_and_tagged_for_the_talks() -> None:
    for feed in load_feeds(SHIPPED_FEEDS):
        assert feed.url.startswith("https://"), feed.url
        assert feed.title, feed.url
        assert "gaza-talks" in feed.tags, feed.url


def test_shipped_feeds_have_no_duplicates_even_after_canonicalisation() -> None:
    # load_feeds only rejects byte-identical urls; www./http/query-order variants would slip through
    canonical = [canonical_url(feed.url) for feed in load_feeds(SHIPPED_FEEDS)]
    assert len(set(canonical)) == len(canonical)


# --- good files -------------------------------------------------------------------------------


def test_load_feeds_reads_url_title_and_tags(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "feeds:\n" + GOOD_ENTRY + "  - url: '  http://other.example.org/feed.xml '\n",
        encoding="utf-8",
    )
    feeds = load_feeds(path)
    assert feeds == [
        FeedSeed(url="https://news.example.com/rss", title="Example News", tags=["gaza-talks"]),
        FeedSeed(url="http://other.example.org/feed.xml", title=None, tags=[]),
    ]


def test_load_feeds_accepts_an_empty_list(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds: []\n", encoding="utf-8")
    assert load_feeds(path) == []


# --- bad files --------------------------------------------------------------------------------

# (case id, file text, fragments the one-line message must contain besides the file path)
BAD_FILES = [
    (
        "invalid-yaml",
        "feeds:\n  - url: https://news.example.com/rss\n    title: [unclosed\n",
        ["line 4 invalid YAML"],
    ),
    (
        "tab-indented-yaml",
        "feeds:\n\t- url: https://news.example.com/rss\n",
        ["line 2 invalid YAML"],
    ),
    ("empty-file", "", ["'feeds'"]),
    ("top-level-list", "- url: https://news.example.com/rss\n", ["'feeds'"]),
    ("feeds-not-a-list", "feeds:\n  url: https://news.example.com/rss\n", ["'feeds'"]),
    ("misspelt-top-level-key", "feed:\n" + GOOD_ENTRY, ["'feeds'"]),
    (
        "missing-url",
        "feeds:\n" + GOOD_ENTRY + "  - title: No Address\n    tags: [gaza-talks]\n",
        ["entry #2", "field 'url'", "required"],
    ),
    (
        "url-wrong-type",
        "feeds:\n  - url: 42\n",
        ["entry #1", "field 'url'", "string"],
    ),
    (
        "title-wrong-type",
        "feeds:\n  - url: https://news.example.com/rss\n    title: [a, b]\n",
        ["entry #1 (https://news.example.com/rss)", "field 'title'", "string"],
    ),
    (
        "tags-not-a-list",
        "feeds:\n" + GOOD_ENTRY + "  - url: https://b.example.com/rss\n    tags: gaza-talks\n",
        ["entry #2 (https://b.example.com/rss)", "field 'tags'", "list"],
    ),
    (
        "tag-wrong-type",
        "feeds:\n  - url: https://news.example.com/rss\n    tags: [gaza-talks, 7]\n",
        ["entry #1 (https://news.example.com/rss)", "field 'tags' item #2", "string"],
    ),
    (
        "unknown-field",
        "feeds:\n  - url: https://news.example.com/rss\n    titel: Typo\n",
        ["entry #1 (https://news.example.com/rss)", "field 'titel'", "not permitted"],
    ),
    (
        "entry-not-a-mapping",
        "feeds:\n" + GOOD_ENTRY + "  - https://b.example.com/rss\n",
        ["feeds.yaml: entry #2: ", "dictionary"],
    ),
    (
        "duplicate-url",
        "feeds:\n" + GOOD_ENTRY + "  - url: https://x.example.com/rss\n" + GOOD_ENTRY,
        ["entry #3 (https://news.example.com/rss)", "field 'url'", "duplicate"],
    ),
    (
        "duplicate-url-after-stripping",
        "feeds:\n  - url: https://news.example.com/rss\n  - url: ' https://news.example.com/rss'\n",
        ["entry #2 (https://news.example.com/rss)", "field 'url'", "duplicate"],
    ),
    (
        "ftp-url",
        "feeds:\n" + GOOD_ENTRY + "  - url: ftp://files.example.com/feed.xml\n",
        ["entry #2 (ftp://files.example.com/feed.xml)", "field 'url'", "only http and https"],
    ),
    (
        "file-url",
        "feeds:\n  - url: file:///etc/passwd\n",
        ["entry #1 (file:///etc/passwd)", "field 'url'", "only http and https"],
    ),
    (
        "url-without-host",
        "feeds:\n  - url: 'https:///feed.xml'\n",
        ["entry #1 (https:///feed.xml)", "field 'url'", "no host"],
    ),
    (
        "url-bad-port",
        "feeds:\n  - url: 'http://news.example.com:99999/rss'\n",
        ["entry #1 (http://news.example.com:99999/rss)", "field 'url'", "bad port"],
    ),
]


@pytest.mark.parametrize(
    ("text", "fragments"), [pytest.param(text, frags, id=cid) for cid, text, frags in BAD_FILES]
)
def test_bad_feeds_file_raises_seed_error_naming_file_entry_and_field(
    tmp_path: Path, text: str, fragments: list[str]
) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SeedError) as excinfo:
        load_feeds(path)
    message = str(excinfo.value)
    assert message.startswith(f"{path}:")
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_missing_feeds_file_raises_seed_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "feeds.yaml"
    with pytest.raises(SeedError, match="file not found") as excinfo:
        load_feeds(path)
    assert str(excinfo.value).startswith(f"{path}:")


def test_invalid_yaml_error_gives_the_line_of_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n" + GOOD_ENTRY + "  - url: 'https://b.example.com/rss\n", encoding="utf-8")
    with pytest.raises(SeedError) as excinfo:
        load_feeds(path)
    # the quote opened on line 5 is never closed; the scanner reports the end of the stream, line 6
    assert str(excinfo.value).startswith(f"{path}: line 6 invalid YAML:")


def test_non_utf8_feeds_file_raises_seed_error(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_bytes("feeds:\n  - url: https://news.example.com/rss\n    title: Caf\xe9\n".encode("latin-1"))
    with pytest.raises(SeedError, match=r"feeds\.yaml"):
        load_feeds(path)


def test_directory_as_feeds_file_raises_seed_error(tmp_path: Path) -> None:
    with pytest.raises(SeedError):
        load_feeds(tmp_path)


# --- issue patterns -----------------------------------------------------------------------------

ISSUE = """issues:
  - key: hostages_released
    label: Hostages released
    value_type: count
    vocab:
      hostage: {hostage}
    patterns:
      - '(?P<n>{{num}})\\s+{{hostage}}'
      - {pattern}
"""


def write_issues(tmp_path: Path, pattern: str, hostage: str = "'(?:hostages?|captives?)'") -> Path:
    path = tmp_path / "issues.yaml"
    path.write_text(ISSUE.format(pattern=pattern, hostage=hostage), encoding="utf-8")
    return path


def test_shipped_issue_patterns_all_compile() -> None:
    assert load_issues(SHIPPED_FEEDS.parent / "issues.yaml")


@pytest.mark.parametrize(
    ("pattern", "hostage", "field", "message"),
    [
        ("'*bad('", "'(?:hostages?)'", "field 'patterns' item #2", "not a valid regex: nothing to repeat"),
        ("'a{99999999999}'", "'(?:hostages?)'", "field 'patterns' item #2", "repetition number is too large"),
        ("'{count} hostages'", "'(?:hostages?)'", "field 'patterns' item #2", "unknown fragment {count}"),
        # a fragment is checked as the patterns use it, so a bad one is named, used or not
        ("'freed'", "'(?:hostages?'", "field 'vocab.hostage'", "not a valid regex: missing )"),
    ],
)
def test_a_bad_issue_pattern_is_refused_at_load_naming_file_entry_and_field(
    tmp_path: Path, pattern: str, hostage: str, field: str, message: str
) -> None:
    with pytest.raises(SeedError) as raised:
        load_issues(write_issues(tmp_path, pattern, hostage))
    text = str(raised.value)
    assert text.startswith(f"{tmp_path / 'issues.yaml'}: entry #1 (hostages_released) {field}: "), text
    assert message in text


def test_issue_seeds_load_without_spacy() -> None:
    # the DAG processor and `parley seed` read the seeds; only extraction may pay for spaCy
    code = (
        "import sys; from pathlib import Path; from etl.seeds import load_issues;"
        f"load_issues(Path({str(SHIPPED_FEEDS.parent / 'issues.yaml')!r})); assert 'spacy' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=SHIPPED_FEEDS.parents[1])
