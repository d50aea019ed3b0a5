"""The labelled sample of White House documents (``bench/whitehouse_sample.py``): the gold file is the
sample the procedure draws, stratum by stratum, from the corpus it was labelled on; it and the later
samples' gold files (``test_whitehouse_later_samples.py``) hold references and labels only, and every
label is one the seeds can hold.

The gold file holds only document paths, their sha1, their stratum and labels; the documents are
read from ../shared/ at test time, so the draw tests skip where the shared corpus is absent (and fail
in CI, see ``shared_path``). No precision or recall floor: the figures are reported by the script.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from bench import whitehouse_blind, whitehouse_fourth, whitehouse_third
from bench.whitehouse_sample import (
    GOLD,
    RICH_MAX_BYTES,
    SIZES,
    GoldDoc,
    Stratum,
    document_body,
    document_sha1,
    is_rich_candidate,
    label_problem,
    read_gold,
    score_strata,
    select_docs,
    speaker_at,
)
from etl.seeds import load_reference
from tests.conftest import REPO, shared_path


def test_gold_file_is_the_sample_the_procedure_draws_from_an_unchanged_corpus() -> None:
    folder = shared_path("corpus", "whitehouse")
    gold = read_gold()
    drawn = select_docs(folder)
    assert list(drawn) == list(Stratum)
    assert [(g.stratum, g.doc) for g in gold] == [(s, doc) for s, docs in drawn.items() for doc in docs]
    every = [doc for docs in drawn.values() for doc in docs]
    assert len(every) == len(set(every))
    for stratum, sizes in SIZES.items():
        for topic, size in sizes.items():
            assert sum(doc.startswith(f"{topic}/") for doc in drawn[stratum]) == size
    changed = [g.doc for g in gold if document_sha1(g.doc, folder) != g.sha1]
    assert changed == []


def test_rich_stratum_is_drawn_within_its_filter() -> None:
    folder = shared_path("corpus", "whitehouse")
    with (folder / "index.csv").open(encoding="utf-8", newline="") as index:
        rows = {row["path"]: row for row in csv.DictReader(index)}
    for doc in select_docs(folder)[Stratum.RICH]:
        row = rows[doc]
        assert is_rich_candidate(row["topic"], row["date"], int(row["bytes"]), document_body(doc, folder))


@pytest.mark.parametrize(
    ("topic", "date", "size", "body", "candidate"),
    [
        ("gaza", "2024-05-01", 900, "A ceasefire deal.", True),
        ("gaza", "2024-04-30", 900, "A ceasefire deal.", False),
        ("ukraine", "2025-01-23", 900, "Guarantees for Ukraine.", True),
        ("ukraine", "2024-12-31", 900, "Guarantees for Ukraine.", False),
        ("gaza", "2024-06-03", RICH_MAX_BYTES, "the release of all HOSTAGES", True),
        ("gaza", "2024-06-03", RICH_MAX_BYTES + 1, "the release of all hostages", False),
        ("gaza", "2024-06-03", 900, "A cease-fire now.", True),
        ("ukraine", "2025-08-17", 900, "Land swaps and territorial questions.", True),
        ("gaza", "2024-06-03", 900, "Microsoft builds a data center.", False),
        ("gaza", "2024-06-03", 900, "Trucking and retreats are no deal terms.", False),
        ("iran", "2025-06-01", 900, "A ceasefire.", False),
    ],
)
def test_rich_candidate_is_a_talks_era_short_document_naming_a_deal_term(
    topic: str, date: str, size: int, body: str, candidate: bool
) -> None:
    assert is_rich_candidate(topic, date, size, body) is candidate


def test_each_stratum_is_scored_alone_and_the_total_over_both() -> None:
    claim = {"negotiation": "gaza", "actor": "united_states", "issue": "permanent_ceasefire", "value": "yes"}
    gold = [
        GoldDoc("a.md", "0", Stratum.RANDOM, [claim]),
        GoldDoc("b.md", "0", Stratum.RICH, [claim]),
        GoldDoc("c.md", "0", Stratum.RICH, []),
    ]
    found = {"b.md": [claim], "c.md": [claim | {"actor": "israel"}]}
    reports = score_strata(gold, found, [("c.md", "unreadable")])
    counts = {
        name: (r.overall.true_positives, r.overall.false_positives, r.overall.false_negatives, r.items)
        for name, r in reports.items()
    }
    assert counts == {"random": (0, 0, 1, 1), "rich": (1, 1, 0, 2), "total": (1, 1, 1, 3)}
    assert reports["random"].item_errors == []
    assert reports["rich"].item_errors == reports["total"].item_errors == [("c.md", "unreadable")]


GOLD_FILES = [GOLD, whitehouse_blind.GOLD, whitehouse_third.GOLD, whitehouse_fourth.GOLD]


@pytest.mark.parametrize("gold_file", GOLD_FILES, ids=lambda path: path.stem)
def test_gold_file_holds_references_and_labels_only(gold_file: Path) -> None:
    for line in gold_file.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        assert set(row) == {"doc", "sha1", "stratum", "claims"}
        assert row["stratum"] in set(Stratum)
        for claim in row["claims"]:
            assert {"negotiation", "actor", "issue", "value", "stance", "speaker"} <= set(claim)
            assert set(claim) <= {"negotiation", "actor", "issue", "value", "stance", "speaker", "note"}
            # the labeller's reason, never a quotation (the first sample's run to two lines)
            assert len(claim.get("note", "")) <= (180 if gold_file == GOLD else 120)


@pytest.mark.parametrize("gold_file", GOLD_FILES, ids=lambda path: path.stem)
def test_every_label_is_valid_against_the_seeds(gold_file: Path) -> None:
    reference = load_reference(REPO / "seeds")
    gold = read_gold(gold_file)
    assert any(g.claims for g in gold)
    problems = [
        (g.doc, claim, label_problem(claim, reference))
        for g in gold
        for claim in g.claims
        if label_problem(claim, reference)
    ]
    assert problems == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"actor": "hezbollah"}, "unknown actor 'hezbollah'"),
        ({"negotiation": "ukraine"}, "no issue 'hostages_released' in negotiation 'ukraine'"),
        ({"stance": "welcomes"}, "unknown stance 'welcomes'"),
        ({"value": "some"}, "value 'some' is not a count_or_all value of hostages_released"),
        ({"value": "0"}, "value '0' is not a count_or_all value of hostages_released"),
        ({"speaker": ""}, "no speaker"),
        ({"issue": "release_categories", "value": "women,children"}, "is not a categories value"),
        ({"issue": "permanent_ceasefire", "value": "no"}, "is not a flag value"),
    ],
)
def test_label_check_names_what_the_seeds_cannot_hold(change: dict[str, str], problem: str) -> None:
    reference = load_reference(REPO / "seeds")
    valid = {
        "negotiation": "gaza",
        "actor": "united_states",
        "issue": "hostages_released",
        "value": "all",
        "stance": "demands",
        "speaker": "MS. JEAN-PIERRE",
    }
    assert label_problem(valid, reference) is None
    found = label_problem(valid | change, reference)
    assert found is not None and problem in found


def test_speaker_is_whoever_holds_the_floor_at_an_offset() -> None:
    text = (
        "Statement opening.\n"
        "MS. JEAN-PIERRE:  We want all hostages home.\n"
        "Q    Will Israel agree to a six-week truce?\n"
        "QAnd another thing.\n"
        "MR. KIRBY: We welcome that.\n"
        "Still Kirby on a new line."
    )
    assert speaker_at(text, text.index("opening")) == "statement"
    assert speaker_at(text, text.index("all hostages")) == "MS. JEAN-PIERRE"
    assert speaker_at(text, text.index("six-week")) == "Q"
    assert speaker_at(text, text.index("another thing")) == "Q"
    assert speaker_at(text, text.index("Still Kirby")) == "MR. KIRBY"
