"""Held-out strata that no rule is ever tuned on: corpus items on the Gaza talks, headlines on Ukraine's.

DRAFT: the draw only; labelling notes and scoring follow once every item is labelled.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import corpus_sample, headline_sample  # noqa: E402

GAZA_GOLD = ROOT / "tests" / "fixtures" / "gaza_heldout_gold.jsonl"
UKRAINE_GOLD = ROOT / "tests" / "fixtures" / "ukraine_heldout_gold.jsonl"
GAZA_SEED = 20231130  # the day of the truce's last one-day extension
GAZA_SIZE = 120
UKRAINE_SEED = 20250318  # the day of the Trump–Putin call on a 30-day halt to energy strikes
UKRAINE_SIZE = 150


def gaza_pool(corpus: Path = corpus_sample.CORPUS, dev_items: Path = corpus_sample.DEV_ITEMS) -> list[int]:
    """corpus_sample's candidates in no stratum of its gold file, with a position word or a value."""
    labelled = {g.line for g in corpus_sample.read_gold(corpus_sample.GOLD)}
    return [
        number
        for number, text in corpus_sample._candidates(corpus, dev_items)
        if number not in labelled
        and (corpus_sample._POSITION_WORDS.search(text) or corpus_sample._VALUE_WORDS.search(text))
    ]


_FURTHER_VALUES = re.compile(
    r"\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten)\s+(?:more|further|additional|extra)\s+days?\b"
    r"|\b(?:second|third|fourth|fifth|sixth|seventh|eighth)\s+day\b|\bweek-?long\b|\bone-week\b"
    r"|\b(?:all|every)\s+(?:the\s+)?(?:remaining\s+)?(?:hostages|captives|prisoners|detainees)\b"
    r"|\b(?:women|children|elderly|foreigners)\b",
    re.IGNORECASE,
)


def select_gaza(
    corpus: Path = corpus_sample.CORPUS, dev_items: Path = corpus_sample.DEV_ITEMS
) -> dict[int, str]:
    pool = gaza_pool(corpus, dev_items)
    chosen = dict.fromkeys(random.Random(GAZA_SEED).sample(pool, GAZA_SIZE), "random")
    texts = dict(corpus_sample._candidates(corpus, dev_items))
    chosen.update(
        dict.fromkeys((n for n in pool if n not in chosen and _FURTHER_VALUES.search(texts[n])), "rich")
    )
    return dict(sorted(chosen.items()))


def gaza_headlines(
    headlines: Path = headline_sample.HEADLINES, dev_items: Path = headline_sample.DEV_ITEMS
) -> dict[str, str]:
    """Distinct 2025-26 headlines on the Gaza talks, none naming Ukraine's, with a position word."""
    dev = {json.loads(line)["id"] for line in dev_items.read_text(encoding="utf-8").splitlines() if line}
    found: dict[str, str] = {}
    with headlines.open(encoding="utf-8") as lines:
        for line in lines:
            title = json.loads(line)["title"]
            key = headline_sample.headline_id(title)
            if (
                key not in dev
                and corpus_sample.is_about_the_talks(title, "")
                and not headline_sample.TALKS.search(title)
                and corpus_sample._POSITION_WORDS.search(title)
            ):
                found.setdefault(key, title)
    return dict(sorted(found.items()))


def ukraine_pool(
    headlines: Path = headline_sample.HEADLINES, dev_items: Path = headline_sample.DEV_ITEMS
) -> list[str]:
    labelled = headline_sample.read_gold(headline_sample.GOLD)
    return sorted(k for k in headline_sample.candidates(headlines, dev_items) if k not in labelled)


def select_ukraine(
    headlines: Path = headline_sample.HEADLINES, dev_items: Path = headline_sample.DEV_ITEMS
) -> dict[str, str]:
    pool = ukraine_pool(headlines, dev_items)
    titles = headline_sample.candidates(headlines, dev_items)
    drawn = random.Random(UKRAINE_SEED).sample(pool, UKRAINE_SIZE)
    chosen = dict.fromkeys(drawn, "random")
    chosen.update(
        dict.fromkeys(
            (k for k in pool if k not in chosen and corpus_sample._POSITION_WORDS.search(titles[k]["title"])),
            "rich",
        )
    )
    return dict(sorted(chosen.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=("select",))
    parser.parse_args()
    print("gaza", len(gaza_pool()), *select_gaza().items(), *gaza_headlines())
    print("ukraine", len(ukraine_pool()), *select_ukraine().items())


if __name__ == "__main__":
    main()
