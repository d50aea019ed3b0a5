"""Where recall goes: every gold triple of every labelled set, found or missed, and why it was missed.

Each gold triple (negotiation, actor, issue, value) of an item falls in one bucket:

* ``found``: the extractor gives it;
* ``not linked``: the negotiation's value patterns read the issue's value somewhere in the text and
  the text names the actor, but linking gave the value to no one or to someone else;
* ``actor not named``: the value is read, and no mention names the actor;
* ``value not read``: no pattern of the negotiation reads that value of that issue in the text.

``ceiling R`` is the recall a linker that gave every read value to its right actor would reach (the
first three buckets over all gold triples): no linking, however good, goes above it without new value
patterns. ``loose pairs`` weighs the other side: every (actor, value) pair where the value is read in
a sentence that names the actor and no claim of the article holds that value (what a looser linker
would have to choose from), and how many of them are gold triples.

Columns: the gold triples, then one per bucket (``unlnk`` not linked, ``unnmd`` actor not named,
``unread`` value not read), the claims no gold holds (``false``), the extractor's precision, recall
and F1 on the set (as ``parley eval`` scores it), ``ceilR``, and ``loose`` as gold pairs / pairs.
The last rows add up the tuned and the never-tuned sets per negotiation: the pooled figures.

The figures are counts only: no item, text or triple is printed, so the never-tuned sets can be
decomposed without being read (each set's module says how it was drawn and labelled). The sets
rules were tuned on come first: the development sets, ``corpus_sample``, ``headline_sample``, the
held-out strata and the first two White House samples (the second was labelled blind for 2.4.0,
then read to tune 2.5.0); then the never-tuned ones: the census strata, the second blind round and
the third and fourth White House samples.

    python bench/recall_ceiling.py                # every labelled set, tuned then never tuned
    python bench/recall_ceiling.py --tuned        # only the sets rules were tuned on
    python bench/recall_ceiling.py --shared /work/shared
    python bench/recall_ceiling.py --only whitehouse_third   # one set (its name as the rows give it)
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if str(ROOT / "bench") not in sys.path:
    sys.path.insert(0, str(ROOT / "bench"))

import blind_headlines  # noqa: E402
import blind_sample  # noqa: E402
import corpus_sample  # noqa: E402
import headline_sample  # noqa: E402
import heldout_sample  # noqa: E402
import whitehouse_blind  # noqa: E402
import whitehouse_fourth  # noqa: E402
import whitehouse_sample  # noqa: E402
import whitehouse_third  # noqa: E402
from heldout_sample import Sources  # noqa: E402

from etl.extract.engine import EXTRACTOR_VERSION, Extractor, article_text  # noqa: E402
from etl.extract.evaluate import Item, Triple, claim_json, read_eval_files, triple_of, value_text  # noqa: E402
from etl.extract.gazetteer import ACTOR_LABEL, WEAK_ACTOR_LABEL  # noqa: E402
from etl.extract.values import Value  # noqa: E402
from etl.seeds import load_reference  # noqa: E402

Bucket = Literal["found", "not linked", "actor not named", "value not read"]
BUCKETS: tuple[Bucket, ...] = ("found", "not linked", "actor not named", "value not read")
Gold = dict[str, list[dict[str, Any]]]


@dataclass(frozen=True)
class LabelledSet:
    name: str
    tuned: bool
    negotiation: str  # the default of a gold claim that names none
    gold: Gold
    items: list[Item]

    def negotiations(self) -> set[str]:
        """The negotiations the set was labelled for: its default and any its claims name."""
        return {self.negotiation} | {
            str(c.get("negotiation") or self.negotiation) for cs in self.gold.values() for c in cs
        }


@dataclass
class Tally:
    """The buckets of one negotiation's gold triples, the claims no gold holds, and the loose pairs."""

    buckets: Counter[Bucket] = field(default_factory=Counter)
    false_alarms: int = 0
    loose_pairs: int = 0
    loose_gold: int = 0

    def add(self, other: Tally) -> None:
        self.buckets.update(other.buckets)
        self.false_alarms += other.false_alarms
        self.loose_pairs += other.loose_pairs
        self.loose_gold += other.loose_gold

    def row(self, name: str) -> str:
        gold = sum(self.buckets.values())
        found = self.buckets["found"]
        read = gold - self.buckets["value not read"]
        p, r = _ratio(found, found + self.false_alarms), _ratio(found, gold)
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        loose = f"{self.loose_gold}/{self.loose_pairs}"
        counts = "  ".join(f"{self.buckets[b]:>6}" for b in BUCKETS)
        counts = f"{counts}  {self.false_alarms:>6}"
        return (
            f"{name:<30} {gold:>5}  {counts}  {p:>5.3f}  {r:>5.3f}  {f1:>5.3f}  "
            f"{_ratio(read, gold):>7.3f}  {loose:>9}"
        )


