"""A second labelled sample: 360 corpus items about the truce and captive talks, scored like ``parley eval``.

The news corpus (``../shared/corpus/news_items_2023q4.jsonl``) must never be copied into the project,
so the gold file ``tests/fixtures/corpus_sample_gold.jsonl`` holds only references and labels: one
line per item, ``{"line": <0-based line in the corpus>, "stratum", "claims": [{"actor", "issue",
"value", "stance"}]}``, labelled by hand by ``../shared/CODEBOOK.md`` and the conventions of
``../shared/eval/README.md`` before the extractor was run on them. A claim without a
``negotiation`` is ``gaza``'s (the sample was labelled under codebook v1). For codebook v2, whose
actors every negotiation shares, every item naming an actor v2 added (Russia, the UK, France, the EU,
Ukraine: 30 items, found by their aliases in ``seeds/actors.yaml``) was read again by the codebook;
one gained a claim (line 5530: "Russia called for the secure release of all hostages"). For v2's
rule 10 (a bound gives its number: "at least four days" → 4), every item with "at least", "up to",
"as many as", "a minimum of" or "a maximum of" before a word was read again (13 items): lines 25094,
27962, 28917 and 41004 gained 8 triples. This module owns how the sample was drawn and how it is
scored:

* **candidates** (:func:`select_lines`): items whose title + description name an issue word (truce,
  ceasefire, pause, hostage, captive, prisoner, detainee, abduct, kidnap) and the conflict (Gaza,
  Israel, Hamas, Palestinian); one item per distinct text (the corpus repeats items across daily
  captures); none whose title or description appears in the development set.
* **strata**: ``random``, ``random.Random(SEED).sample(candidates, SIZE)``, as in a real feed (most
  state no claim); ``rich``, ``RICH_SIZE`` more drawn the same way among the other candidates
  that have a position word and something that reads like a value (:func:`states_a_position`), so
  that recall is measured on more than a handful of triples; and ``fresh``, drawn later as a test
  set: every such candidate the first two left, topped up to ``FRESH_SIZE`` with a draw
  (``FRESH_SEED``) among the remaining candidates.
* **halves** (:func:`half_of`): even corpus lines of ``random`` and ``rich`` are the *tune* half, odd
  lines the *held-back* half. Up to extractor 1.3.0 cues were tuned on the tune half only; from 1.4.0
  on both halves, and ``fresh`` (labelled before 1.4.0 was written, never tuned on) is the honest
  figure. It is scored only when named and never split.
* **scoring**: the items are written to a temporary ``extract-file`` input (id = the line number)
  and scored by :func:`etl.extract.evaluate.evaluate`, the code behind ``parley eval``. That scoring compares
  ``(actor, issue, value)`` triples per item and stance on the matched ones; it never reads the
  evidence, so gold without evidence scores exactly as the development set does.

    python bench/corpus_sample.py eval                        # each stratum and half, and the total
    python bench/corpus_sample.py eval --half held            # one half, with misses and false alarms
    python bench/corpus_sample.py eval --half tune --stratum rich
    python bench/corpus_sample.py eval --stratum fresh        # the test set, with its errors
    python bench/corpus_sample.py select                      # the lines the procedure draws
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from etl.extract.engine import Extractor  # noqa: E402
from etl.extract.evaluate import EvalReport, evaluate, format_report  # noqa: E402
from etl.seeds import load_reference  # noqa: E402
from etl.text import strip_tags  # noqa: E402

SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus" / "news_items_2023q4.jsonl"
DEV_ITEMS = SHARED / "eval" / "dev_items.jsonl"
GOLD = ROOT / "tests" / "fixtures" / "corpus_sample_gold.jsonl"
SEED = 20231124  # the day the first truce began
SIZE = 160
RICH_SIZE = 80
FRESH_SEED = 20231201  # the day the truce collapsed: any seed other than SEED would do
FRESH_SIZE = 120

Half = Literal["tune", "held"]
HALVES: tuple[Half, ...] = ("tune", "held")
Stratum = Literal["random", "rich", "fresh"]
STRATA: tuple[Stratum, ...] = ("random", "rich", "fresh")
SPLIT_STRATA: tuple[Stratum, ...] = ("random", "rich")  # the ones split into halves; fresh is test only

_ISSUE_WORDS = re.compile(
    r"\b(?:truce|cease-?fire|cease\s+fire|pause|hostages?|captives?|prisoners?|detainees?|abduct\w*|kidnap\w*)\b",
    re.IGNORECASE,
)
_CONFLICT_WORDS = re.compile(r"\b(?:gaza|israel\w*|hamas|palestin\w*)\b", re.IGNORECASE)
POSITION_WORDS = re.compile(
    r"\b(?:agree\w*|approv\w*|deal|offer\w*|propos\w*|demand\w*|insist\w*|reject\w*|refus\w*|extend\w*"
    r"|extension|accept\w*|confirm\w*|calls?\s+for|called\s+for|seek\w*|sought|condition\w*|want\w*|urg\w+)\b",
    re.IGNORECASE,
)
VALUE_WORDS = re.compile(
    r"\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|fifty|hundred)[- ]"
    r"(?:days?|weeks?|months?|hostages?|captives?|prisoners?|detainees?|palestinians?|israelis?)\b"
    r"|\bpermanent\b|\bend\s+(?:to|of)\s+the\s+(?:war|fighting)|\ball\s+(?:the\s+)?(?:hostages|captives|prisoners)",
    re.IGNORECASE,
)


def _norm(text: str | None) -> str:
    return re.sub(r"\s+", " ", strip_tags(text or "")).strip().casefold()


def is_about_the_talks(title: str, description: str) -> bool:
    text = f"{title} {description}"
    return bool(_ISSUE_WORDS.search(text) and _CONFLICT_WORDS.search(text))


def states_a_position(text: str) -> bool:
    """A cue word and something that reads like a value: where the "rich" stratum draws from."""
    return bool(POSITION_WORDS.search(text) and VALUE_WORDS.search(text))


def half_of(line: int) -> Half:
    return "tune" if line % 2 == 0 else "held"


def _corpus_rows(corpus: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with corpus.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines):
            yield number, json.loads(line)


def candidates(corpus: Path, dev_items: Path) -> list[tuple[int, str]]:
    """Corpus lines about the talks with their text: one per distinct text, none from the dev set."""
    dev_titles: set[str] = set()
    dev_texts: set[str] = set()
    with dev_items.open(encoding="utf-8") as lines:
        for line in lines:
            item = json.loads(line)
            dev_titles.add(_norm(item.get("title")))
            dev_texts.add(_norm(item.get("text")))
    dev_texts.discard("")
    seen: set[tuple[str, str]] = set()
    pool: list[tuple[int, str]] = []
    for number, row in _corpus_rows(corpus):
        title, description = row.get("title") or "", row.get("description") or ""
        key = (_norm(title), _norm(description))
        if key in seen or not is_about_the_talks(title, description):
            continue
        seen.add(key)
        if key[0] in dev_titles or key[1] in dev_texts:
            continue
        pool.append((number, f"{key[0]} {key[1]}"))
    return pool


def select_lines(corpus: Path = CORPUS, dev_items: Path = DEV_ITEMS) -> dict[int, Stratum]:
    """The sample's corpus lines (0-based) and their stratum, drawn as the module docstring describes."""
    pool = candidates(corpus, dev_items)
    drawn = random.Random(SEED).sample([n for n, _ in pool], SIZE)
    rich = [n for n, text in pool if n not in set(drawn) and states_a_position(text)]
    chosen: dict[int, Stratum] = dict.fromkeys(drawn, "random")
    chosen.update(dict.fromkeys(random.Random(SEED).sample(rich, RICH_SIZE), "rich"))
    # fresh: every candidate with a position the first draw left (61), topped up at random
    fresh = [n for n in rich if n not in chosen]
    others = [n for n, _ in pool if n not in chosen and n not in set(fresh)]
    fresh += random.Random(FRESH_SEED).sample(others, max(FRESH_SIZE - len(fresh), 0))
    chosen.update(dict.fromkeys(fresh, "fresh"))
    return dict(sorted(chosen.items()))


