"""Second blind round: 2025-26 headlines no earlier stratum drew, labelled before any extractor read them.

The blind census (``bench/blind_sample.py``) spent the last untouched items of the earlier pools.
This round draws from what those pools never held: 2025-26 headlines about the talks that the
earlier draws' word tests left out. The pools are fixed here before labelling, so nothing an
extractor does (or the labeller noticed) chose them.

Like the other strata, the gold files hold only references and labels, one line per drawn headline:
``{"id": <first 12 hex of sha1(title)>, "stratum", "claims"}``, each claim ``{"negotiation",
"actor", "issue", "value", "stance"}`` with a short ``"note"`` (no quotation of the text) on a hard
call. The texts (``../shared/corpus/headlines_2025_2026.jsonl``) are never copied into the project.
Text read: the headline alone. Every claim of any negotiation is labelled, whichever pool drew it.

* ``gaza`` (stratum ``no-position-word``, ``tests/fixtures/gaza_blind2_gold.jsonl``): every distinct
  headline about the Gaza talks by ``corpus_sample``'s own test (an issue word and Gaza, Israel,
  Hamas or Palestinians), naming none of ``headline_sample``'s Russia-Ukraine words, in none of the
  Ukraine development set and in no earlier gold file: the held-out ``headlines`` stratum took those
  with a position word, so these are the rest, all taken (a census), in id order.
* ``ukraine`` (stratum ``no-issue-word``, ``tests/fixtures/ukraine_blind2_gold.jsonl``):
  ``random.Random(UKRAINE_SEED).sample(pool, UKRAINE_SIZE)`` where the pool is every distinct
  headline naming one of ``headline_sample``'s Russia-Ukraine words (``TALKS``) and none of its issue
  words (``ISSUE``), in neither the development set nor any earlier gold file. Every earlier Ukraine
  stratum needed an issue word, so none of these was ever drawn.

Each was labelled by one helper, in one pass, by ``../shared/CODEBOOK.md`` (v2), the conventions of
``../shared/eval/README.md`` and the decisions of ``bench/heldout_sample.py`` (1-15),
``bench/blind_sample.py`` (16-24) and ``tests/fixtures/ukraine_blind_decisions.md``, without reading
``etl/`` or the seeds' patterns and without any extractor output; the gold files were committed
(0eecb20, dfbdc37) before any extractor read the items. New decisions, and the doubtful calls by id:
``tests/fixtures/gaza_blind2_decisions.md`` and ``tests/fixtures/ukraine_blind2_decisions.md``.

* gaza: 352 headlines, 6 with a claim, 6 claims: ``hostages_released`` 4, ``permanent_ceasefire`` 1,
  ``withdrawal`` 1 (proposes 4, demands 2). The pool is mostly a truce in force, remains handed
  over, releases carried out and truces of other wars.
* ukraine: 350 headlines, 3 with a claim, 4 claims: ``ceasefire`` 2, ``territorial_concessions`` 1,
  ``security_guarantees`` 1 (proposes 3, accepts 1).

So few triples move recall by many points: the round is reported beside the census, summed with it.
Use them only to measure: a rule changed after reading their misses makes them tuned.

Measured with extractors 2.3.0 (abdd661), 2.4.0 as first committed (8b81fe1) and the final 2.4.0
(04f95be, which added energy-truce patterns tuned on the first White House sample), the same for
all: gaza tp 0 fp 0 fn 6 (R 0.000); ukraine tp 2 fp 1 fn 2, P 0.667 R 0.500 F1 0.571. The misses
were not read. 2.4.0's full withdrawal from Gaza with no part named follows the Gaza labeller's
decision 26, read in their report before scoring (a general rule; it found nothing here).

    python bench/blind_headlines.py select             # the references the draw gives
    python bench/blind_headlines.py eval               # score the extractor, once, at the end
    python bench/blind_headlines.py select --shared /work/shared
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import blind_sample, corpus_sample, headline_sample, heldout_sample  # noqa: E402
from bench.heldout_sample import Negotiation, Reference, Sources  # noqa: E402
from etl.extract.engine import Extractor  # noqa: E402
from etl.extract.evaluate import EvalReport, Item, evaluate_items  # noqa: E402

GOLD: dict[Negotiation, Path] = {
    "gaza": ROOT / "tests" / "fixtures" / "gaza_blind2_gold.jsonl",
    "ukraine": ROOT / "tests" / "fixtures" / "ukraine_blind2_gold.jsonl",
}
STRATUM: dict[Negotiation, str] = {"gaza": "no-position-word", "ukraine": "no-issue-word"}
EARLIER_GOLD: tuple[Path, ...] = (
    headline_sample.GOLD,
    heldout_sample.GOLD["gaza"],
    heldout_sample.GOLD["ukraine"],
    blind_sample.GOLD["ukraine"],
)
"""every earlier gold file that labels 2025-26 headlines: their ids are left out of both pools"""
UKRAINE_SEED = 20251204  # drawn on 4 December 2026; the digits only fix the draw
UKRAINE_SIZE = 350


def headlines(sources: Sources) -> dict[str, str]:
    """Every distinct 2025-26 headline outside the Ukraine development set, by id: its title."""
    dev = {
        json.loads(line)["id"]
        for line in sources.headline_dev_items.read_text(encoding="utf-8").splitlines()
        if line
    }
    found: dict[str, str] = {}
    with sources.headlines.open(encoding="utf-8") as lines:
        for line in lines:
            title = json.loads(line)["title"]
            key = headline_sample.headline_id(title)
            if key not in dev:
                found.setdefault(key, title)
    return found


def _pool(sources: Sources, keep: Callable[[str], bool]) -> list[str]:
    """The ids of the headlines no earlier stratum drew whose title ``keep`` takes, in id order."""
    earlier = blind_sample._labelled(EARLIER_GOLD)
    return sorted(key for key, title in headlines(sources).items() if key not in earlier and keep(title))


def gaza_pool(sources: Sources) -> list[str]:
    """Headlines about the Gaza talks no earlier stratum drew, in id order."""
    return _pool(
        sources,
        lambda title: corpus_sample.is_about_the_talks(title, "") and not headline_sample.TALKS.search(title),
    )


def ukraine_pool(sources: Sources) -> list[str]:
    """Headlines with a Russia-Ukraine word and no issue word, in no earlier stratum, in id order."""
    return _pool(
        sources,
        lambda title: bool(headline_sample.TALKS.search(title)) and not headline_sample.ISSUE.search(title),
    )


def select(negotiation: Negotiation, sources: Sources | None = None) -> dict[Reference, str]:
    """Every drawn reference with its stratum, in the order the labellers read them."""
    sources = sources or Sources()
    if negotiation == "gaza":
        refs = gaza_pool(sources)
    else:
        refs = random.Random(UKRAINE_SEED).sample(ukraine_pool(sources), UKRAINE_SIZE)
    return dict.fromkeys(refs, STRATUM[negotiation])


def evaluate_sample(
    extractor: Extractor, negotiation: Negotiation, sources: Sources | None = None
) -> EvalReport:
    """Score ``extractor`` on one negotiation's round as ``parley eval`` does."""
    sources = sources or Sources()
    gold = heldout_sample.read_gold(GOLD[negotiation])
    titles = headlines(sources)
    items = [
        Item(line=n, id=str(g.ref), title=titles[str(g.ref)], text="") for n, g in enumerate(gold, start=1)
    ]
    return evaluate_items({str(g.ref): g.claims for g in gold}, items, extractor)


def main() -> None:
    blind_sample.cli(
        __doc__ or "",
        select,
        evaluate_sample,
        lambda negotiation: (
            f"{negotiation} second blind round ({STRATUM[negotiation]})",
            f"{negotiation}/{STRATUM[negotiation]}",
        ),
        lambda sources: (sources.headlines,),
    )


if __name__ == "__main__":
    main()
