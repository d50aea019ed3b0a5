"""The never-tuned held-out strata (``bench/heldout_sample.py``): the gold files are exactly what the
documented draw gives, hold references and labels only, and every label is one the seeds can hold.

Extractor 2.3.0 was tuned on their misses (the never-tuned estimate moved to ``bench/blind_sample.py``),
so they now guard what was gained, as the development sets do: each floor allows one triple lost.
The draw reads the texts from ../shared/, so those tests skip where it is absent (and fail in CI, see
``shared_path``); the labels are checked against the seeds alone.
"""

from __future__ import annotations

from typing import Any

import pytest

from bench.heldout_sample import (
    GAZA_SIZE,
    GOLD,
    NEGOTIATIONS,
    STRATA,
    UKRAINE_SIZE,
    Negotiation,
    evaluate_sample,
    read_gold,
    select,
)
from etl.extract.engine import Extractor
from etl.extract.evaluate import format_report
from etl.seeds import IssueSeed
from models.enums import ValueType
from tests.e2e.gold_files import (
    assert_labels_fit_the_seeds,
    assert_references_and_labels_only,
    shared_sources,
    value_is_accepted,
)

RANDOM_SIZE: dict[Negotiation, int] = {"gaza": GAZA_SIZE, "ukraine": UKRAINE_SIZE}
# 2.2.0 (never tuned on them): gaza P 0.923 R 0.571 F1 0.706 (21 triples), ukraine P 1.000 R 0.532
# F1 0.694 (47); 2.3.0, tuned on their misses: gaza P 1.000 R 0.762 F1 0.865, ukraine P 1.000
# R 0.745 F1 0.854; 2.4.0: gaza the same, ukraine P 1.000 R 0.766 F1 0.867
F1_FLOOR: dict[Negotiation, float] = {"gaza": 0.83, "ukraine": 0.83}


@pytest.mark.parametrize("negotiation", NEGOTIATIONS)
def test_the_tuned_held_out_sets_keep_their_figures(extractor: Extractor, negotiation: Negotiation) -> None:
    sources = shared_sources()
    report = evaluate_sample(extractor, negotiation, sources=sources)
    assert report.item_errors == []
    scores = report.per_negotiation[negotiation]
    assert scores.f1 >= F1_FLOOR[negotiation], format_report(report)


@pytest.mark.parametrize("negotiation", NEGOTIATIONS)
def test_gold_file_is_exactly_the_sample_the_draw_gives(negotiation: Negotiation) -> None:
    sources = shared_sources()
    gold = read_gold(GOLD[negotiation])
    drawn = select(negotiation, sources)
    assert len(gold) == len({g.ref for g in gold})  # one line per item
    assert {g.ref: g.stratum for g in gold} == drawn
    assert sum(g.stratum == "random" for g in gold) == RANDOM_SIZE[negotiation]
    assert {g.stratum for g in gold} == set(STRATA[negotiation])


@pytest.mark.parametrize("negotiation", NEGOTIATIONS)
def test_gold_file_holds_references_and_labels_only(negotiation: Negotiation) -> None:
    assert_references_and_labels_only(GOLD[negotiation])


@pytest.mark.parametrize("negotiation", NEGOTIATIONS)
def test_every_label_is_one_the_seeds_can_hold(negotiation: Negotiation) -> None:
    assert_labels_fit_the_seeds(read_gold(GOLD[negotiation]))


@pytest.mark.parametrize(
    ("value_type", "choices", "value", "accepted"),
    [
        ("days", [], 4, True),
        ("days", [], "4", False),
        ("days", [], 0, False),
        ("count_or_all", [], "all", True),
        ("count_or_all", [], "some", False),
        ("days_or_flag", [], "yes", True),
        ("flag", [], "no", False),
        ("flag", [], True, False),
        ("choice", ["full", "partial"], "partial", True),
        ("choice", ["full", "partial"], "most", False),
        ("categories", ["children", "women"], "children,women", True),
        ("categories", ["children", "women"], "women,children", False),
        ("categories", ["children", "women"], "children,men", False),
    ],
)
def test_value_check_refuses_what_the_codebook_does_not_write(
    value_type: str, choices: list[str], value: Any, accepted: bool
) -> None:
    issue = IssueSeed(key="term", label="Term", value_type=ValueType(value_type), choices=choices)
    assert value_is_accepted(issue, value) is accepted
