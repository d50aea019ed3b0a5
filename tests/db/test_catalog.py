"""etl.catalog on the real PostgreSQL: registering feeds (idempotent, tags merged), importing OPML and
plain URL lists, exporting OPML that imports back unchanged, and loading seeds/ idempotently with
errors that name the file, the entry and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl.catalog import FeedListError, add_feeds, export_opml, list_feeds, load_seeds, read_feed_list
from etl.seeds import FeedSeed, SeedError
from models import Actor, Feed, Issue, Negotiation
from tests.conftest import run_parley

SHIPPED_SEEDS = Path(__file__).resolve().parents[2] / "seeds"


def feed_rows(engine: Engine) -> list[tuple[str, str | None, list[str]]]:
    with Session(engine) as session:
        return [(f.url, f.title, list(f.tags)) for f in session.scalars(select(Feed).order_by(Feed.url))]


def count(engine: Engine, model: type[Feed] | type[Actor] | type[Negotiation] | type[Issue]) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


# --- feeds add -----------------------------------------------------------------------------------


def test_adding_a_feed_twice_registers_it_once(clean_db: Engine) -> None:
    feed = FeedSeed(url="https://news.example.com/rss", title="Example", tags=["gaza-talks"])
    assert add_feeds(clean_db, [feed]) == 1
    assert add_feeds(clean_db, [feed]) == 0
    assert feed_rows(clean_db) == [("https://news.example.com/rss", "Example", ["gaza-talks"])]


def test_adding_a_known_feed_merges_its_tags_and_keeps_its_title(clean_db: Engine) -> None:
    url = "https://news.example.com/rss"
    add_feeds(clean_db, [FeedSeed(url=url, title="Example", tags=["world", "gaza-talks"])])
    assert add_feeds(clean_db, [FeedSeed(url=url, tags=["middle-east", "gaza-talks"])]) == 0
    assert feed_rows(clean_db) == [(url, "Example", ["gaza-talks", "middle-east", "world"])]
    # and again: merging is idempotent
    assert add_feeds(clean_db, [FeedSeed(url=url, tags=["middle-east"])]) == 0
    assert feed_rows(clean_db) == [(url, "Example", ["gaza-talks", "middle-east", "world"])]


def test_adding_a_title_to_an_untitled_feed_sets_it(clean_db: Engine) -> None:
    url = "https://news.example.com/rss"
    add_feeds(clean_db, [FeedSeed(url=url)])
    add_feeds(clean_db, [FeedSeed(url=url, title="Now titled")])
    assert feed_rows(clean_db) == [(url, "Now titled", [])]


def test_adding_nothing_writes_nothing(clean_db: Engine) -> None:
    assert add_feeds(clean_db, []) == 0
    assert count(clean_db, Feed) == 0


def test_a_batch_naming_one_feed_twice_registers_it_once_with_both_tag_sets(clean_db: Engine) -> None:
    url = "https://news.example.com/rss"
    added = add_feeds(clean_db, [FeedSeed(url=url, tags=["world"]), FeedSeed(url=url, tags=["gaza-talks"])])
    assert added == 1
    assert feed_rows(clean_db) == [(url, None, ["gaza-talks", "world"])]


# --- feed lists: plain and OPML ------------------------------------------------------------------

PLAIN_LIST = """\
# feeds for the talks
https://news.example.com/rss

   https://other.example.org/feed.xml   Other outlet, the rest of the line is ignored
# http://commented.example.net/rss
http://plain.example.net/atom
"""


def test_plain_list_skips_comments_and_blank_lines_and_applies_tags(tmp_path: Path) -> None:
    path = tmp_path / "feeds.txt"
    path.write_text(PLAIN_LIST, encoding="utf-8")
    feeds = read_feed_list(path, tags=["imported"])
    assert [(f.url, f.tags) for f in feeds] == [
        ("https://news.example.com/rss", ["imported"]),
        ("https://other.example.org/feed.xml", ["imported"]),
        ("http://plain.example.net/atom", ["imported"]),
    ]


@pytest.mark.parametrize(
    ("bad_line", "what"), [("ftp://files.example.com/feed", "only http and https"), ("https://", "no host")]
)
def test_a_bad_url_in_a_plain_list_names_the_file_and_line(tmp_path: Path, bad_line: str, what: str) -> None:
    path = tmp_path / "feeds.txt"
    path.write_text(PLAIN_LIST + "\n" + bad_line + "\n", encoding="utf-8")
    with pytest.raises(FeedListError) as caught:
        read_feed_list(path)
    message = str(caught.value)
    assert str(path) in message
    assert "line 8" in message  # 6 lines, a blank one, then the bad one
    assert what in message
    assert "\n" not in message


def test_a_missing_feed_list_is_a_feed_list_error(tmp_path: Path) -> None:
    with pytest.raises(FeedListError, match="cannot read"):
        read_feed_list(tmp_path / "absent.opml")


OPML = """\
<?xml version="1.0" encoding="utf-8"?>
<opml version="2.0">
  <head><title>my reader</title></head>
  <body>
    <outline text="News">
      <outline type="rss" text="Example News" title="Example News"
               xmlUrl="https://news.example.com/rss" category="world,gaza-talks"/>
      <outline type="rss" text="Untitled" xmlUrl="http://other.example.org/feed.xml"/>
    </outline>
    <outline text="a folder with no feed of its own"/>
  </body>
