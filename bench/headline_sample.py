"""A labelled sample of 2025–26 headlines on the Russia–Ukraine talks, untuned up to extractor 2.1.0.

The headlines (``../shared/corpus/headlines_2025_2026.jsonl``) must never be copied into the project,
so the gold file ``tests/fixtures/ukraine_sample_gold.jsonl`` holds only references and labels: one
line per headline, ``{"id": <first 12 hex of sha1(title)>, "stratum", "claims": [{"negotiation",
"actor", "issue", "value", "stance"}]}``, the id scheme of ``../shared/eval/ukraine_dev_items.jsonl``.
The headlines were labelled by hand by ``../shared/CODEBOOK.md`` (v2; headline only) after they were
drawn and before the extractor was run on them, with extractor 2.0.0 already written: the stratum
``fresh`` was not tuned on up to 2.1.0; 2.2.0 was tuned on it, so its figure is a training figure
since (the README's never-tuned estimate comes from strata labelled later).

* **candidates** (:func:`candidates`): distinct headlines naming the talks (Ukraine, Russia, Kyiv,
  the Kremlin, Putin, Zelensky, Moscow, Donbas, Crimea) and a word of an issue (ceasefire, truce,
  territory, land, guarantees, NATO, troops, sanctions, prisoners, meeting, elections, assets,
  energy …), none of the development set's.
* **fresh**: ``random.Random(SEED).sample(candidates, SIZE)``. Most state no claim.
* **scoring**: :func:`etl.extract.evaluate.evaluate_items`, the code behind ``parley eval``.

    python bench/headline_sample.py eval       # precision, recall, F1, with misses and false alarms
    python bench/headline_sample.py select     # the ids the procedure draws
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from etl.extract.engine import Extractor  # noqa: E402
from etl.extract.evaluate import EvalReport, Item, evaluate_items, format_report  # noqa: E402
from etl.seeds import load_reference  # noqa: E402

SHARED = ROOT.parent / "shared"
HEADLINES = SHARED / "corpus" / "headlines_2025_2026.jsonl"
DEV_ITEMS = SHARED / "eval" / "ukraine_dev_items.jsonl"
GOLD = ROOT / "tests" / "fixtures" / "ukraine_sample_gold.jsonl"
SEED = 20261203
SIZE = 80

TALKS = re.compile(
    r"\b(?:Ukrain\w*|Russia\w*|Kyiv|Kiev|Kremlin|Putin|Zelensk\w*|Moscow|Donbas\w*|Crimea\w*)\b", re.I
)
ISSUE = re.compile(
    r"\b(?:ceasefire|cease-fire|truce|territor\w*|land|Donbas\w*|Crimea|guarantee\w*|NATO|troops|peacekeep\w*"
    r"|sanction\w*|prisoner\w*|swap|exchange|army|meet\w*|summit|election\w*|assets|energy)\b",
    re.I,
)


def headline_id(title: str) -> str:
    return hashlib.sha1(title.encode("utf-8")).hexdigest()[:12]


def candidates(headlines: Path = HEADLINES, dev_items: Path = DEV_ITEMS) -> dict[str, dict[str, str]]:
    """Every distinct candidate headline by id: its title and when it was first seen."""
    dev = {json.loads(line)["id"] for line in dev_items.read_text(encoding="utf-8").splitlines() if line}
    found: dict[str, dict[str, str]] = {}
    with headlines.open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            title = row["title"]
            key = headline_id(title)
            if key in dev or key in found or not (TALKS.search(title) and ISSUE.search(title)):
                continue
            found[key] = {"title": title, "published": row["first_seen"]}
    return found


def select_ids(headlines: Path = HEADLINES, dev_items: Path = DEV_ITEMS) -> list[str]:
    return random.Random(SEED).sample(sorted(candidates(headlines, dev_items)), SIZE)


def read_gold(path: Path = GOLD) -> dict[str, list[dict[str, Any]]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {row["id"]: row["claims"] for row in rows}


def evaluate_sample(
    extractor: Extractor, gold_path: Path = GOLD, headlines: Path = HEADLINES, dev_items: Path = DEV_ITEMS
) -> EvalReport:
    gold = read_gold(gold_path)
    found = candidates(headlines, dev_items)
    items = [
        Item(line=n, id=key, title=found[key]["title"], text="")
        for n, key in enumerate(sorted(gold), start=1)
    ]
    return evaluate_items(gold, items, extractor)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=("eval", "select"))
    args = parser.parse_args()
    if not HEADLINES.exists():
        sys.exit(f"headlines not found: {HEADLINES}")
    if args.command == "select":
        print("\n".join(select_ids()))
        return
    report = evaluate_sample(Extractor.load(load_reference(ROOT / "seeds")))
    print(format_report(report))


if __name__ == "__main__":
    main()