@dataclass(frozen=True, slots=True)
class GoldItem:
    line: int
    stratum: Stratum
    claims: list[dict[str, Any]]


def read_gold(path: Path = GOLD) -> list[GoldItem]:
    with path.open(encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines if line.strip()]
    return [GoldItem(int(r["line"]), r.get("stratum", "random"), list(r["claims"])) for r in rows]


def corpus_items(lines: Iterable[int], corpus: Path = CORPUS) -> dict[int, dict[str, str]]:
    """``{"id", "title", "text"}`` of the wanted corpus lines, as ``extract-file`` reads them."""
    wanted = set(lines)
    items: dict[int, dict[str, str]] = {}
    with corpus.open(encoding="utf-8") as rows:
        for number, row in enumerate(rows):
            if number in wanted:
                data = json.loads(row)
                items[number] = {
                    "id": str(number),
                    "title": data.get("title") or "",
                    "text": data.get("description") or "",
                }
    missing = wanted - items.keys()
    if missing:
        raise ValueError(f"{corpus} has no line {min(missing)}: is it the corpus the sample was drawn from?")
    return items


def evaluate_sample(
    extractor: Extractor,
    half: Half | None = None,
    stratum: Stratum | None = None,
    gold_path: Path = GOLD,
    corpus: Path = CORPUS,
) -> EvalReport:
    """Score ``extractor`` on the sample (or a half, or a stratum) exactly as ``parley eval`` scores.

    Without ``stratum`` it is the sample cues are tuned on (``random`` and ``rich``); the ``fresh``
    stratum, the test set, is scored only when named and is never split into halves.
    """
    if half is not None and stratum == "fresh":
        raise ValueError("the fresh stratum is a test set as a whole: it has no halves")
    strata = (stratum,) if stratum else SPLIT_STRATA
    gold = {
        g.line: g.claims
        for g in read_gold(gold_path)
        if g.stratum in strata and (half is None or half_of(g.line) == half)
    }
    items = corpus_items(gold, corpus)
    with tempfile.TemporaryDirectory() as tmp:  # the corpus text lives only here, never in the project
        gold_file, items_file = Path(tmp) / "gold.jsonl", Path(tmp) / "items.jsonl"
        with gold_file.open("w", encoding="utf-8") as out:
            for number in sorted(gold):
                out.write(json.dumps({"id": str(number), "claims": gold[number]}) + "\n")
        with items_file.open("w", encoding="utf-8") as out:
            for number in sorted(items):
                out.write(json.dumps(items[number], ensure_ascii=False) + "\n")
        return evaluate(gold_file, items_file, extractor)


