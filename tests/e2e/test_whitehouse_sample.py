"""The labelled sample of White House documents (``bench/whitehouse_sample.py``): the gold file is the
sample the procedure draws, from the corpus it was labelled on, and every label is one the seeds
can hold.

The gold file holds only document paths, their sha1 and labels; the documents are read from
../shared/ at test time, so the draw tests skip where the shared corpus is absent (and fail in CI,
see ``shared_path``). No precision or recall floor: the figures are reported by the script.
"""

from __future__ import annotations

import json

import pytest

from bench.whitehouse_sample import (
    GOLD,
    SIZES,
    document_sha1,
    label_problem,
    read_gold,
    select_docs,
    speaker_at,
)
from etl.seeds import load_reference
from tests.conftest import REPO, shared_path


def test_gold_file_is_the_sample_the_procedure_draws_from_an_unchanged_corpus() -> None:
    folder = shared_path("corpus", "whitehouse")
    gold = read_gold()
    drawn = select_docs(folder)
    assert [g.doc for g in gold] == drawn
    assert len(drawn) == sum(SIZES.values()) == len(set(drawn))
    for topic, size in SIZES.items():
        assert sum(doc.startswith(f"{topic}/") for doc in drawn) == size
    changed = [g.doc for g in gold if document_sha1(g.doc, folder) != g.sha1]
    assert changed == []


def test_gold_file_holds_references_and_labels_only() -> None:
    for line in GOLD.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        assert set(row) == {"doc", "sha1", "claims"}
        for claim in row["claims"]:
            assert {"negotiation", "actor", "issue", "value", "stance", "speaker"} <= set(claim)
            assert set(claim) <= {"negotiation", "actor", "issue", "value", "stance", "speaker", "note"}


def test_every_label_is_valid_against_the_seeds() -> None:
    reference = load_reference(REPO / "seeds")
    problems = [
        (g.doc, claim, label_problem(claim, reference))
        for g in read_gold()
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
