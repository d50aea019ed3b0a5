"""The blind census strata (``bench/blind_sample.py``): the gold files are exactly what the documented
draw gives, hold references and labels only, and every label is one the seeds can hold.

No figure is asserted here, as for the held-out strata: the census measures the extractor once, and a
floor would invite tuning on it. The draw reads the texts from ../shared/ (see ``shared_path``).
"""

from __future__ import annotations

import json

import pytest

from bench.blind_sample import GOLD, STRATUM, select
from bench.heldout_sample import NEGOTIATIONS, Negotiation, Sources, read_gold
from etl.seeds import load_reference
from models.enums import Stance
from tests.conftest import REPO, shared_path
from tests.e2e.test_heldout_sample import value_is_accepted


@pytest.mark.parametrize("negotiation", NEGOTIATIONS)
def test_gold_file_is_exactly_the_census_the_draw_gives(negotiation: Negotiation) -> None:
    sources = Sources(
        corpus=shared_path("corpus", "news_items_2023q4.jsonl"),
        dev_items=shared_path("eval", "dev_items.jsonl"),
        headlines=shared_path("corpus", "headlines_2025_2026.jsonl"),
        headline_dev_items=shared_path("eval", "ukraine_dev_items.jsonl"),
    )
    gold = read_gold(GOLD[negotiation])
    assert len(gold) == len({g.ref for g in gold})  # one line per item
    assert [g.ref for g in gold] == list(select(negotiation, sources))  # all of them, in census order
    assert {g.stratum for g in gold} == {STRATUM}


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
