"""bench/version_diff.py: which texts it reads, and the claims it reads back from ``extract-file``."""

from __future__ import annotations

import json
from pathlib import Path

from bench import version_diff
from bench.headline_sample import headline_id
from tests.conftest import REPO


def test_talks_are_the_distinct_items_naming_an_issue_and_the_conflict(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    rows = [
        {"title": "Hamas agrees to a four-day truce", "description": "Talks in Doha."},
        {"title": "Hamas agrees to a four-day truce", "description": "Talks in Doha."},  # a repeat
        {"title": "Markets rally", "description": "Stocks rose on Tuesday."},  # no issue, no conflict
        {"title": "A truce in the trade war", "description": "Tariffs paused."},  # an issue, no conflict
        {"title": "Qatar mediates", "description": "A pause in fighting in Gaza is near."},
    ]
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert [i["id"] for i in version_diff.talks_items(corpus)] == ["0", "4"]


def test_an_item_is_referred_to_as_the_gold_files_do() -> None:
    item = {"id": "7", "title": "Trump announces a ceasefire", "text": ""}
    assert version_diff._ref("headlines", item) == headline_id("Trump announces a ceasefire")
    assert version_diff._ref("talks", item) == "7"  # a corpus item by its line
    document = {"id": "wh3", "title": "Readout", "text": "", "path": "gaza/readouts/a.md"}
    assert version_diff._ref("whitehouse", document) == "gaza/readouts/a.md"  # a document by its path


def test_claims_are_listed_in_their_sets_order() -> None:
    keys = [
        ("wh10", "gaza", "a", "b", "c", "d"),
        ("wh9", "gaza", "a", "b", "c", "d"),
        ("2", "", "", "", "", ""),
    ]
    assert sorted(keys, key=version_diff._order) == [keys[2], keys[1], keys[0]]


def test_white_house_documents_are_read_in_index_order_with_their_paths(tmp_path: Path) -> None:
    (tmp_path / "gaza").mkdir()
    (tmp_path / "gaza" / "a.md").write_text(
        "---\ntitle: Statement on Gaza\n---\nWe want a truce.\n", encoding="utf-8"
    )
    (tmp_path / "gaza" / "b.md").write_text("No front matter here.\n", encoding="utf-8")
    (tmp_path / "index.csv").write_text(
        "topic,date,category,title,source_url,path,bytes\n"
        "gaza,2024-05-01,statements,Statement on Gaza,https://example.org/a,gaza/a.md,40\n"
        "gaza,2024-05-02,statements,Remarks,https://example.org/b,gaza/b.md,22\n",
        encoding="utf-8",
    )
    assert list(version_diff.whitehouse_items(tmp_path)) == [
        {"id": "wh0", "title": "Statement on Gaza", "text": "We want a truce.", "path": "gaza/a.md"},
        {"id": "wh1", "title": "Remarks", "text": "No front matter here.", "path": "gaza/b.md"},
    ]


def test_claims_are_read_back_with_their_evidence(tmp_path: Path) -> None:
    items = tmp_path / "items.jsonl"
    items.write_text(
        json.dumps({"id": "1", "title": "Israel and Hamas agree to a four-day truce", "text": ""}) + "\n",
        encoding="utf-8",
    )
    claims, _ = version_diff.extract(REPO, items)
    assert set(claims) == {
        ("1", "gaza", "israel", "ceasefire_duration", "4", "accepts"),
        ("1", "gaza", "hamas", "ceasefire_duration", "4", "accepts"),
    }
    assert set(claims.values()) == {"Israel and Hamas agree to a four-day truce"}


def test_without_blind_leaves_out_the_never_tuned_sets_only() -> None:
    from bench import whitehouse_blind, whitehouse_fourth, whitehouse_sample, whitehouse_third

    refs = version_diff._blind_refs()
    for never_tuned in (whitehouse_third.GOLD, whitehouse_fourth.GOLD):
        assert {g.doc for g in whitehouse_sample.read_gold(never_tuned)} <= refs
    # the first two White House samples were tuned on: their documents stay in the check
    for tuned in (whitehouse_sample.GOLD, whitehouse_blind.GOLD):
        assert not {g.doc for g in whitehouse_sample.read_gold(tuned)} & refs
