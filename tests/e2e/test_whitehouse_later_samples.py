"""The White House samples drawn after the first (``bench/whitehouse_blind.py``, ``whitehouse_third.py``,
``whitehouse_fourth.py``): each gold file is the sample its procedure draws from an unchanged corpus,
around every earlier sample, each document within its topic's filter. No figure is asserted: each
sample was labelled blind to measure the extractor, and a floor would invite tuning on it. The draws
read the documents from ../shared/ (see ``shared_path``); ``test_whitehouse_sample.py`` checks what
every White House gold file holds."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from bench import whitehouse_blind, whitehouse_fourth, whitehouse_third
from bench.whitehouse_sample import (
    DEAL_TERM,
    RICH_SINCE,
    Stratum,
    document_body,
    document_sha1,
    drawn_docs,
    is_rich_candidate,
    read_gold,
)
from tests.conftest import shared_path

# each later sample, and every document the samples before it drew
LATER: list[tuple[ModuleType, Callable[[Path], set[str]]]] = [
    (whitehouse_blind, drawn_docs),
    (whitehouse_third, lambda folder: drawn_docs(folder) | set(whitehouse_blind.select_docs(folder))),
    (
        whitehouse_fourth,
        lambda folder: (
            drawn_docs(folder)
            | set(whitehouse_blind.select_docs(folder))
            | set(whitehouse_third.select_docs(folder))
        ),
    ),
]
IDS = [module.__name__.rsplit(".", 1)[-1] for module, _ in LATER]


@pytest.mark.parametrize(("sample", "earlier"), LATER, ids=IDS)
def test_gold_file_is_the_sample_its_procedure_draws_around_the_earlier_ones(
    sample: ModuleType, earlier: Callable[[Path], set[str]]
) -> None:
    folder = shared_path("corpus", "whitehouse")
    gold = read_gold(sample.GOLD)
    drawn = sample.select_docs(folder)
    assert [g.doc for g in gold] == drawn  # in the labeller's order
    assert {g.stratum for g in gold} == {Stratum.RICH}
    assert [g.doc for g in gold if document_sha1(g.doc, folder) != g.sha1] == []
    assert len(set(drawn)) == len(drawn) and not set(drawn) & earlier(folder)
    assert sum(doc.startswith("gaza/") for doc in drawn) == sample.GAZA_SIZE


@pytest.mark.parametrize(("sample", "earlier"), LATER, ids=IDS)
def test_each_document_is_drawn_within_its_topics_filter(
    sample: ModuleType, earlier: Callable[[Path], set[str]]
) -> None:
    folder = shared_path("corpus", "whitehouse")
    with (folder / "index.csv").open(encoding="utf-8", newline="") as index:
        rows = {row["path"]: row for row in csv.DictReader(index)}
    for doc in sample.select_docs(folder):
        row, body = rows[doc], document_body(doc, folder)
        if row["topic"] == "gaza":
            assert is_rich_candidate(row["topic"], row["date"], int(row["bytes"]), body)
        else:  # the Ukraine talks' documents with a deal word, up to the sample's length cap if any
            assert row["topic"] == "ukraine" and row["date"] >= RICH_SINCE["ukraine"]
            assert DEAL_TERM.search(body)
            assert int(row["bytes"]) <= getattr(sample, "UKRAINE_MAX_BYTES", int(row["bytes"]))


def test_the_fourth_samples_pool_is_what_the_first_three_left() -> None:
    folder = shared_path("corpus", "whitehouse")
    earlier = LATER[2][1](folder)
    pool = whitehouse_fourth.pool(folder)
    assert pool and not set(pool) & earlier
    assert set(whitehouse_fourth.select_docs(folder)) <= set(pool)
