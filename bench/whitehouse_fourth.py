"""A fourth White House sample, drawn from what the first three left, labelled before any extractor read it.

``bench/whitehouse_sample.py``'s sample was read while an extractor was tuned, ``bench/whitehouse_blind.py``'s
and ``bench/whitehouse_third.py``'s were drawn and labelled blind. This one is drawn the same way as
the third's ``gaza`` part, from what all three left, and labelled before any extractor read it; use it
only to measure. The gold file ``tests/fixtures/whitehouse_fourth_gold.jsonl`` has the earlier
samples' format (``doc``, ``sha1``, ``stratum``, ``claims`` with ``speaker`` and a short ``note`` in the
labeller's own words).

* ``gaza`` (stratum ``rich``): ``random.Random(SEED).sample`` of GAZA_SIZE among the documents that
  pass ``whitehouse_sample.is_rich_candidate`` (from 2024-05 on, at most 20,000 bytes, a deal term in
  the body) and that none of the first three samples drew (``whitehouse_third.earlier_docs`` and
  ``whitehouse_third.select_docs``), in ``index.csv`` order: 44 documents.
* no ``ukraine`` part: the second and third samples took every document of topic ukraine of the
  2025-26 talks with a deal term in its body, so none is left to draw.

Labelled by one helper in one pass, reading each document in full, by ``../shared/CODEBOOK.md`` (v2),
the conventions of ``../shared/eval/README.md``, decisions 1-13 of ``bench/whitehouse_sample.py``,
1-15 of ``bench/heldout_sample.py``, 16-24 of ``bench/blind_sample.py``, 14-20 of
``tests/fixtures/whitehouse_blind_decisions.md`` and 21-25 of
``tests/fixtures/whitehouse_third_decisions.md``, without ``etl/``, the seeds' patterns or any
extractor output. New decisions and the doubtful calls by path:
``tests/fixtures/whitehouse_fourth_decisions.md``.

    python bench/whitehouse_fourth.py select    # the documents the draw gives
    python bench/whitehouse_fourth.py eval      # score the extractor, once, at the end
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
import whitehouse_third as third  # noqa: E402
from extract_overhead import WHITEHOUSE  # noqa: E402

GOLD = ROOT / "tests" / "fixtures" / "whitehouse_fourth_gold.jsonl"
SEED = 20261206  # the day the sample was drawn
GAZA_SIZE = 14


def earlier_docs(folder: Path = WHITEHOUSE) -> set[str]:
    """Every document the first three samples drew."""
    return third.earlier_docs(folder) | set(third.select_docs(folder))


def pool(folder: Path = WHITEHOUSE) -> list[str]:
    """The ``gaza`` documents the draw samples from, in ``index.csv`` order."""
    return first.rich_pool("gaza", earlier_docs(folder), folder)


def select_docs(folder: Path = WHITEHOUSE) -> list[str]:
    """The drawn documents' paths, in the order of the draw."""
    return random.Random(SEED).sample(pool(folder), GAZA_SIZE)


def main() -> None:
    first.later_sample_main(__doc__, select_docs, GOLD)


if __name__ == "__main__":
    main()
