"""Blind census strata: every item left by the earlier samples, labelled before any extractor read them.

Like ``bench/heldout_sample.py`` (whose functions this module reuses), the gold files hold only
references and labels, one line per drawn item: ``{"line": <0-based corpus line>, "stratum",
"claims"}`` for a 2023 corpus item, ``{"id": <first 12 hex of sha1(title)>, "stratum", "claims"}``
for a 2025-26 headline; each claim is ``{"negotiation", "actor", "issue", "value", "stance"}`` with a
short ``"note"`` on a hard call. The texts (``../shared/corpus/``) are never copied into the project.

The strata are censuses: the draw takes every item of a pool, fixed before labelling, so nothing an
extractor does (or the labeller noticed) chose them. They were labelled by hand, reading what the
extractor reads, by ``../shared/CODEBOOK.md`` (v2), the conventions of ``../shared/eval/README.md``
and decisions 1-15 of ``bench/heldout_sample.py``, without running the extractor, ``parley eval`` or
any ``bench/*.py eval``, without reading ``etl/extract/``, and without seeing any extractor output on
these items. Use them only to measure: a rule changed after reading their misses makes them tuned.

``tests/fixtures/gaza_blind_gold.jsonl`` (442 items, 23 claims; stratum ``census``)

* pool: ``corpus_sample.candidates`` (one item per distinct text, none of the development set),
  minus every line of ``tests/fixtures/corpus_sample_gold.jsonl`` and of
  ``tests/fixtures/gaza_heldout_gold.jsonl``, keeping those whose text has one of ``corpus_sample``'s
  position words or value words (``POSITION_WORDS``, ``VALUE_WORDS``): 442 items, all taken, in
  corpus-line order. Text read: the corpus item's title + "\\n\\n" + description.
* all 442 were labelled (a fallback order for a partial labelling was fixed before, and not
  needed). 426 items state no claim; 16 items give 23 claims:
  ``permanent_ceasefire`` 7, ``release_categories`` 6, ``ceasefire_duration`` 5,
  ``hostages_released`` 4, ``prisoners_released`` 1; no ``ceasefire_extension``,
  ``exchange_ratio``, ``withdrawal``, ``aid_trucks_per_day``, ``guarantees``,
  ``return_of_displaced``. By stance: demands 9, accepts 7, proposes 7, rejects 0.
  The pool is what the earlier strata left: mostly calls for a ceasefire with no length, hostage
  stories and truce reports (implementation), so a few triples move recall by several points.

``tests/fixtures/ukraine_blind_gold.jsonl`` (labelled separately; stratum ``census``)

* pool: ``headline_sample.candidates(HEADLINES, DEV_ITEMS)`` minus every id of
  ``tests/fixtures/ukraine_sample_gold.jsonl`` and of ``tests/fixtures/ukraine_heldout_gold.jsonl``:
  233 headlines, all taken, in id order. Text read: the headline alone.

Decisions where the codebook and decisions 1-15 are silent (applied to every Gaza item):

16. A nationality ("Russian-Israeli", "Thai", "American") is no release category; "non-Israeli",
    "foreign nationals" and "dual nationals" are ``foreigners``.
17. An approximate count ("some 240 hostages", "about 50") gives no value, as ``corpus_sample``'s
    gold reads line 24834 ("approves cease-fire ... that includes release of some 50 hostages": no
    ``hostages_released``); rule 10's bounds ("at least", "up to") still give their number.
18. A pause counted in hours ("daily four-hour pauses") gives no ``ceasefire_duration``: the issue
    counts days.
19. A named actor's hope or goal for a term is a demand ("Qatari negotiator hopeful of a deal for
    civilian hostages to be released"; mediators hoping pauses lead to "bringing the war to a
    close"), as ``corpus_sample``'s gold reads line 27832 (Hamas "hopes to ... put an end to the
    war"). Plain synonyms of an end to the war ("bring the war to a close") are
    ``permanent_ceasefire``; "full ceasefire", "lasting", "sustainable cessation of hostilities" are
    not (decision 1).
20. In Gaza an end to the war is itself a term (the codebook's example of ``permanent_ceasefire``),
    so a party's "proposal / plan to end the war" gives its author ``permanent_ceasefire`` yes,
    ``proposes``. Decision 9 (a plan to end the war gives no claim) applies where ending the war is
    no term, as under Ukraine's rule 11.
21. The sentence that states the value decides between agreement and implementation: "both sides
    announced a four-day pause" is agreed (rule 2), while "the four-day truce is set to begin" or
    "started" is implementation (decision 2), even in an article whose title says a mediator
    announced the truce without its length.
22. A party announcing or vowing a release of its own ("Hamas vows to release 8 hostages", "Hamas
    preparing to release non-Israeli hostages") proposes it (decision 4), as ``corpus_sample``'s gold
    reads line 9299; decision 15's readiness-as-acceptance is for a term another party asks.
23. "The release of all civilians, prisoners and detainees" (Abbas) gives ``prisoners_released`` all
    and ``release_categories`` civilians (decision 12: "all <category>" is a category, not all
    hostages).
24. A government welcoming a truce whose length the text states accepts that length (rule 14):
    "the EU welcomed the opportunity of the four-day window" → european_union 4 accepts.

Doubtful calls (each carries a note in the gold): line 11238 (a Qatari minister's "hope", decision
19), line 29437 (the three mediators' goal of "bringing the war to a close"), lines 44347 and 45476
(Egypt's plan "to end the war", decision 20), line 25010 (the EU welcoming "the four-day window"),
line 8509 (Abbas's "all civilians" read as the civilian hostages), line 15155 (Israel: no ceasefire
"until some 240 hostages were released": no claim by decision 17).

    python bench/blind_sample.py select              # the references the draw gives (442 + 233)
    python bench/blind_sample.py eval                # score the extractor, once, at the end
    python bench/blind_sample.py eval --negotiation gaza
    python bench/blind_sample.py select --shared /work/shared   # where ../shared is elsewhere
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import corpus_sample, headline_sample, heldout_sample  # noqa: E402
from bench.heldout_sample import NEGOTIATIONS, Negotiation, Reference, Sources  # noqa: E402
from etl.extract.engine import Extractor  # noqa: E402
from etl.extract.evaluate import EvalReport, format_report  # noqa: E402
from etl.seeds import load_reference  # noqa: E402

GOLD: dict[Negotiation, Path] = {
    "gaza": ROOT / "tests" / "fixtures" / "gaza_blind_gold.jsonl",
    "ukraine": ROOT / "tests" / "fixtures" / "ukraine_blind_gold.jsonl",
}
EXCLUDED: dict[Negotiation, tuple[Path, ...]] = {
    "gaza": (corpus_sample.GOLD, heldout_sample.GOLD["gaza"]),
    "ukraine": (headline_sample.GOLD, heldout_sample.GOLD["ukraine"]),
}
"""the gold files whose items the census leaves out (labelled, and some tuned on, before)"""
STRATUM = "census"


def sources_in(shared: Path) -> Sources:
    """The shared files under another ``shared`` directory than ``../shared``."""
    return Sources(
        corpus=shared / "corpus" / corpus_sample.CORPUS.name,
        dev_items=shared / "eval" / corpus_sample.DEV_ITEMS.name,
        headlines=shared / "corpus" / headline_sample.HEADLINES.name,
        headline_dev_items=shared / "eval" / headline_sample.DEV_ITEMS.name,
    )


def _labelled(paths: tuple[Path, ...]) -> set[Reference]:
    refs: set[Reference] = set()
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                refs.add(int(row["line"]) if "line" in row else str(row["id"]))
    return refs


def gaza_pool(sources: Sources) -> list[int]:
    """Corpus candidates in no earlier gold file with a position or a value word, in line order."""
    labelled = _labelled(EXCLUDED["gaza"])
    return [
        number
        for number, text in corpus_sample.candidates(sources.corpus, sources.dev_items)
        if number not in labelled
        and (corpus_sample.POSITION_WORDS.search(text) or corpus_sample.VALUE_WORDS.search(text))
    ]


def ukraine_pool(sources: Sources) -> list[str]:
    """Headline candidates in no earlier Ukraine gold file, in id order."""
    labelled = _labelled(EXCLUDED["ukraine"])
    found = headline_sample.candidates(sources.headlines, sources.headline_dev_items)
    return [key for key in sorted(found) if key not in labelled]


def select(negotiation: Negotiation, sources: Sources | None = None) -> dict[Reference, str]:
    """Every drawn reference with its stratum (all of them ``census``), in the census order."""
    sources = sources or Sources()
    refs: list[Reference] = list(gaza_pool(sources) if negotiation == "gaza" else ukraine_pool(sources))
    return dict.fromkeys(refs, STRATUM)


def evaluate_sample(
    extractor: Extractor, negotiation: Negotiation, sources: Sources | None = None
) -> EvalReport:
    """Score ``extractor`` on one negotiation's blind census as ``parley eval`` does."""
    return heldout_sample.evaluate_sample(extractor, negotiation, None, sources, GOLD[negotiation])


