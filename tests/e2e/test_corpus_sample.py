"""The extractor on the second labelled sample of real feed items (``bench/corpus_sample.py``): the
held-back half and the fresh stratum keep the figures measured with extractors 2.2.0 and 2.3.0 (tuned
on every stratum since 2.2.0: these guard against losing what was gained, they are no estimate).

The gold file holds only corpus line numbers and labels; the texts are read from ../shared/ at test
time, so the test skips where the shared corpus is absent (and fails in CI, see ``shared_path``).
"""

from __future__ import annotations

import json

from bench.corpus_sample import (
    FRESH_SIZE,
    GOLD,
    SIZE,
    evaluate_sample,
    half_of,
    read_gold,
    select_lines,
)
from etl.extract.engine import Extractor
from etl.extract.evaluate import format_report
from tests.conftest import shared_path

# each margin allows for one triple lost, no more.
# held-back half (both strata, 26 gold triples): 1.4.0 P 1.000 R 0.885 F1 0.939; 2.2.0 P 1.000
# R 0.962 F1 0.980
HELD_F1_FLOOR = 0.95
# fresh stratum (37 gold triples): 1.4.0 P 1.000 R 0.541 F1 0.702. Relabelled for codebook v2, whose
# actors every negotiation shares (Russia demanding all hostages' release is a gaza claim): 38
# triples, and 2.0.0 scores P 1.000 R 0.553 F1 0.712. Read again for v2's rule 10 (a bound gives its
# number): 41 triples; 2.1.0 P 1.000 R 0.512 F1 0.677, 2.2.0 (tuned on it) P 1.000 R 0.927 F1 0.962,
# 2.3.0 P 1.000 R 1.000 F1 1.000
FRESH_F1_FLOOR = 0.98


def test_held_back_half_keeps_its_figure(extractor: Extractor) -> None:
    corpus = shared_path("corpus", "news_items_2023q4.jsonl")
    report = evaluate_sample(extractor, "held", corpus=corpus)
    assert report.item_errors == []
    assert report.overall.true_positives + report.overall.false_negatives >= 20  # the half is scored
    assert report.overall.f1 >= HELD_F1_FLOOR, format_report(report)


def test_fresh_stratum_keeps_its_figure(extractor: Extractor) -> None:
    corpus = shared_path("corpus", "news_items_2023q4.jsonl")
    report = evaluate_sample(extractor, stratum="fresh", corpus=corpus)
    assert report.item_errors == []
    assert report.items == FRESH_SIZE
    assert report.overall.true_positives + report.overall.false_negatives >= 30
    assert report.overall.f1 >= FRESH_F1_FLOOR, format_report(report)


def test_gold_file_is_the_sample_the_procedure_draws() -> None:
    corpus = shared_path("corpus", "news_items_2023q4.jsonl")
    dev_items = shared_path("eval", "dev_items.jsonl")
    gold = read_gold(GOLD)
    assert {g.line: g.stratum for g in gold} == select_lines(corpus, dev_items)
    assert sum(g.stratum == "random" for g in gold) == SIZE
    assert sum(g.stratum == "fresh" for g in gold) == FRESH_SIZE
    assert {half_of(g.line) for g in gold} == {"tune", "held"}


def test_gold_file_holds_references_and_labels_only() -> None:
    for line in GOLD.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        assert set(row) == {"line", "stratum", "claims"}
        for claim in row["claims"]:
            # no evidence text from the corpus; a negotiation only where codebook v2 gave the claim
            assert set(claim) - {"negotiation"} == {"actor", "issue", "value", "stance"}
