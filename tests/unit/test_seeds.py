"""etl.seeds feed loading: the shipped feed list is valid, and a bad file fails with a message that
names the file, the entry and the field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from etl.ingest.urls import canonical_url
from etl.seeds import FeedSeed, SeedError, load_feeds, load_negotiation, load_reference

SHIPPED_SEEDS = Path(__file__).resolve().parents[2] / "seeds"
SHIPPED_FEEDS = SHIPPED_SEEDS / "feeds.yaml"

GOOD_ENTRY = "  - url: https://news.example.com/rss\n    title: Example News\n    tags: [gaza-talks]\n"


# --- the shipped feed list --------------------------------------------------------------------


def test_shipped_feeds_yaml_loads() -> None:
    feeds = load_feeds(SHIPPED_FEEDS)
    assert 12 <= len(feeds) <= 40
    assert all(isinstance(feed, FeedSeed) for feed in feeds)


def test_shipped_feeds_are_https_titled_and_tagged_for_the_talks_of_each_negotiation() -> None:
    talks = {f"{n.key}-talks" for n in load_reference(SHIPPED_SEEDS).negotiations}
    carrying: dict[str, int] = dict.fromkeys(talks, 0)
    for feed in load_feeds(SHIPPED_FEEDS):
        assert feed.url.startswith("https://"), feed.url
        assert feed.title, feed.url
        tagged = talks & set(feed.tags)
        assert tagged, feed.url  # every feed carries some negotiation's talks
        for tag in tagged:
            carrying[tag] += 1
    assert min(carrying.values()) >= 6, carrying  # and every negotiation has outlets to compare


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

ISSUE = """key: talks
label: Talks
issues:
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
    path = tmp_path / "talks.yaml"
    path.write_text(ISSUE.format(pattern=pattern, hostage=hostage), encoding="utf-8")
    return path


# the issues of codebook v2, per negotiation (../shared/CODEBOOK.md)
CODEBOOK_ISSUES = {
    "gaza": {
        "ceasefire_duration", "ceasefire_extension", "permanent_ceasefire", "hostages_released",
        "prisoners_released", "exchange_ratio", "release_categories", "withdrawal", "aid_trucks_per_day",
        "guarantees", "return_of_displaced",
    },
    "ukraine": {
        "ceasefire_duration", "ceasefire", "energy_truce", "territorial_concessions", "crimea_recognition",
        "security_guarantees", "nato_membership", "foreign_troops", "sanctions_relief", "prisoner_exchange",
        "army_cap", "leaders_meeting", "ukraine_elections", "frozen_assets",
    },
}  # fmt: skip


def test_shipped_negotiations_load_with_their_codebook_issues_and_patterns_that_compile() -> None:
    reference = load_reference(SHIPPED_SEEDS)
    issues = {n.key: {i.key for i in n.issues} for n in reference.negotiations}
    assert issues == CODEBOOK_ISSUES
    assert all(n.label and n.parties and n.about.actors for n in reference.negotiations)
    actors = {a.id for a in reference.actors}
    assert {"israel", "hamas", "united_states", "russia", "ukraine"} <= actors


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
        load_negotiation(write_issues(tmp_path, pattern, hostage))
    text = str(raised.value)
    assert text.startswith(f"{tmp_path / 'talks.yaml'}: entry #1 (hostages_released) {field}: "), text
    assert message in text


