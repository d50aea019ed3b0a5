"""The evaluation interface: reading item files, extract-file output, and triple scoring."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from etl.errors import UserError
from etl.extract.engine import Extractor
from etl.extract.evaluate import (
    GoldFileError,
    InputFileError,
    ItemFileError,
    evaluate,
    extract_file,
    format_report,
    read_eval_files,
    read_gold,
    read_items,
    score,
)
from tests.conftest import shared_path


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def item(item_id: str, title: str, text: str) -> str:
    return json.dumps({"id": item_id, "title": title, "text": text, "published": "2024-01-01T00:00:00Z"})


def test_invalid_json_line_becomes_an_item_error(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "items.jsonl", [item("a", "T", "x"), "{not json", "[1, 2]", item("b", "U", "y")]
    )
    items = list(read_items(path))
    assert [i.id for i in items] == ["a", "line-2", "line-3", "b"]
    assert items[0].error is None and items[3].error is None
    assert items[1].error is not None and "invalid JSON" in items[1].error
    assert items[2].error == "expected a JSON object"


def test_a_gold_line_that_is_not_json_is_a_user_error_naming_file_and_line(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "gold.jsonl", [json.dumps({"id": "a", "claims": []}), "{not json"])
    with pytest.raises(GoldFileError, match=r"gold\.jsonl: line 2: invalid JSON") as raised:
        read_gold(path)
    assert isinstance(raised.value, UserError)


def test_extract_file_writes_one_line_per_item_in_input_order(tmp_path: Path, extractor: Extractor) -> None:
    path = write_lines(
        tmp_path / "items.jsonl",
        [
            item("first", "Hamas terms", "Hamas demands a permanent ceasefire."),
            "not json at all",
            item("third", "", ""),
            item("fourth", "Israel and Hamas agree to a four-day truce", ""),
        ],
    )
    out = io.StringIO()
    seen: list[int] = []
    with pytest.raises(ItemFileError, match=r"items\.jsonl: line 2: invalid JSON"):
        extract_file(path, out, extractor, progress=seen.append, batch_size=2)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["id"] for line in lines] == ["first", "line-2", "third", "fourth"]
    assert lines[0]["claims"][0] == {
        **lines[0]["claims"][0],
        "negotiation": "gaza",
        "actor": "hamas",
        "issue": "permanent_ceasefire",
        "value": "yes",
        "stance": "demands",
    }
    assert set(lines[0]["claims"][0]) == {
        "negotiation",
        "actor",
        "issue",
        "value",
        "stance",
        "evidence",
        "start",
        "end",
        "confidence",
    }
    assert lines[1]["claims"] == [] and "invalid JSON" in lines[1]["error"]
    assert lines[2] == {"id": "third", "claims": []}
    assert {(c["negotiation"], c["actor"], c["value"]) for c in lines[3]["claims"]} == {
        ("gaza", "israel", 4),
        ("gaza", "hamas", 4),
    }
    assert isinstance(lines[3]["claims"][0]["value"], int)
    assert seen == [1, 2, 3, 4]


def claim(
    actor: str, issue: str, value: Any, stance: str = "demands", negotiation: str | None = None
) -> dict[str, Any]:
    """A claim as a result line has it; without ``negotiation``, as a gold line of codebook v1."""
    found = {"actor": actor, "issue": issue, "value": value, "stance": stance, "evidence": "..."}
    return found if negotiation is None else {"negotiation": negotiation, **found}


@pytest.mark.parametrize(
    ("gold", "found", "tp", "fp", "fn", "stance_ok"),
    [
        ({"a": [claim("hamas", "guarantees", "yes")]},
         {"a": [claim("hamas", "guarantees", "yes")]}, 1, 0, 0, 1),
        ({"a": [claim("hamas", "guarantees", "yes")]}, {"a": []}, 0, 0, 1, 0),
        ({"a": []}, {"a": [claim("israel", "ceasefire_duration", 4)]}, 0, 1, 0, 0),
        # same triple, other stance: a match for F1, a miss for stance accuracy
        ({"a": [claim("israel", "ceasefire_duration", 4, "accepts")]},
         {"a": [claim("israel", "ceasefire_duration", 4, "proposes")]}, 1, 0, 0, 0),
        # triples are per article: the right claim on the wrong item is a miss and a false alarm
        ({"a": [claim("qatar", "permanent_ceasefire", "yes")], "b": []},
         {"a": [], "b": [claim("qatar", "permanent_ceasefire", "yes")]}, 0, 1, 1, 0),
        # 60.0 and 60 are the same value
        ({"a": [claim("israel", "ceasefire_duration", 60)]},
         {"a": [claim("israel", "ceasefire_duration", 60.0)]}, 1, 0, 0, 1),
        # a gold claim of codebook v1 (no negotiation) is a gaza claim
        ({"a": [claim("israel", "ceasefire_duration", 60)]},
         {"a": [claim("israel", "ceasefire_duration", 60, negotiation="gaza")]}, 1, 0, 0, 1),
        # the right actor, issue and value in the wrong negotiation is a miss and a false alarm
        ({"a": [claim("united_states", "ceasefire_duration", 30, negotiation="ukraine")]},
         {"a": [claim("united_states", "ceasefire_duration", 30, negotiation="gaza")]}, 0, 1, 1, 0),
        ({"a": [claim("united_states", "ceasefire_duration", 30, negotiation="ukraine")]},
         {"a": [claim("united_states", "ceasefire_duration", 30, negotiation="ukraine")]}, 1, 0, 0, 1),
    ],
)  # fmt: skip
def test_score_counts_triples_per_article(
    gold: dict[str, list[dict[str, Any]]],
    found: dict[str, list[dict[str, Any]]],
    tp: int,
    fp: int,
    fn: int,
    stance_ok: int,
) -> None:
    report = score(gold, found)
    assert (
        report.overall.true_positives,
        report.overall.false_positives,
        report.overall.false_negatives,
    ) == (
        tp,
        fp,
        fn,
    )
    assert report.stance_correct == stance_ok
    assert len(report.misses) == fn and len(report.false_alarms) == fp


def test_score_reports_per_issue_f1() -> None:
    gold = {"a": [claim("hamas", "guarantees", "yes"), claim("israel", "ceasefire_duration", 4)]}
    found = {"a": [claim("hamas", "guarantees", "yes"), claim("israel", "ceasefire_duration", 5)]}
    report = score(gold, found)
    assert report.per_issue["gaza.guarantees"].f1 == 1.0
    assert report.per_issue["gaza.ceasefire_duration"].f1 == 0.0
    assert report.overall.precision == 0.5 and report.overall.recall == 0.5
    text = format_report(report)
    assert "gaza.ceasefire_duration" in text and "OVERALL" in text
    assert "gaza: israel ceasefire_duration=4" in text  # the miss is printed so it can be read
    assert "gaza: israel ceasefire_duration=5" in text  # and so is the false alarm


def test_score_reports_an_issue_key_of_two_negotiations_apart_and_each_negotiation_overall() -> None:
    gold = {
        "a": [claim("united_states", "ceasefire_duration", 60)],
        "b": [
            claim("united_states", "ceasefire_duration", 30, negotiation="ukraine"),
            claim("russia", "energy_truce", 30, negotiation="ukraine"),
        ],
    }
    found = {
        "a": [claim("united_states", "ceasefire_duration", 60, negotiation="gaza")],
        "b": [claim("united_states", "ceasefire_duration", 30, negotiation="ukraine")],
    }
    report = score(gold, found)
    assert set(report.per_issue) == {
        "gaza.ceasefire_duration",
        "ukraine.ceasefire_duration",
        "ukraine.energy_truce",
    }
    assert report.per_issue["ukraine.energy_truce"].false_negatives == 1
    assert (report.per_negotiation["gaza"].f1, report.per_negotiation["ukraine"].recall) == (1.0, 0.5)
    text = format_report(report)
    assert "ALL gaza" in text and "ALL ukraine" in text
    assert "ukraine: russia energy_truce=30" in text


def test_dev_set_f1_meets_target(extractor: Extractor) -> None:
    gold, items = shared_path("eval", "dev_gold.jsonl"), shared_path("eval", "dev_items.jsonl")
    report = evaluate(gold, items, extractor)
    assert report.item_errors == []
    assert report.overall.f1 >= 0.75, format_report(report)


# --- bad input: one line naming file and line, never a traceback ---------------------------------

DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize(
    ("line", "error"),
    [
        (json.dumps({"id": "deep", "title": "T", "text": "x"})[:-1] + ', "extra": ' + DEEP + "}",
         "invalid JSON: nested too deeply"),
        (DEEP, "invalid JSON: nested too deeply"),
        ('{"id": ' + "9" * 5000 + ', "title": "T", "text": "x"}', "invalid JSON: Exceeds the limit"),
        (json.dumps({"id": "g", "claims": []}), "no title or text (is this a gold file?)"),
    ],
)  # fmt: skip
def test_an_unreadable_item_line_becomes_an_item_error(tmp_path: Path, line: str, error: str) -> None:
    path = write_lines(tmp_path / "items.jsonl", [item("a", "T", "x"), line, item("b", "U", "y")])
    items = list(read_items(path))
    assert [i.error is None for i in items] == [True, False, True]
    assert items[1].line == 2 and (items[1].error or "").startswith(error)


def test_extract_file_writes_every_item_past_a_deeply_nested_line_then_names_it(
    tmp_path: Path, extractor: Extractor
) -> None:
    path = write_lines(
        tmp_path / "items.jsonl",
        [item("first", "Hamas terms", "Hamas demands a permanent ceasefire."), DEEP, item("third", "", "")],
    )
    out = io.StringIO()
    with pytest.raises(ItemFileError, match=r"items\.jsonl: line 2: invalid JSON: nested too deeply$"):
        extract_file(path, out, extractor)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["id"] for line in lines] == ["first", "line-2", "third"]
    assert lines[0]["claims"] and "nested too deeply" in lines[1]["error"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"id": "a", "claims": []}\n{not json\n', "line 2: invalid JSON"),
        (b'{"id": "a", "claims": []}\n' + DEEP.encode() + b"\n", "line 2: invalid JSON: nested too deeply"),
        (b'{"id": "a", "claims": [{"actor": "x", "issue": "y", "value": ' + b"9" * 5000 + b"}]}\n",
         "line 1: invalid JSON: Exceeds the limit"),
        (b'{"claims": []}\n', 'line 1: no "id"'),
        (b'{"id": "a", "claims": []}\n[1, 2]\n', "line 2: expected a JSON object"),
        (b'"just a string"\n', "line 1: expected a JSON object"),
        (b'{"id": "a", "claims": []}\n\x89PNG\r\n\x1a\n\x00\xff\xfe\n', "line 2: not UTF-8 text"),
        (b'{"id": "a", "title": "T", "text": "x"}\n', 'line 1: no "claims" list (is this an item file?)'),
        (b'{"id": "a", "claims": "yes"}\n', 'line 1: no "claims" list'),
        (b'{"id": "a", "claims": [["hamas", "x", 1]]}\n', "line 1: claim #1 is not an object with actor"),
        (b'{"id": "a", "claims": [{"actor": "hamas", "value": 1}]}\n', "line 1: claim #1 is not an object"),
        (b'{"id": "a", "claims": []}\n{"id": "a", "claims": []}\n', "line 2: id 'a' is already on line 1"),
        (b"\n\n", "no gold lines"),
    ],
)  # fmt: skip
def test_a_malformed_gold_file_is_a_gold_file_error_naming_file_and_line(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "gold.jsonl"
    path.write_bytes(content)
    with pytest.raises(GoldFileError) as raised:
        read_gold(path)
    assert str(raised.value).startswith(f"{path}: {message}"), str(raised.value)
    assert isinstance(raised.value, UserError) and "\n" not in str(raised.value)


def test_gold_and_items_that_share_no_id_are_refused(tmp_path: Path) -> None:
    gold = write_lines(tmp_path / "gold.jsonl", [json.dumps({"id": "a", "claims": []})])
    items = write_lines(tmp_path / "items.jsonl", [item("z", "T", "x")])
    with pytest.raises(InputFileError, match=r"no item of .*items\.jsonl has an id of .*gold\.jsonl"):
        read_eval_files(gold, items)


def test_gold_ids_missing_from_the_items_are_refused(tmp_path: Path) -> None:
    gold = write_lines(
        tmp_path / "gold.jsonl", [json.dumps({"id": i, "claims": []}) for i in ("a", "b", "c")]
    )
    items = write_lines(tmp_path / "items.jsonl", [item("a", "T", "x"), item("b", "T", "x")])
    with pytest.raises(InputFileError, match=r"1 of 3 ids of .*gold\.jsonl have no item in .*the first 'c'"):
        read_eval_files(gold, items)


def test_gold_and_items_given_the_wrong_way_round_are_refused(tmp_path: Path) -> None:
    gold = write_lines(tmp_path / "gold.jsonl", [json.dumps({"id": "a", "claims": []})])
    items = write_lines(tmp_path / "items.jsonl", [item("a", "T", "x")])
    with pytest.raises(GoldFileError, match=r'items\.jsonl: line 1: no "claims" list'):
        read_eval_files(items, gold)


def test_an_unreadable_item_line_stops_eval_before_extraction(tmp_path: Path) -> None:
    gold = write_lines(tmp_path / "gold.jsonl", [json.dumps({"id": i, "claims": []}) for i in "ab"])
    items = write_lines(tmp_path / "items.jsonl", [item("a", "T", "x"), DEEP, item("b", "T", "x"), "{"])
    with pytest.raises(ItemFileError, match=r"items\.jsonl: line 2: .*nested too deeply \(and 1 more of 4"):
        read_eval_files(gold, items)
