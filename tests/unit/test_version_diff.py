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
