"""A second White House sample, drawn and labelled after the first was tuned on: the never-tuned one.

``bench/whitehouse_sample.py``'s sample (30 documents) was read while extractor 2.4.0 was tuned, so
it measures a tuned extractor. This one is drawn the same way as its ``rich`` stratum, from what that
draw left, and labelled before any extractor read it; use it only to measure. The gold file
``tests/fixtures/whitehouse_blind_gold.jsonl`` has the first sample's format (``doc``, ``sha1``,
``stratum``, ``claims`` with ``speaker`` and a short ``note`` in the labeller's own words), with the
first sample's decisions 1-13 applied (its module docstring).

* ``gaza`` (stratum ``rich``): ``random.Random(SEED).sample`` of GAZA_SIZE among the documents that
  pass ``whitehouse_sample.is_rich_candidate`` (from 2024-05 on, at most 20,000 bytes, a deal term
  in the body) and that the first sample did not draw, in ``index.csv`` order.
* ``ukraine`` (stratum ``rich``): the first draw took 8 of the 9 candidates, so every document of
  the 2025-26 talks with a deal term in its body that the first sample did not draw, whatever its
  length (UKRAINE_MAX_BYTES), in ``index.csv`` order: all of them.

Labelled by one helper in one pass, reading each document in full, without ``etl/``, the seeds'
patterns or any extractor output; committed (6eab933) before any extractor read the documents. New
decisions (14-20) and the doubtful calls by path: ``tests/fixtures/whitehouse_blind_decisions.md``.
16 documents, 10 with a claim, 36 claims: gaza 29 (``permanent_ceasefire`` 12, ``hostages_released``
12, ``withdrawal`` 4, ``release_categories`` 1), ukraine 7 (``ceasefire`` 6, ``nato_membership`` 1);
22 in statements with no speaker turns. One article of reactions to a plan holds 17 of the 36
(decision 16), so the gaza figure leans on it.

Measured with extractors 2.3.0 (abdd661), 2.4.0 as first committed (8b81fe1) and the final 2.4.0
(04f95be, which added energy-truce patterns tuned on the first White House sample), the same for
all: gaza tp 7 fp 0 fn 22 (P 1.000 R 0.241 F1 0.389), ukraine tp 1 fp 0 fn 6 (P 1.000 R 0.143
F1 0.250), total P 1.000 R 0.222 F1 0.364. The misses were not read then.

Extractor 2.5.0 was then tuned on this sample's misses (a roundup's quoted reactions, a President's
call to stop the war), so it is a training set from 2.5.0 on; the third and fourth samples
(``bench/whitehouse_third.py``, ``bench/whitehouse_fourth.py``) are the never-tuned ones.

    python bench/whitehouse_blind.py select     # the documents the draw gives
    python bench/whitehouse_blind.py eval       # score the extractor, once, at the end
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if str(ROOT / "bench") not in sys.path:
    sys.path.insert(0, str(ROOT / "bench"))

import whitehouse_sample as first  # noqa: E402
from extract_overhead import WHITEHOUSE  # noqa: E402

GOLD = ROOT / "tests" / "fixtures" / "whitehouse_blind_gold.jsonl"
SEED = 20261204  # the day the sample was drawn
GAZA_SIZE = 10
UKRAINE_MAX_BYTES = 60_000


def select_docs(folder: Path = WHITEHOUSE) -> list[str]:
    """The drawn documents' paths: ``gaza`` first, in the order of its draw, then ``ukraine``."""
    earlier = first.drawn_docs(folder)
    gaza = first.rich_pool("gaza", earlier, folder)
    ukraine = first.ukraine_talks_pool(earlier, folder, UKRAINE_MAX_BYTES)
    return random.Random(SEED).sample(gaza, GAZA_SIZE) + ukraine


def main() -> None:
    first.later_sample_main(__doc__, select_docs, GOLD)


if __name__ == "__main__":
    main()