</opml>
"""


def test_opml_import_reads_nested_outlines_with_titles_and_categories(tmp_path: Path) -> None:
    path = tmp_path / "reader.opml"
    path.write_text(OPML, encoding="utf-8")
    feeds = read_feed_list(path, tags=["imported"])
    assert [(f.url, f.title, f.tags) for f in feeds] == [
        ("https://news.example.com/rss", "Example News", ["gaza-talks", "imported", "world"]),
        ("http://other.example.org/feed.xml", "Untitled", ["imported"]),
    ]


def test_opml_with_a_bad_feed_url_names_the_outline(tmp_path: Path) -> None:
    path = tmp_path / "reader.opml"
    path.write_text(OPML.replace("http://other.example.org/feed.xml", "feed://other.example.org"), "utf-8")
    with pytest.raises(FeedListError, match="Untitled") as caught:
        read_feed_list(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    "bad_url", ["http://alice:s3cret@x.example/a&#10;b", "http://alice:s3cret@x.example/a&#9;b&#13;"]
)
def test_opml_with_a_control_character_in_a_url_is_refused_without_its_password(
    tmp_path: Path, bad_url: str
) -> None:
    path = tmp_path / "reader.opml"
    untitled = OPML.replace('text="Untitled" ', "")
    path.write_text(untitled.replace("http://other.example.org/feed.xml", bad_url), "utf-8")
    with pytest.raises(FeedListError, match="control character") as caught:
        read_feed_list(path)
    message = str(caught.value)
    assert "alice:****@x.example" in message and "s3cret" not in message
    assert not any(ch in message for ch in "\n\t\r")


def test_a_broken_opml_file_is_a_feed_list_error(tmp_path: Path) -> None:
    path = tmp_path / "reader.opml"
    path.write_text(OPML[: len(OPML) // 2], encoding="utf-8")
    with pytest.raises(FeedListError, match="not valid OPML"):
        read_feed_list(path)


def test_importing_a_list_twice_registers_each_feed_once(clean_db: Engine, tmp_path: Path) -> None:
    path = tmp_path / "reader.opml"
    path.write_text(OPML, encoding="utf-8")
    assert add_feeds(clean_db, read_feed_list(path)) == 2
    assert add_feeds(clean_db, read_feed_list(path)) == 0
    assert count(clean_db, Feed) == 2


def test_exported_opml_imports_back_to_the_same_feeds(clean_db: Engine, tmp_path: Path) -> None:
    originals = [
        FeedSeed(url="https://news.example.com/rss", title="Example & <News>", tags=["gaza-talks", "world"]),
        FeedSeed(url="http://other.example.org/feed.xml?format=rss&lang=en", title="Other"),
        FeedSeed(url="https://third.example.net/atom", title="Troisième", tags=["middle-east"]),
    ]
    add_feeds(clean_db, originals)
    before = feed_rows(clean_db)
    path = tmp_path / "export.opml"
    path.write_text(export_opml(clean_db), encoding="utf-8")

    reread = read_feed_list(path)
    assert sorted((f.url, f.title, f.tags) for f in reread) == sorted(
        (f.url, f.title, sorted(f.tags)) for f in originals
    )
    # importing the export into the same database changes nothing ...
    assert add_feeds(clean_db, reread) == 0
    assert feed_rows(clean_db) == before
    # ... and into an empty one recreates exactly the same rows
    with Session(clean_db) as session, session.begin():
        session.query(Feed).delete()
    assert add_feeds(clean_db, reread) == 3
    assert feed_rows(clean_db) == before


def test_an_untitled_feed_stays_untitled_through_export_and_import(clean_db: Engine, tmp_path: Path) -> None:
    add_feeds(clean_db, [FeedSeed(url="http://other.example.org/feed.xml", tags=["world"])])
    path = tmp_path / "export.opml"
    path.write_text(export_opml(clean_db), encoding="utf-8")
    add_feeds(clean_db, read_feed_list(path))
    assert feed_rows(clean_db) == [("http://other.example.org/feed.xml", None, ["world"])]


def test_list_feeds_reports_each_feed_with_its_health(clean_db: Engine) -> None:
    add_feeds(clean_db, [FeedSeed(url="https://news.example.com/rss", tags=["gaza-talks"])])
    [row] = list_feeds(clean_db)
    assert (row.url, row.tags, row.last_status, row.consecutive_failures, row.articles) == (
        "https://news.example.com/rss",
        ["gaza-talks"],
        None,
        0,
        0,
    )


# --- seeds ---------------------------------------------------------------------------------------

ACTORS = """\
actors:
  - id: israel
    name: Israel
    kind: party
    aliases: [Israel, Israeli government]
  - id: qatar
    name: Qatar
    kind: mediator
