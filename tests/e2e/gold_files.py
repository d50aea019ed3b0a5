"""Checks every hand-labelled gold file of ``bench/`` must pass (the held-out and the blind strata):
references and labels only, labels the seeds can hold, and the shared texts they are drawn from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.heldout_sample import GoldItem, Sources
from etl.seeds import IssueSeed, load_reference
from models.enums import Stance
from tests.conftest import REPO, shared_path


def shared_sources() -> Sources:
    """The shared files the strata are drawn from (each skips, or fails in CI, when absent)."""
    return Sources(
        corpus=shared_path("corpus", "news_items_2023q4.jsonl"),
        dev_items=shared_path("eval", "dev_items.jsonl"),
        headlines=shared_path("corpus", "headlines_2025_2026.jsonl"),
        headline_dev_items=shared_path("eval", "ukraine_dev_items.jsonl"),
    )


def assert_references_and_labels_only(path: Path) -> None:
    """Each line a reference, a stratum and claims; a claim's note short, never a quotation."""
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        reference = {"line"} if isinstance(row.get("line"), int) else {"id"}
        assert set(row) == reference | {"stratum", "claims"}
        for claim in row["claims"]:
            assert set(claim) - {"note"} == {"negotiation", "actor", "issue", "value", "stance"}
            assert len(claim.get("note", "")) <= 120  # a short reason, never a quotation of the text


def assert_labels_fit_the_seeds(gold: list[GoldItem]) -> None:
    """Every claim names a seeded actor, an issue of its negotiation, a stance and a value it holds."""
    reference = load_reference(REPO / "seeds")
    actors = {a.id for a in reference.actors}
    issues = {(n.key, i.key): i for n in reference.negotiations for i in n.issues}
    claims = [c for g in gold for c in g.claims]
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