def _summary(name: str, report: EvalReport) -> str:
    s = report.overall
    return (
        f"{name:<12} items {report.items:>3}  tp {s.true_positives:>3} fp {s.false_positives:>3} "
        f"fn {s.false_negatives:>3}  P {s.precision:.3f} R {s.recall:.3f} F1 {s.f1:.3f}  "
        f"stance {report.stance_accuracy:.3f} ({report.stance_correct}/{report.stance_total})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=("eval", "select"))
    parser.add_argument("--half", choices=HALVES, default=None, help="one half only, with its errors")
    parser.add_argument("--stratum", choices=STRATA, default=None, help="one stratum only")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--gold", type=Path, default=GOLD)
    args = parser.parse_args()
    if not args.corpus.exists():
        sys.exit(f"corpus not found: {args.corpus}")
    if args.command == "select":
        for number, drawn_from in select_lines(args.corpus).items():
            print(number, drawn_from, half_of(number))
        return
    seeds = ROOT / "seeds"
    extractor = Extractor.load(load_reference(seeds))
    if args.half or args.stratum:
        report = evaluate_sample(extractor, args.half, args.stratum, args.gold, args.corpus)
        print(format_report(report))
        print(_summary(f"{args.stratum or 'both'}/{args.half or 'all'}", report))
        return
    split: tuple[Stratum | None, ...] = (*SPLIT_STRATA, None)
    halves: tuple[Half | None, ...] = (*HALVES, None)
    for stratum in split:
        for half in halves:
            name = f"{stratum or 'both'}/{half or 'all'}"
            print(_summary(name, evaluate_sample(extractor, half, stratum, args.gold, args.corpus)))
    print(_summary("fresh/all", evaluate_sample(extractor, None, "fresh", args.gold, args.corpus)))


if __name__ == "__main__":
    main()