"""
GAZA = """\
key: gaza
label: Gaza talks
parties: [israel]
about:
  actors: [israel]
issues:
  - key: ceasefire_duration
    label: Ceasefire duration
    value_type: days
  - key: hostage_categories
    label: Hostage categories
    value_type: categories
    choices: [women, children]
"""
FEEDS = """\
feeds:
  - url: https://news.example.com/rss
    title: Example News
    tags: [gaza-talks]
"""


# a second negotiation with an issue key of the first, its own meaning
CANAL = """\
key: canal
label: Canal talks
description: Who may use the canal.
parties: [qatar]
issues:
  - key: ceasefire_duration
    label: Canal truce length
    value_type: days
"""


def write_seeds(directory: Path, actors: str = ACTORS, gaza: str = GAZA, feeds: str = FEEDS) -> Path:
    (directory / "negotiations").mkdir(parents=True, exist_ok=True)
    (directory / "actors.yaml").write_text(actors, encoding="utf-8")
    (directory / "negotiations" / "gaza.yaml").write_text(gaza, encoding="utf-8")
    (directory / "feeds.yaml").write_text(feeds, encoding="utf-8")
    return directory


def reference_counts(engine: Engine) -> tuple[int, int, int, int]:
    return count(engine, Feed), count(engine, Actor), count(engine, Negotiation), count(engine, Issue)


def issue_rows(engine: Engine) -> list[tuple[str, str, str, str]]:
    with Session(engine) as session:
        return [
            (i.negotiation, i.key, i.label, i.value_type)
            for i in session.scalars(select(Issue).order_by(Issue.negotiation, Issue.key))
        ]


def test_loading_seeds_twice_leaves_the_same_rows(clean_db: Engine, tmp_path: Path) -> None:
    seeds = write_seeds(tmp_path / "seeds")
    first = load_seeds(clean_db, seeds)
    assert (first.feeds, first.actors, first.negotiations, first.issues) == (1, 2, 1, 2)
    assert reference_counts(clean_db) == (1, 2, 1, 2)
    load_seeds(clean_db, seeds)
    assert reference_counts(clean_db) == (1, 2, 1, 2)
    with Session(clean_db) as session:
        israel = session.get(Actor, "israel")
        assert israel is not None and israel.aliases == ["Israel", "Israeli government"]
        gaza = session.get(Negotiation, "gaza")
        assert gaza is not None and (gaza.label, gaza.description) == ("Gaza talks", "")
    assert issue_rows(clean_db) == [
        ("gaza", "ceasefire_duration", "Ceasefire duration", "days"),
        ("gaza", "hostage_categories", "Hostage categories", "categories"),
    ]


def test_the_same_issue_key_in_two_negotiations_is_two_issue_rows(clean_db: Engine, tmp_path: Path) -> None:
    seeds = write_seeds(tmp_path / "seeds")
    (seeds / "negotiations" / "canal.yaml").write_text(CANAL, encoding="utf-8")
    for _ in range(2):
        counts = load_seeds(clean_db, seeds)
        assert (counts.negotiations, counts.issues) == (2, 3)
        assert reference_counts(clean_db) == (1, 2, 2, 3)
    assert issue_rows(clean_db) == [
        ("canal", "ceasefire_duration", "Canal truce length", "days"),
        ("gaza", "ceasefire_duration", "Ceasefire duration", "days"),
        ("gaza", "hostage_categories", "Hostage categories", "categories"),
    ]
    with Session(clean_db) as session:
        canal = session.get(Negotiation, "canal")
        assert canal is not None and (canal.label, canal.description) == (
            "Canal talks",
            "Who may use the canal.",
        )


def test_a_negotiation_dropped_from_the_seeds_keeps_its_rows(clean_db: Engine, tmp_path: Path) -> None:
    # the ledger may refer to them: reloading the seeds deletes nothing
    seeds = write_seeds(tmp_path / "seeds")
    (seeds / "negotiations" / "canal.yaml").write_text(CANAL, encoding="utf-8")
    load_seeds(clean_db, seeds)
    (seeds / "negotiations" / "canal.yaml").unlink()
    assert (load_seeds(clean_db, seeds).negotiations, reference_counts(clean_db)) == (1, (1, 2, 2, 3))


def test_reloading_edited_seeds_updates_rows_in_place(clean_db: Engine, tmp_path: Path) -> None:
    seeds = write_seeds(tmp_path / "seeds")
    load_seeds(clean_db, seeds)
    write_seeds(
        seeds,
        actors=ACTORS.replace("name: Qatar", "name: State of Qatar"),
        gaza=GAZA.replace("label: Gaza talks", "label: Gaza truce talks").replace(
            "label: Ceasefire duration", "label: Truce length"
        ),
    )
    load_seeds(clean_db, seeds)
    assert reference_counts(clean_db) == (1, 2, 1, 2)
    with Session(clean_db) as session:
        qatar = session.get(Actor, "qatar")
        assert qatar is not None and qatar.name == "State of Qatar"
        gaza = session.get(Negotiation, "gaza")
        assert gaza is not None and gaza.label == "Gaza truce talks"
    assert issue_rows(clean_db)[0] == ("gaza", "ceasefire_duration", "Truce length", "days")


def test_shipped_seeds_load_idempotently(clean_db: Engine) -> None:
    first = load_seeds(clean_db, SHIPPED_SEEDS)
    assert first.actors > 0 and first.issues > 0 and first.feeds > 0 and first.negotiations >= 2
    after_first = reference_counts(clean_db)
    assert after_first == (first.feeds, first.actors, first.negotiations, first.issues)
    with Session(clean_db) as session:
        negotiations = set(session.scalars(select(Issue.negotiation).distinct()))
    assert {"gaza", "ukraine"} <= negotiations
    load_seeds(clean_db, SHIPPED_SEEDS)
    assert reference_counts(clean_db) == after_first


def test_parley_seed_command_is_idempotent(clean_db: Engine, cli_env: dict[str, str], tmp_path: Path) -> None:
    seeds = write_seeds(tmp_path / "seeds")
    for _ in range(2):
        result = run_parley("seed", "--dir", str(seeds), env=cli_env, timeout=120)
        assert result.returncode == 0, result.stderr
        assert "seeded 1 feeds, 2 actors, 1 negotiations, 2 issues" in result.stdout
        assert reference_counts(clean_db) == (1, 2, 1, 2)


@pytest.mark.parametrize(
    ("file", "edit", "expected"),
    [
        ("actors.yaml", ("    name: Qatar\n", ""), ["actors.yaml", "entry #2 (qatar)", "field 'name'"]),
        (
            "actors.yaml",
            ("kind: mediator", "kind: broker"),
            ["actors.yaml", "entry #2 (qatar)", "field 'kind'"],
        ),
        (
            "negotiations/gaza.yaml",
            ("    choices: [women, children]\n", ""),
            ["negotiations/gaza.yaml", "entry #2 (hostage_categories)", "field 'choices'"],
        ),
        (
            "negotiations/gaza.yaml",
            ("value_type: days", "value_type: weeks"),
            ["negotiations/gaza.yaml", "entry #1 (ceasefire_duration)", "field 'value_type'"],
        ),
        (
            "negotiations/gaza.yaml",
            ("key: gaza", "key: gaza_talks"),
            ["negotiations/gaza.yaml", "field 'key'", "not the file's name 'gaza'"],
        ),
        (
            "negotiations/gaza.yaml",
            ("parties: [israel]", "parties: [israel, hamas]"),
            ["negotiations/gaza.yaml", "field 'parties'", "unknown actor 'hamas'"],
        ),
        ("feeds.yaml", ("https://news", "gopher://news"), ["feeds.yaml", "entry #1", "field 'url'"]),
    ],
)
def test_a_bad_seed_names_file_entry_and_field_and_writes_nothing(
    clean_db: Engine, tmp_path: Path, file: str, edit: tuple[str, str], expected: list[str]
) -> None:
    seeds = write_seeds(tmp_path / "seeds")
    original = (seeds / file).read_text(encoding="utf-8")
    assert edit[0] in original
    (seeds / file).write_text(original.replace(edit[0], edit[1]), encoding="utf-8")
    with pytest.raises(SeedError) as caught:
        load_seeds(clean_db, seeds)
    message = str(caught.value)
    for part in expected:
        assert part in message
    assert "\n" not in message
    assert reference_counts(clean_db) == (0, 0, 0, 0)


def test_parley_seed_with_a_bad_file_exits_1_with_one_line(
    clean_db: Engine, cli_env: dict[str, str], tmp_path: Path
) -> None:
    seeds = write_seeds(tmp_path / "seeds", actors=ACTORS.replace("kind: mediator", "kind: broker"))
    result = run_parley("seed", "--dir", str(seeds), env=cli_env, timeout=120)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "actors.yaml" in lines[0] and "entry #2 (qatar)" in lines[0] and "field 'kind'" in lines[0]
    assert reference_counts(clean_db) == (0, 0, 0, 0)