HEADER = (
    f"{'set / negotiation':<30} {'gold':>5}  {'found':>6}  {'unlnk':>6}  {'unnmd':>6}  {'unread':>6}  "
    f"{'false':>6}  {'P':>5}  {'R':>5}  {'F1':>5}  {'ceilR':>7}  {'loose':>9}"
)


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def bucket(triple: Triple, found: set[Triple], read: set[tuple[str, str, str]], named: set[str]) -> Bucket:
    """Why ``triple`` (negotiation, actor, issue, value as text) is or is not among ``found``:
    ``read``, the (negotiation, issue, value) the patterns read in the text; ``named``, its actors."""
    negotiation, actor, issue, value = triple
    if triple in found:
        return "found"
    if (negotiation, issue, value) not in read:
        return "value not read"
    return "not linked" if actor in named else "actor not named"


def tally_set(extractor: Extractor, labelled: LabelledSet) -> dict[str, Tally]:
    """Each negotiation's tally over the items of ``labelled`` (every item: the false alarms and the
    loose pairs of an item with no gold claim count too); a claim of a negotiation the set was not
    labelled for is a false alarm, its loose pairs are not counted."""
    tallies: dict[str, Tally] = {n: Tally() for n in sorted(labelled.negotiations())}
    results = extractor.extract_many((item.title, item.text) for item in labelled.items)
    for item, result in zip(labelled.items, results, strict=True):
        gold = {triple_of(c, labelled.negotiation) for c in labelled.gold.get(item.id, [])}
        found = {triple_of(claim_json(c), labelled.negotiation) for c in result.claims}
        text, _ = article_text(item.title, item.text)
        values = [(n.key, value) for n in extractor.negotiations for value in n.rules.values(text)]
        read = {(key, value.rule.seed.key, value_text(value.value)) for key, value in values}
        named = {m.actor for m in result.mentions}
        for triple in gold:
            tallies.setdefault(triple[0], Tally()).buckets[bucket(triple, found, read, named)] += 1
        for triple in found - gold:
            tallies.setdefault(triple[0], Tally()).false_alarms += 1
        for triple in loose_pairs(extractor, text, values, found):
            if triple[0] not in tallies:
                continue  # a negotiation the set was not labelled for: its pairs say nothing
            tally = tallies[triple[0]]
            tally.loose_pairs += 1
            tally.loose_gold += triple in gold
    return tallies


def loose_pairs(
    extractor: Extractor, text: str, values: list[tuple[str, Value]], found: set[Triple]
) -> set[Triple]:
    """The (negotiation, actor, issue, value) of each of ``values`` (by negotiation, read in
    ``text``) in a sentence naming the actor, where no claim of the article holds that value of
    that issue."""
    held = {(n, i, v) for n, _, i, v in found}
    doc = None
    pairs: set[Triple] = set()
    for key, value in values:
        as_text = value_text(value.value)
        if (key, value.rule.seed.key, as_text) in held:
            continue
        doc = doc if doc is not None else extractor.nlp(text)
        span = doc.char_span(value.start, value.end, alignment_mode="expand")
        if span is None:
            continue
        sent = span.sent
        for ent in doc.ents:
            if ent.label_ in (ACTOR_LABEL, WEAK_ACTOR_LABEL) and sent.start <= ent.start < sent.end:
                pairs.add((key, ent.ent_id_, value.rule.seed.key, as_text))
    return pairs


# --- the labelled sets ---------------------------------------------------------------------------


def _headline_items(refs: Iterable[str], titles: dict[str, str]) -> list[Item]:
    return [Item(line=n, id=ref, title=titles[ref], text="") for n, ref in enumerate(refs, start=1)]


def _reference_set(
    name: str, tuned: bool, negotiation: str, gold: list[heldout_sample.GoldItem], items: list[Item]
) -> LabelledSet:
    return LabelledSet(name, tuned, negotiation, {str(g.ref): g.claims for g in gold}, items)


