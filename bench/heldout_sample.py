"""Held-out strata no rule is ever tuned on (issue 14): one set per negotiation, scored like ``parley eval``.

The texts (``../shared/corpus/``) must never be copied into the project, so each gold file holds only
references and labels, one line per drawn item: ``{"line": <0-based corpus line>, "stratum",
"claims"}`` for a 2023 corpus item and ``{"id": <first 12 hex of sha1(title)>, "stratum", "claims"}``
for a 2025-26 headline (the id scheme of ``bench/headline_sample.py``); each claim is
``{"negotiation", "actor", "issue", "value", "stance"}``, with a short ``"note"`` on a hard call.
Every item was labelled by hand, by ``../shared/CODEBOOK.md`` (v2) and the conventions of
``../shared/eval/README.md``, reading what the extractor reads (title + description for a corpus item,
the headline alone for a headline), after the draw and before the extractor or any eval ran on them:
the gold files were committed on their own (64daec8) before scoring was written. Use these strata only
to measure; a rule changed after reading their misses makes them tuned, and a new stratum is needed.

``tests/fixtures/gaza_heldout_gold.jsonl`` (275 items, 21 claims)

* ``random`` (120 items, 5 claims): ``random.Random(GAZA_SEED).sample(pool, GAZA_SIZE)``, where the
  pool is ``bench/corpus_sample.py``'s candidates (one per distinct text, none of the development set)
  in no stratum of its gold file. The brief asked for those where ``states_a_position`` holds; none is
  left (``corpus_sample`` took all 158 into ``rich`` and ``fresh``), so the pool is the 599 that have
  one half of it, a position word or a value word.
* ``rich`` (37 items, 9 claims): every other item of that pool naming a value
  ``states_a_position`` does not read (:data:`_FURTHER_VALUES`: "two more days", "the seventh day",
  "weeklong", "all the hostages", women, children, the elderly, foreigners).
* ``headlines`` (118 items, 7 claims): every distinct 2025-26 headline
  (``../shared/corpus/headlines_2025_2026.jsonl``) about the talks by ``corpus_sample``'s own test
  (an issue word and Gaza, Israel, Hamas or Palestinians), naming none of ``headline_sample``'s
  Russia-Ukraine words, with one of ``corpus_sample``'s position words; none of the Ukraine
  development set. A third of them are about Israel and Lebanon: no Gaza claim, whatever their numbers.

The 2023 corpus has few positions left that no stratum holds: 21 triples is what an honest Gaza
estimate can stand on today, so each triple moves recall by about five points.

``tests/fixtures/ukraine_heldout_gold.jsonl`` (200 headlines, 47 claims)

* ``random`` (150, 26 claims): ``random.Random(UKRAINE_SEED).sample(pool, UKRAINE_SIZE)`` over
  ``headline_sample``'s candidates in neither the development set nor its gold file (433).
* ``rich`` (50, 21 claims): drawn because ``random`` gave fewer than 35 claims: every other
  candidate of the pool with one of ``corpus_sample``'s position words.

Where the codebook is silent, the labels decide as follows (and were applied to every item):

1. Gaza has no ``ceasefire`` issue: a ceasefire, truce or pause with no length and not said to be
   permanent gives no claim. "Permanent" means the words the codebook lists (permanent, an end to the
   war, complete or full cessation); "durable", "lasting", "immediate", "sustainable" and "until the
   aggression stops" are not.
2. A truce or release carried out, beginning or in force ("four-day truce begins", "under the truce,
   39 will be released") is implementation (rule 8), as ``corpus_sample``'s gold reads it; a truce
   "extended by N days" is agreed by both parties, as that gold reads it too.
3. A mediator announcing a truce between the named parties is rule 2: the parties accept, the mediator
   holds nothing ("mediators announced a four-day truce between Israel and Hamas"; "Trump announces
   three-day ceasefire in Russia-Ukraine war").
4. A government's own measure, announced or taken, is its proposal: "Putin's Easter ceasefire" and
   "Ukraine's unilateral ceasefire" (proposes), "US 30-day waiver on Russian oil sanctions" and
   "Britain eases sanctions on Russian oil" (``sanctions_relief`` proposes, whatever the motive).
5. Criticism with an explicit verb of opposition is rejection ("condemns", "is not the right
   decision", "snubs"); backing off a demand, a "hard line", reluctance, a threat ("would be
   targets") or vowing to fight on are not.
6. A package a party offers is proposed whole: what it asks in return is ``proposes`` too ("freeing
   70 hostages in return for 5-day truce"). A plan's terms are its author's proposal whatever the
   verb ("Trump plan calls for release of all hostages"). A condition ("won't discuss until …") is a
   demand.
7. Considering or eyeing a measure is proposing it ("EU leaders consider using seized assets").
   "EU leaders" is the European Council (``european_union``); "European leaders", "Europe", "Kyiv's
   allies", the G7 and BRICS name no single actor.
8. Only a government speaks for its country: former officials (an ex-prime minister, a dismissed
   minister), legislators (a US senator) and protesters state no position; neither do countries the
   codebook has no id for (Poland, Belgium, Spain, Iran, Saudi Arabia).
9. A peace plan or a plan "to halt/end the war" without a stated term is rule 11 (no claim); a call
   for the war to halt is ``ceasefire``. A truce limited to one domain with no issue of its own (the
   Black Sea) is ``ceasefire``.
10. "Concessions" without land, a deadline not attributed to anyone ("as ceasefire deadline looms"),
    demands not attributed ("demands for territorial concessions") and proposals of no named actor
    ("proposed cease-fire") give no claim.
11. Freezing Russian assets to back a loan to Ukraine is using them (``frozen_assets``); a loan after
    "a plan to use Russian assets unravels" is not.
12. A hedged term of a deal the text says a party agreed counts ("Israel agrees to ceasefire deal …
    likely to see the release of 50 women and children"). "All women and children" is a category,
    not ``hostages_released`` all. A demand for one named prisoner is no count.
13. A promise that one party will not resume fighting, given by a third (Trump promised not to let
    Israel break the ceasefire), is ``guarantees`` (proposes).
14. A resolution vetoed or blocked is no UN position; the government blocking it rejects its terms.
15. Readiness ("ready for Putin talks", "willing to drop its NATO demand") is acceptance, or for
    NATO the codebook's rejection of membership.

Measured once, with extractor 2.1.0 (89aed6c), after the gold was committed
(``python bench/heldout_sample.py eval``):

    gaza     275 items  tp 10 fp 1 fn 11  P 0.909 R 0.476 F1 0.625  (F1 0.286 random, 0.615 rich,
                                                                  0.833 headlines)
    ukraine  200 items  tp 25 fp 0 fn 22  P 1.000 R 0.532 F1 0.694  (F1 0.632 random, 0.765 rich)

    python bench/heldout_sample.py eval                            # both sets, with their errors
    python bench/heldout_sample.py eval --negotiation ukraine --stratum rich
    python bench/heldout_sample.py select                          # the references the draw gives
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import corpus_sample, headline_sample  # noqa: E402
from etl.extract.engine import Extractor  # noqa: E402
from etl.extract.evaluate import EvalReport, Item, evaluate_items, format_report  # noqa: E402
from etl.seeds import load_reference  # noqa: E402

Negotiation = Literal["gaza", "ukraine"]
NEGOTIATIONS: tuple[Negotiation, ...] = ("gaza", "ukraine")
Reference = int | str
"""a corpus line (int) or a headline id (str)"""

GOLD: dict[Negotiation, Path] = {
    "gaza": ROOT / "tests" / "fixtures" / "gaza_heldout_gold.jsonl",
    "ukraine": ROOT / "tests" / "fixtures" / "ukraine_heldout_gold.jsonl",
}
STRATA: dict[Negotiation, tuple[str, ...]] = {
    "gaza": ("random", "rich", "headlines"),
    "ukraine": ("random", "rich"),
}
GAZA_SEED = 20231130  # the day of the truce's last one-day extension
GAZA_SIZE = 120
UKRAINE_SEED = 20250318  # the day of the Trump-Putin call on a 30-day halt to energy strikes
UKRAINE_SIZE = 150

_FURTHER_VALUES = re.compile(
    r"\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten)\s+(?:more|further|additional|extra)\s+days?\b"
    r"|\b(?:second|third|fourth|fifth|sixth|seventh|eighth)\s+day\b|\bweek-?long\b|\bone-week\b"
    r"|\b(?:all|every)\s+(?:the\s+)?(?:remaining\s+)?(?:hostages|captives|prisoners|detainees)\b"
    r"|\b(?:women|children|elderly|foreigners)\b",
    re.IGNORECASE,
)
"""values in the forms ``corpus_sample.states_a_position`` does not read: where ``rich`` draws from"""


@dataclass(frozen=True, slots=True)
class Sources:
    """The shared files the strata are drawn from (tests pass paths that skip when absent)."""

    corpus: Path = corpus_sample.CORPUS
    dev_items: Path = corpus_sample.DEV_ITEMS
    headlines: Path = headline_sample.HEADLINES
    headline_dev_items: Path = headline_sample.DEV_ITEMS


# --- the draw ------------------------------------------------------------------------------------


def gaza_pool(sources: Sources) -> list[tuple[int, str]]:
    """``corpus_sample``'s candidates in none of its strata, with a position word or a value word."""
    labelled = {g.line for g in corpus_sample.read_gold(corpus_sample.GOLD)}
    return [
        (number, text)
        for number, text in corpus_sample.candidates(sources.corpus, sources.dev_items)
        if number not in labelled
        and (corpus_sample.POSITION_WORDS.search(text) or corpus_sample.VALUE_WORDS.search(text))
    ]


