"""The second blind round (``bench/blind_headlines.py``): the gold files are exactly what the
documented draw gives, hold references and labels only, and every label is one the seeds can hold.

No figure is asserted here, as for the other blind strata: the round measures the extractor once,
and a floor would invite tuning on it. The draw reads the texts from ../shared/ (see ``shared_path``).
"""

from __future__ import annotations

import pytest

from bench.blind_headlines import GOLD, STRATUM, select
from bench.heldout_sample import NEGOTIATIONS, Negotiation, read_gold
from tests.e2e.gold_files import (
    assert_labels_fit_the_seeds,
    assert_references_and_labels_only,
    shared_sources,
)


@pytest.mark.parametrize("negotiation", NEGOTIATIONS)
def test_gold_file_is_exactly_the_draw(negotiation: Negotiation) -> None:
    gold = read_gold(GOLD[negotiation])
    assert len(gold) == len({g.ref for g in gold})  # one line per headline
    assert [g.ref for g in gold] == list(select(negotiation, shared_sources()))  # in the labellers' order
    assert {g.stratum for g in gold} == {STRATUM[negotiation]}


@pytest.mark.parametrize("negotiation", NEGOTIATIONS)
def test_gold_file_holds_references_and_labels_only(negotiation: Negotiation) -> None:
    assert_references_and_labels_only(GOLD[negotiation])


@pytest.mark.parametrize("negotiation", NEGOTIATIONS)
def test_every_label_is_one_the_seeds_can_hold(negotiation: Negotiation) -> None:
    assert_labels_fit_the_seeds(read_gold(GOLD[negotiation]))
