"""A third White House sample, drawn from what the first two left and labelled before any extractor read it.

``bench/whitehouse_sample.py``'s sample was read while an extractor was tuned, and
``bench/whitehouse_blind.py``'s was drawn and labelled blind but has now been scored. This one is
drawn the same way as the second, from what both left, and labelled before any extractor read it; use
it only to measure. The gold file ``tests/fixtures/whitehouse_third_gold.jsonl`` has the first two
samples' format (``doc``, ``sha1``, ``stratum``, ``claims`` with ``speaker`` and a short ``note`` in the
labeller's own words).

* ``gaza`` (stratum ``rich``): ``random.Random(SEED).sample`` of GAZA_SIZE among the documents that
  pass ``whitehouse_sample.is_rich_candidate`` (from 2024-05 on, at most 20,000 bytes, a deal term in
  the body) and that neither the first sample (both strata) nor the second drew, in ``index.csv``
  order.
* ``ukraine`` (stratum ``rich``): every document of topic ukraine dated from
  ``whitehouse_sample.RICH_SINCE["ukraine"]`` on, with a deal term in its body, that neither earlier
  sample drew, whatever its length (the second draw took those up to 60,000 bytes), in ``index.csv``
  order: the long transcripts the earlier draws left.

Labelled by one helper in one pass, reading each document in full, by ``../shared/CODEBOOK.md`` (v2),
the conventions of ``../shared/eval/README.md``, decisions 1-13 of ``bench/whitehouse_sample.py``,
1-15 of ``bench/heldout_sample.py``, 16-24 of ``bench/blind_sample.py`` and 14-20 of
``tests/fixtures/whitehouse_blind_decisions.md``, without ``etl/``, the seeds' patterns or any
extractor output. New decisions and the doubtful calls by path:
``tests/fixtures/whitehouse_third_decisions.md``.

    python bench/whitehouse_third.py select     # the documents the draw gives
    python bench/whitehouse_third.py eval       # score the extractor, once, at the end
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

import whitehouse_blind as second  # noqa: E402
import whitehouse_sample as first  # noqa: E402
from extract_overhead import WHITEHOUSE  # noqa: E402

GOLD = ROOT / "tests" / "fixtures" / "whitehouse_third_gold.jsonl"
SEED = 20261205  # the day the sample was drawn
GAZA_SIZE = 12


def earlier_docs(folder: Path = WHITEHOUSE) -> set[str]:
    """Every document the first sample (both strata) or the second drew."""
    return first.drawn_docs(folder) | set(second.select_docs(folder))


def select_docs(folder: Path = WHITEHOUSE) -> list[str]:
    """The drawn documents' paths: ``gaza`` first, in the order of its draw, then ``ukraine``."""
    earlier = earlier_docs(folder)
    gaza = first.rich_pool("gaza", earlier, folder)
    ukraine = first.ukraine_talks_pool(earlier, folder)
    return random.Random(SEED).sample(gaza, GAZA_SIZE) + ukraine


def main() -> None:
    first.later_sample_main(__doc__, select_docs, GOLD)


if __name__ == "__main__":
    main()