def gaza_headlines(sources: Sources) -> dict[str, str]:
    """Distinct 2025-26 headlines on the Gaza talks with a position word, by id: their titles."""
    dev = _ids(sources.headline_dev_items)
    found: dict[str, str] = {}
    with sources.headlines.open(encoding="utf-8") as lines:
        for line in lines:
            title = json.loads(line)["title"]
            key = headline_sample.headline_id(title)
            if (
                key not in dev
                and corpus_sample.is_about_the_talks(title, "")
                and not headline_sample.TALKS.search(title)
                and corpus_sample.POSITION_WORDS.search(title)
            ):
                found.setdefault(key, title)
    return dict(sorted(found.items()))


def ukraine_pool(sources: Sources) -> dict[str, str]:
    """``headline_sample``'s candidates in neither the development set nor its gold file: titles by id."""
    labelled = headline_sample.read_gold(headline_sample.GOLD)
    found = headline_sample.candidates(sources.headlines, sources.headline_dev_items)
    return {key: found[key]["title"] for key in sorted(found) if key not in labelled}


def select(negotiation: Negotiation, sources: Sources | None = None) -> dict[Reference, str]:
    """Every drawn reference with its stratum, as the module docstring describes."""
    sources = sources or Sources()
    if negotiation == "gaza":
        pool = gaza_pool(sources)
        drawn = random.Random(GAZA_SEED).sample([n for n, _ in pool], GAZA_SIZE)
        chosen: dict[Reference, str] = dict.fromkeys(drawn, "random")
        chosen.update((n, "rich") for n, text in pool if n not in chosen and _FURTHER_VALUES.search(text))
        chosen.update(dict.fromkeys(gaza_headlines(sources), "headlines"))
        return chosen
    titles = ukraine_pool(sources)
    chosen = dict.fromkeys(random.Random(UKRAINE_SEED).sample(sorted(titles), UKRAINE_SIZE), "random")
    chosen.update(
        (key, "rich")
        for key, title in titles.items()
        if key not in chosen and corpus_sample.POSITION_WORDS.search(title)
    )
    return chosen


