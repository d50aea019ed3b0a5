"""The fourth White House sample (``bench/whitehouse_fourth.py``): the gold file is the sample its
procedure draws from an unchanged corpus, none of it drawn by the first three samples, holds references
and labels only, and every label is one the seeds can hold. No figure is asserted: the sample measures
the extractor once, and a floor would invite tuning on it. The draw reads the documents from
../shared/ (see ``shared_path``)."""

from __future__ import annotations

import csv
import json

from bench.whitehouse_blind import select_docs as second_draw
from bench.whitehouse_fourth import GAZA_SIZE, GOLD, pool, select_docs
from bench.whitehouse_sample import (
    Stratum,
    document_body,
    document_sha1,
    is_rich_candidate,
    label_problem,
    read_gold,
)
from bench.whitehouse_sample import select_docs as first_draw
from bench.whitehouse_third import select_docs as third_draw
from etl.seeds import load_reference
from tests.conftest import REPO, shared_path


def test_gold_file_is_the_sample_the_procedure_draws_from_an_unchanged_corpus() -> None:
    folder = shared_path("corpus", "whitehouse")
    gold = read_gold(GOLD)
    drawn = select_docs(folder)
    assert [g.doc for g in gold] == drawn
    assert {g.stratum for g in gold} == {Stratum.RICH}
    assert [g.doc for g in gold if document_sha1(g.doc, folder) != g.sha1] == []
    earlier = (
        {doc for docs in first_draw(folder).values() for doc in docs}
        | set(second_draw(folder))
        | set(third_draw(folder))
    )
    assert len(set(drawn)) == len(drawn) and not set(drawn) & earlier  # none the first three samples read
    assert not set(pool(folder)) & earlier
    assert len(drawn) == GAZA_SIZE and all(doc.startswith("gaza/") for doc in drawn)


def test_each_document_is_drawn_within_its_topics_filter() -> None:
    folder = shared_path("corpus", "whitehouse")
    with (folder / "index.csv").open(encoding="utf-8", newline="") as index:
        rows = {row["path"]: row for row in csv.DictReader(index)}
    for doc in select_docs(folder):
        row = rows[doc]
        assert row["topic"] == "gaza"
        assert is_rich_candidate(row["topic"], row["date"], int(row["bytes"]), document_body(doc, folder))


def test_gold_file_holds_references_and_labels_only() -> None:
    for line in GOLD.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        assert set(row) == {"doc", "sha1", "stratum", "claims"}
        for claim in row["claims"]:
            assert {"negotiation", "actor", "issue", "value", "stance", "speaker"} <= set(claim)
            assert set(claim) <= {"negotiation", "actor", "issue", "value", "stance", "speaker", "note"}
            assert len(claim.get("note", "")) <= 120  # the labeller's reason, never a quotation


def test_every_label_is_valid_against_the_seeds() -> None:
    reference = load_reference(REPO / "seeds")
    gold = read_gold(GOLD)
    assert any(g.claims for g in gold)
    problems = [
        (g.doc, c, label_problem(c, reference)) for g in gold for c in g.claims if label_problem(c, reference)
    ]
    assert problems == []