def tuned_sets(shared: Path, sources: Sources) -> Iterable[LabelledSet]:
    for name, negotiation, gold_file, items_file in (
        ("dev gaza", "gaza", "dev_gold.jsonl", "dev_items.jsonl"),
        ("dev ukraine", "ukraine", "ukraine_dev_gold.jsonl", "ukraine_dev_items.jsonl"),
    ):
        gold, items = read_eval_files(shared / "eval" / gold_file, shared / "eval" / items_file)
        yield LabelledSet(name, True, negotiation, gold, items)
    sample = corpus_sample.read_gold(corpus_sample.GOLD)
    items = heldout_sample.items_of([g.line for g in sample], sources)
    yield LabelledSet("corpus_sample", True, "gaza", {str(g.line): g.claims for g in sample}, items)
    headlines = headline_sample.candidates(sources.headlines, sources.headline_dev_items)
    labels = headline_sample.read_gold(headline_sample.GOLD)
    titles = {ref: row["title"] for ref, row in headlines.items()}
    yield LabelledSet("headline_sample", True, "ukraine", labels, _headline_items(labels, titles))
    for negotiation in heldout_sample.NEGOTIATIONS:
        gold = heldout_sample.read_gold(heldout_sample.GOLD[negotiation])
        items = heldout_sample.items_of([g.ref for g in gold], sources)
        yield _reference_set(f"held-out {negotiation}", True, negotiation, gold, items)
    yield _whitehouse_set("whitehouse_sample", True, whitehouse_sample.GOLD, shared)
    # labelled blind for 2.4.0 and scored with it, then read to tune 2.5.0
    yield _whitehouse_set("whitehouse_blind", True, whitehouse_blind.GOLD, shared)


def never_tuned_sets(shared: Path, sources: Sources) -> Iterable[LabelledSet]:
    for negotiation in heldout_sample.NEGOTIATIONS:
        gold = heldout_sample.read_gold(blind_sample.GOLD[negotiation])
        items = heldout_sample.items_of([g.ref for g in gold], sources)
        yield _reference_set(f"census {negotiation}", False, negotiation, gold, items)
    titles = blind_headlines.headlines(sources)
    for negotiation in heldout_sample.NEGOTIATIONS:
        gold = heldout_sample.read_gold(blind_headlines.GOLD[negotiation])
        items = _headline_items([str(g.ref) for g in gold], titles)
        yield _reference_set(f"second round {negotiation}", False, negotiation, gold, items)
    yield _whitehouse_set("whitehouse_third", False, whitehouse_third.GOLD, shared)
    yield _whitehouse_set("whitehouse_fourth", False, whitehouse_fourth.GOLD, shared)


def _whitehouse_set(name: str, tuned: bool, gold_path: Path, shared: Path) -> LabelledSet:
    gold = whitehouse_sample.read_gold(gold_path)
    items = whitehouse_sample.sample_items([g.doc for g in gold], shared / "corpus" / "whitehouse")
    return LabelledSet(name, tuned, "gaza", {g.doc: g.claims for g in gold}, items)


def report(
    extractor: Extractor, sets: Iterable[LabelledSet], out: Callable[[str], None] = print
) -> dict[tuple[bool, str], Tally]:
    """Print a row per set and negotiation, then the tuned and never-tuned totals; return the totals."""
    totals: dict[tuple[bool, str], Tally] = {}
    out(HEADER)
    for labelled in sets:
        for negotiation, tally in sorted(tally_set(extractor, labelled).items()):
            out(tally.row(f"{labelled.name} / {negotiation}"))
            totals.setdefault((labelled.tuned, negotiation), Tally()).add(tally)
    out("")
    for (tuned, negotiation), tally in sorted(totals.items(), key=lambda kv: (not kv[0][0], kv[0][1])):
        out(tally.row(f"{'tuned' if tuned else 'never tuned'} / {negotiation}"))
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tuned", action="store_true", help="only the sets rules were tuned on")
    parser.add_argument("--only", metavar="NAME", help="only the set of this name (e.g. whitehouse_third)")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared", help="the shared material")
    args = parser.parse_args()
    if not (args.shared / "corpus").is_dir():
        raise SystemExit(f"recall_ceiling: {args.shared / 'corpus'} is absent: pass --shared")
    sources = blind_sample.sources_in(args.shared)
    sets: Iterable[LabelledSet] = tuned_sets(args.shared, sources)
    if not args.tuned:
        sets = [*sets, *never_tuned_sets(args.shared, sources)]
    if args.only:
        sets = [s for s in sets if s.name == args.only]
        if not sets:
            raise SystemExit(f"recall_ceiling: no labelled set is named {args.only!r}")
    extractor = Extractor.load(load_reference(ROOT / "seeds"))
    print(f"extractor {EXTRACTOR_VERSION}, model {extractor.model_name}")
    report(extractor, sets)


if __name__ == "__main__":
    main()