def _ids(path: Path) -> set[str]:
    return {json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines() if line}


# --- gold and scoring ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GoldItem:
    ref: Reference
    stratum: str
    claims: list[dict[str, Any]]


def read_gold(path: Path) -> list[GoldItem]:
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            ref: Reference = int(row["line"]) if "line" in row else str(row["id"])
            items.append(GoldItem(ref, str(row["stratum"]), list(row["claims"])))
    return items


def items_of(refs: list[Reference], sources: Sources) -> list[Item]:
    """The items as the extractor reads them: title + description of a corpus line, a headline alone.
    A corpus line's id is its number, a headline's its 12-hex id."""
    lines = [r for r in refs if isinstance(r, int)]
    rows = corpus_sample.corpus_items(lines, sources.corpus)
    titles = {**gaza_headlines(sources), **ukraine_pool(sources)}
    items = []
    for number, ref in enumerate(refs, start=1):
        if isinstance(ref, int):
            items.append(Item(line=number, id=str(ref), title=rows[ref]["title"], text=rows[ref]["text"]))
        else:
            items.append(Item(line=number, id=ref, title=titles[ref], text=""))
    return items


def evaluate_sample(
    extractor: Extractor,
    negotiation: Negotiation,
    stratum: str | None = None,
    sources: Sources | None = None,
    gold_path: Path | None = None,
) -> EvalReport:
    """Score ``extractor`` on one negotiation's held-out set (or one stratum) as ``parley eval`` does."""
    sources = sources or Sources()
    gold = [g for g in read_gold(gold_path or GOLD[negotiation]) if stratum in (None, g.stratum)]
    if not gold:
        raise ValueError(f"no gold item in stratum {stratum!r} of {negotiation}")
    items = items_of([g.ref for g in gold], sources)
    return evaluate_items({str(g.ref): g.claims for g in gold}, items, extractor)