def test_issue_seeds_load_without_spacy() -> None:
    # the DAG processor and `parley seed` read the seeds; only extraction may pay for spaCy
    code = (
        "import sys; from pathlib import Path; from etl.seeds import load_reference;"
        f"load_reference(Path({str(SHIPPED_SEEDS)!r})); assert 'spacy' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=SHIPPED_FEEDS.parents[1])


# --- negotiations: one file each, checked against actors.yaml -------------------------------------

ACTORS = """actors:
  - id: aqualia
    name: Aqualia
    aliases: [Aqualia]
  - id: brinmark
    name: Brinmark
    aliases: [Brinmark]
    scoped_aliases:
      water: [Brin delegation]
"""

TALKS = """key: water
label: Upper Rell water talks
parties: [aqualia, brinmark]
about:
  actors: [aqualia, brinmark]
  words: [Rell]
issues:
  - key: flow_share
    label: Share of the river's flow
    value_type: number
    patterns: ['(?P<n>{num}) per ?cent of the flow']
"""


def write_reference(
    root: Path, actors: str = ACTORS, talks: str | None = TALKS, name: str = "water.yaml"
) -> Path:
    """A seeds folder with actors.yaml and, unless ``talks`` is None, one negotiation file ``name``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "actors.yaml").write_text(actors, encoding="utf-8")
    if talks is not None:
        (root / "negotiations").mkdir(exist_ok=True)
        (root / "negotiations" / name).write_text(talks, encoding="utf-8")
    return root


def one_line_error(seeds: Path) -> str:
    with pytest.raises(SeedError) as raised:
        load_reference(seeds)
    message = str(raised.value)
    assert "\n" not in message
    return message


def test_a_negotiation_of_a_seeds_folder_loads_with_its_issues_and_scoped_aliases(tmp_path: Path) -> None:
    reference = load_reference(write_reference(tmp_path))
    [water] = reference.negotiations
    assert (water.key, water.label, water.parties) == (
        "water",
        "Upper Rell water talks",
        ["aqualia", "brinmark"],
    )
    assert [i.key for i in water.issues] == ["flow_share"]
    assert reference.actors[1].scoped_aliases == {"water": ["Brin delegation"]}
    assert reference.elsewhere == []  # elsewhere.yaml is optional


def test_a_negotiation_whose_key_is_not_its_file_name_is_refused(tmp_path: Path) -> None:
    seeds = write_reference(tmp_path, name="rell.yaml")
    message = one_line_error(seeds)
    assert (
        message
        == f"{seeds / 'negotiations' / 'rell.yaml'}: field 'key': 'water' is not the file's name 'rell'"
    )


@pytest.mark.parametrize(
    ("talks", "field", "actor"),
    [
        (
            TALKS.replace("parties: [aqualia, brinmark]", "parties: [aqualia, brinmrak]"),
            "parties",
            "brinmrak",
        ),
        (
            TALKS.replace("actors: [aqualia, brinmark]", "actors: [aqualia, lowland]"),
            "about.actors",
            "lowland",
        ),
    ],
)
def test_an_unknown_actor_in_a_negotiation_is_refused_naming_file_and_field(
    tmp_path: Path, talks: str, field: str, actor: str
) -> None:
    seeds = write_reference(tmp_path, talks=talks)
    message = one_line_error(seeds)
    assert message.startswith(f"{seeds / 'negotiations' / 'water.yaml'}: field '{field}': ")
    assert f"unknown actor {actor!r}" in message


def test_a_scoped_alias_for_an_unknown_negotiation_is_refused_naming_the_actor_and_field(
    tmp_path: Path,
) -> None:
    seeds = write_reference(tmp_path, actors=ACTORS.replace("      water: [Brin", "      wtaer: [Brin"))
    message = one_line_error(seeds)
    assert message == (
        f"{seeds / 'actors.yaml'}: entry #2 (brinmark) field 'scoped_aliases': unknown negotiation 'wtaer'"
    )


@pytest.mark.parametrize("folder", ["missing", "empty", "a-file"])
def test_a_seeds_folder_without_negotiation_files_is_refused_naming_the_folder(
    tmp_path: Path, folder: str
) -> None:
    seeds = write_reference(tmp_path, talks=None)
    if folder == "empty":
        (seeds / "negotiations").mkdir()
    elif folder == "a-file":
        (seeds / "negotiations").write_text("key: water\n", encoding="utf-8")
    message = one_line_error(seeds)
    assert message.startswith(f"{seeds / 'negotiations'}: ")
    assert "no negotiation files" in message


@pytest.mark.parametrize(
    ("talks", "fragments"),
    [
        (TALKS.replace("key: water\n", ""), ["field 'key'", "Field required"]),
        (TALKS.replace("key: water", "key: Water"), ["field 'key'", "lower_snake_case"]),
        (TALKS.replace("label: Upper Rell water talks\n", ""), ["field 'label'", "Field required"]),
        (TALKS.replace("parties: [aqualia, brinmark]", "parties: aqualia"), ["field 'parties'", "list"]),
        (TALKS.replace("  words: [Rell]", "  word: [Rell]"), ["about field 'word'", "not permitted"]),
        (TALKS.replace("value_type: number", "value_type: litres"),
         ["entry #1 (flow_share) field 'value_type'"]),
        (TALKS.replace("per ?cent", "per (cent"),
         ["entry #1 (flow_share) field 'patterns' item #1", "not a valid regex"]),
        (TALKS + TALKS[TALKS.index("  - key: flow_share"):],
         ["entry #2 (flow_share) field 'key': duplicate"]),
        (TALKS[: TALKS.index("issues:")] + "issues: []\n", ["field 'issues'", "at least one issue"]),
        (TALKS[: TALKS.index("issues:")], ["a list under 'issues'"]),
    ],
)  # fmt: skip
def test_a_bad_negotiation_file_is_one_line_naming_file_entry_and_field(
    tmp_path: Path, talks: str, fragments: list[str]
) -> None:
    seeds = write_reference(tmp_path, talks=talks)
    message = one_line_error(seeds)
    assert message.startswith(f"{seeds / 'negotiations' / 'water.yaml'}:"), message
    for fragment in fragments:
        assert fragment in message, message


def test_the_same_issue_key_may_exist_in_two_negotiations(tmp_path: Path) -> None:
    seeds = write_reference(tmp_path)
    (seeds / "negotiations" / "canal.yaml").write_text(
        TALKS.replace("key: water", "key: canal").replace("Upper Rell water talks", "Rell canal talks"),
        encoding="utf-8",
    )
    reference = load_reference(seeds)
    assert [(n.key, [i.key for i in n.issues]) for n in reference.negotiations] == [
        ("canal", ["flow_share"]),
        ("water", ["flow_share"]),
    ]
    assert load_negotiation(seeds / "negotiations" / "canal.yaml").label == "Rell canal talks"
