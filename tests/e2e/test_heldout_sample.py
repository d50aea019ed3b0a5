"""The never-tuned held-out strata (``bench/heldout_sample.py``): the gold files are exactly what the
documented draw gives, hold references and labels only, and every label is one the seeds can hold.

Extractor 2.3.0 was tuned on their misses (the never-tuned estimate moved to ``bench/blind_sample.py``),
so they now guard what was gained, as the development sets do: each floor allows one triple lost.
The draw reads the texts from ../shared/, so those tests skip where it is absent (and fail in CI, see
``shared_path``); the labels are checked against the seeds alone.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench.heldout_sample import (
    GAZA_SIZE,
    GOLD,
    NEGOTIATIONS,
    STRATA,
    UKRAINE_SIZE,
    Negotiation,
    Sources,
    evaluate_sample,
    read_gold,
    select,
)
from etl.extract.engine import Extractor
from etl.extract.evaluate import format_report
from etl.seeds import IssueSeed, load_reference
from models.enums import Stance, ValueType
from tests.conftest import REPO, shared_path

RANDOM_SIZE: dict[Negotiation, int] = {"gaza": GAZA_SIZE, "ukraine": UKRAINE_SIZE}
# 2.2.0 (never tuned on them): gaza P 0.923 R 0.571 F1 0.706 (21 triples), ukraine P 1.000 R 0.532
# F1 0.694 (47); 2.3.0, tuned on their misses: gaza P 1.000 R 0.762 F1 0.865, ukraine P 1.000
# R 0.745 F1 0.854
F1_FLOOR: dict[Negotiation, float] = {"gaza": 0.83, "ukraine": 0.83}


@pytest.mark.parametrize("negotiation", NEGOTIATIONS)
def test_the_tuned_held_out_sets_keep_their_figures(extractor: Extractor, negotiation: Negotiation) -> None:
    sources = Sources(
        corpus=shared_path("corpus", "news_items_2023q4.jsonl"),
        dev_items=shared_path("eval", "dev_items.jsonl"),
        headlines=shared_path("corpus", "headlines_2025_2026.jsonl"),
        headline_dev_items=shared_path("eval", "ukraine_dev_items.jsonl"),
    )
    report = evaluate_sample(extractor, negotiation, sources=sources)
    assert report.item_errors == []
    scores = report.per_negotiation[negotiation]
    assert scores.f1 >= F1_FLOOR[negotiation], format_report(report)


@pytest.mark.parametrize("negotiation", NEGOTIATIONS)
def test_gold_file_is_exactly_the_sample_the_draw_gives(negotiation: Negotiation) -> None:
    sources = Sources(
        corpus=shared_path("corpus", "news_items_2023q4.jsonl"),
        dev_items=shared_path("eval", "dev_items.jsonl"),
        headlines=shared_path("corpus", "headlines_2025_2026.jsonl"),
        headline_dev_items=shared_path("eval", "ukraine_dev_items.jsonl"),
    )
    gold = read_gold(GOLD[negotiation])
    drawn = select(negotiation, sources)
    assert len(gold) == len({g.ref for g in gold})  # one line per item
    assert {g.ref: g.stratum for g in gold} == drawn
    assert sum(g.stratum == "random" for g in gold) == RANDOM_SIZE[negotiation]
    assert {g.stratum for g in gold} == set(STRATA[negotiation])


@pytest.mark.parametrize("negotiation", NEGOTIATIONS)
def test_gold_file_holds_references_and_labels_only(negotiation: Negotiation) -> None:
    for line in GOLD[negotiation].read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        reference = {"line"} if isinstance(row.get("line"), int) else {"id"}
        assert set(row) == reference | {"stratum", "claims"}
        for claim in row["claims"]:
            assert set(claim) - {"note"} == {"negotiation", "actor", "issue", "value", "stance"}
            assert len(claim.get("note", "")) <= 120  # a short reason, never a quotation of the text


@pytest.mark.parametrize("negotiation", NEGOTIATIONS)
def test_every_label_is_one_the_seeds_can_hold(negotiation: Negotiation) -> None:
    reference = load_reference(REPO / "seeds")
    actors = {a.id for a in reference.actors}
    issues = {(n.key, i.key): i for n in reference.negotiations for i in n.issues}
    claims = [c for g in read_gold(GOLD[negotiation]) for c in g.claims]
    assert claims
    for claim in claims:
        assert claim["actor"] in actors, claim
        assert (claim["negotiation"], claim["issue"]) in issues, claim
        assert claim["stance"] in set(Stance), claim
        assert value_is_accepted(issues[claim["negotiation"], claim["issue"]], claim["value"]), claim


def value_is_accepted(issue: IssueSeed, value: Any) -> bool:
    """Whether ``value`` is one an issue of this value type holds, written as the codebook writes it."""
    positive = isinstance(value, int) and not isinstance(value, bool) and value > 0
    match issue.value_type:
        case "days" | "count":
            return positive
        case "count_or_all":
            return positive or value == "all"
        case "days_or_flag":
            return positive or value == "yes"
        case "number":
            return positive or (isinstance(value, float) and value > 0)
        case "flag":
            return value == "yes"
        case "choice":
            return value in issue.choices
        case "categories":
            parts = value.split(",") if isinstance(value, str) else []
            return bool(parts) and parts == sorted(set(parts)) and set(parts) <= set(issue.choices)
    return False


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
