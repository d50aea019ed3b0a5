"""``bench/recall_ceiling.py``: each gold triple lands in the bucket that says why it was missed, and a
set's tally counts false alarms and loose pairs, with the real extractor on sentences written here."""

from __future__ import annotations

import pytest

from bench.recall_ceiling import LabelledSet, Tally, bucket, tally_set
from etl.extract.engine import Extractor
from etl.extract.evaluate import Item

READ = {("gaza", "ceasefire_duration", "5")}


@pytest.mark.parametrize(
    ("triple", "found", "named", "expected"),
    [
        (
            ("gaza", "hamas", "ceasefire_duration", "5"),
            {("gaza", "hamas", "ceasefire_duration", "5")},
            {"hamas"},
            "found",
        ),
        (
            ("gaza", "qatar", "ceasefire_duration", "5"),
            {("gaza", "hamas", "ceasefire_duration", "5")},
            {"hamas", "qatar"},
            "not linked",
        ),
        (("gaza", "qatar", "ceasefire_duration", "5"), set(), {"hamas"}, "actor not named"),
        (("gaza", "hamas", "ceasefire_duration", "4"), set(), {"hamas"}, "value not read"),
        (("ukraine", "hamas", "ceasefire_duration", "5"), set(), {"hamas"}, "value not read"),
    ],
)
def test_bucket(
    triple: tuple[str, str, str, str], found: set[tuple[str, str, str, str]], named: set[str], expected: str
) -> None:
    assert bucket(triple, found, READ, named) == expected


def test_tally_counts_buckets_false_alarms_and_loose_pairs(extractor: Extractor) -> None:
    demands = "Hamas demands a five-day truce."
    released = "Hamas released 13 hostages on Friday."
    labelled = LabelledSet(
        "written",
        tuned=True,
        negotiation="gaza",
        gold={
            "1": [{"actor": "hamas", "issue": "ceasefire_duration", "value": 5, "stance": "demands"}],
            # the labeller's triple the text holds no value for; the extractor's claim is then a false alarm
            "2": [{"actor": "hamas", "issue": "ceasefire_duration", "value": 3, "stance": "demands"}],
            # implementation (rule 8): no claim, yet a value read beside a named actor, so a loose pair
            "3": [],
        },
        items=[
            Item(line=1, id="1", title=demands, text=""),
            Item(line=2, id="2", title=demands, text=""),
            Item(line=3, id="3", title=released, text=""),
        ],
    )
    tallies = tally_set(extractor, labelled)
    assert set(tallies) == {"gaza"}
    gaza = tallies["gaza"]
    assert dict(gaza.buckets) == {"found": 1, "value not read": 1}
    assert gaza.false_alarms == 1
    assert (gaza.loose_gold, gaza.loose_pairs) == (0, 1)
    assert gaza.row("written / gaza").split()[3:] == [
        "2",
        "1",
        "0",
        "0",
        "1",
        "1",
        "0.500",
        "0.500",
        "0.500",
        "0.500",
        "0/1",
    ]


def test_tally_add_sums_every_count() -> None:
    one, two = Tally(), Tally()
    one.buckets["found"] = 2
    one.false_alarms, one.loose_pairs, one.loose_gold = 1, 4, 1
    two.buckets.update({"found": 1, "not linked": 3})
    two.false_alarms, two.loose_pairs, two.loose_gold = 2, 5, 2
    one.add(two)
    assert dict(one.buckets) == {"found": 3, "not linked": 3}
    assert (one.false_alarms, one.loose_pairs, one.loose_gold) == (3, 9, 3)