def cli(
    description: str,
    select: Callable[[Negotiation, Sources], dict[Reference, str]],
    evaluate: Callable[[Extractor, Negotiation, Sources], EvalReport],
    names: Callable[[Negotiation], tuple[str, str]],
    needs: Callable[[Sources], tuple[Path, ...]],
) -> None:
    """The command line of a blind stratum's module: ``select`` prints the draw, ``eval`` scores the
    extractor on each negotiation under ``names(negotiation)``: a heading and the summary's name."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=("eval", "select"))
    parser.add_argument("--negotiation", choices=NEGOTIATIONS, default=None, help="one set only")
    parser.add_argument("--shared", type=Path, default=None, help="the shared directory (default: ../shared)")
    args = parser.parse_args()
    sources = sources_in(args.shared) if args.shared else Sources()
    for path in needs(sources):
        if not path.exists():
            sys.exit(f"not found: {path} (pass --shared)")
    negotiations = (args.negotiation,) if args.negotiation else NEGOTIATIONS
    if args.command == "select":
        heldout_sample.print_draw(select, negotiations, sources)
        return
    extractor = Extractor.load(load_reference(ROOT / "seeds"))
    for negotiation in negotiations:
        report = evaluate(extractor, negotiation, sources)
        heading, name = names(negotiation)
        print(f"== {heading}")
        print(format_report(report))
        print(heldout_sample.summary(name, report))
        print()


def main() -> None:
    cli(
        __doc__ or "",
        select,
        evaluate_sample,
        lambda negotiation: (f"{negotiation} blind census", f"{negotiation}/{STRATUM}"),
        lambda sources: (sources.corpus, sources.headlines),
    )


if __name__ == "__main__":
    main()