def summary(name: str, report: EvalReport) -> str:
    """One line per negotiation the report scores (a claim in the other negotiation is a false alarm)."""
    lines = []
    for negotiation, s in report.per_negotiation.items():
        lines.append(
            f"{name:<18} {negotiation:<8} items {report.items:>3}  tp {s.true_positives:>3} "
            f"fp {s.false_positives:>3} fn {s.false_negatives:>3}  P {s.precision:.3f} R {s.recall:.3f} "
            f"F1 {s.f1:.3f}"
        )
    return "\n".join(lines) or f"{name:<18} no gold claim and none found (items {report.items})"


def print_draw(
    draw: Callable[[Negotiation, Sources], dict[Reference, str]],
    negotiations: Iterable[Negotiation],
    sources: Sources,
) -> None:
    """``select``'s references, one line each: negotiation, stratum, reference."""
    for negotiation in negotiations:
        for ref, stratum in draw(negotiation, sources).items():
            print(negotiation, stratum, ref)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=("eval", "select"))
    parser.add_argument("--negotiation", choices=NEGOTIATIONS, default=None, help="one set only")
    parser.add_argument("--stratum", default=None, help="one stratum only (needs --negotiation)")
    args = parser.parse_args()
    sources = Sources()
    for path in (sources.corpus, sources.headlines):
        if not path.exists():
            sys.exit(f"not found: {path}")
    negotiations = (args.negotiation,) if args.negotiation else NEGOTIATIONS
    if args.stratum and (not args.negotiation or args.stratum not in STRATA[args.negotiation]):
        sys.exit(f"--stratum needs --negotiation and one of its strata: {STRATA}")
    if args.command == "select":
        print_draw(select, negotiations, sources)
        return
    extractor = Extractor.load(load_reference(ROOT / "seeds"))
    for negotiation in negotiations:
        report = evaluate_sample(extractor, negotiation, args.stratum, sources)
        print(f"== {negotiation} held-out{f' / {args.stratum}' if args.stratum else ''}")
        print(format_report(report))
        if not args.stratum:
            for stratum in STRATA[negotiation]:
                print(summary(f"{negotiation}/{stratum}", evaluate_sample(extractor, negotiation, stratum)))
        print(summary(f"{negotiation}/{args.stratum or 'all'}", report))
        print()


if __name__ == "__main__":
    main()
