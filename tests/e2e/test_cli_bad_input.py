"""Bad input given to the ``parley`` command line (item and gold files, seeds, feed URLs) ends the
command with one line on stderr naming what is wrong, exit status 1, no traceback and nothing
half-written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from models import Feed, Issue
from tests.conftest import REPO, run_parley
from tests.e2e.test_cli import error_line


def count(engine: Engine, model: type[Feed] | type[Issue]) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


# --- seeds ---------------------------------------------------------------------------------------


def test_seed_with_a_bad_issue_pattern_exits_1_naming_file_entry_and_field(
    clean_db: Engine, cli_env: dict[str, str], tmp_path: Path
) -> None:
    # the shipped seeds, one pattern of the Ukraine file broken
    shutil.copytree(REPO / "seeds", tmp_path / "seeds", ignore=shutil.ignore_patterns("demo", "feeds.yaml"))
    ukraine = tmp_path / "seeds" / "negotiations" / "ukraine.yaml"
    text = ukraine.read_text(encoding="utf-8")
    first_pattern = "    patterns:\n"
    assert first_pattern in text
    ukraine.write_text(text.replace(first_pattern, first_pattern + "      - '*bad('\n", 1), encoding="utf-8")
    line = error_line(run_parley("seed", "--dir", str(tmp_path / "seeds"), env=cli_env))
    assert f"{ukraine}: entry #1 (" in line
    assert "field 'patterns' item #1: not a valid regex: nothing to repeat" in line
    assert count(clean_db, Issue) == 0  # refused before anything was written, gaza's issues too


# --- extract-file and eval -----------------------------------------------------------------------

DEEP = "[" * 5000 + "]" * 5000


def item_line(item_id: str, title: str, text: str) -> str:
    return json.dumps({"id": item_id, "title": title, "text": text, "published": "2024-01-01T00:00:00Z"})


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_extract_file_writes_every_other_item_then_exits_1_naming_a_deeply_nested_line(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    items = write_lines(
        tmp_path / "items.jsonl",
        [
            item_line("first", "Hamas terms", "Hamas demands a permanent ceasefire."),
            '{"id": "deep", "title": "T", "text": ' + DEEP + "}",
            item_line("third", "Israel and Hamas agree to a four-day truce", ""),
        ],
    )
    result = run_parley("extract-file", str(items), env=cli_env)
    line = error_line(result)
    assert f"{items}: line 2: invalid JSON: nested too deeply" in line
    written = [json.loads(output) for output in result.stdout.splitlines()]
    assert [output["id"] for output in written] == ["first", "line-2", "third"]
    assert written[0]["claims"] and written[2]["claims"]  # the other items' output is not lost
    assert "nested too deeply" in written[1]["error"]


GOLD_A = json.dumps({"id": "a", "claims": [{"actor": "hamas", "issue": "guarantees", "value": "yes"}]})


@pytest.mark.parametrize(
    ("gold", "message"),
    [
        (GOLD_A.encode() + b"\n" + DEEP.encode() + b"\n", "line 2: invalid JSON: nested too deeply"),
        (b'{"id": "a", "claims": [{"actor": "x", "issue": "y", "value": ' + b"9" * 5000 + b"}]}\n",
         "line 1: invalid JSON: Exceeds the limit"),  # was a ValueError traceback
        (b'{"claims": []}\n', 'line 1: no "id"'),  # was KeyError: 'id'
        (b"[1, 2]\n", "line 1: expected a JSON object"),  # was an AttributeError
        (b"\x89PNG\r\n\x1a\n\x00\xff\xfe\x00\n", "line 1: not UTF-8 text (byte 0)"),  # UnicodeDecodeError
        (b'{"id": "a", "claims": [["hamas", "guarantees", "yes"]]}\n', "line 1: claim #1 is not an object"),
    ],
)  # fmt: skip
def test_eval_with_a_malformed_gold_file_exits_1_naming_file_and_line(
    cli_env: dict[str, str], tmp_path: Path, gold: bytes, message: str
) -> None:
    gold_path = tmp_path / "gold.jsonl"
    gold_path.write_bytes(gold)
    items = write_lines(tmp_path / "items.jsonl", [item_line("a", "Hamas terms", "Hamas wants guarantees.")])
    line = error_line(run_parley("eval", str(gold_path), str(items), env=cli_env))
    assert f"{gold_path}: {message}" in line


def test_eval_with_an_unreadable_item_line_exits_1_naming_file_and_line(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    gold = write_lines(tmp_path / "gold.jsonl", [GOLD_A])
    items = write_lines(tmp_path / "items.jsonl", [item_line("a", "T", "x"), DEEP])
    line = error_line(run_parley("eval", str(gold), str(items), env=cli_env))
    assert f"{items}: line 2: invalid JSON: nested too deeply" in line


def test_eval_with_files_that_share_no_id_exits_1_instead_of_scoring_zero(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    gold = write_lines(tmp_path / "gold.jsonl", [GOLD_A])
    items = write_lines(tmp_path / "items.jsonl", [item_line("other", "Hamas terms", "Hamas wants it.")])
    line = error_line(run_parley("eval", str(gold), str(items), env=cli_env))
    assert f"no item of {items} has an id of {gold}" in line


def test_eval_with_gold_and_items_swapped_exits_1_instead_of_scoring_zero(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    gold = write_lines(tmp_path / "gold.jsonl", [GOLD_A])
    items = write_lines(tmp_path / "items.jsonl", [item_line("a", "Hamas terms", "Hamas wants guarantees.")])
    line = error_line(run_parley("eval", str(items), str(gold), env=cli_env))
    assert f'{items}: line 1: no "claims" list (is this an item file?)' in line


# --- feed URLs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://news.example.com/a\rb", r"'\r'"),
        ("http://news.example.com/a\nb", r"'\n'"),
        ("http://news.example.com/a\tb", r"'\t'"),
        ("http://news.example.com/\x1b[2Jfeed", r"'\x1b'"),
        ("http://alice:s3cret@news.example.com/\x1b]0;title\x07", r"'\x1b'"),
    ],
)
def test_feeds_add_refuses_a_url_with_a_control_character_in_one_escaped_line(
    clean_db: Engine, cli_env: dict[str, str], url: str, shown: str
) -> None:
    line = error_line(run_parley("feeds", "add", url, env=cli_env))
    assert f"URL contains control character {shown}" in line
    assert "s3cret" not in line
    assert count(clean_db, Feed) == 0
