"""Benchmark: the best ``batch_size`` and ``n_process`` for extraction on this machine.

Times :meth:`etl.extract.engine.Extractor.extract_many` (the path ``parley extract`` and ``extract-file``
take) over the feed items of ``../shared/corpus/news_items_2023q4.jsonl`` for each configuration
``BATCHxPROCESSES``. The configurations take turns over chunks of the corpus (``--chunk`` items
each), so load from anything else on the machine hits all of them alike; the table gives each one's
items/s and its speed relative to the first configuration. With ``n_process`` > 1 spaCy starts worker
processes for every ``nlp.pipe`` call, so their start-up is part of what is measured.

    python bench/extract_tuning.py --limit 12000 --configs 16x1,64x1,256x1,64x2,256x2
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.extract_overhead import CORPUS, load_corpus  # noqa: E402
from etl.extract.engine import DEFAULT_MODEL, Extractor  # noqa: E402
from etl.seeds import load_reference  # noqa: E402


def parse_configs(text: str) -> list[tuple[int, int]]:
    configs: list[tuple[int, int]] = []
    for part in text.split(","):
        batch, _, processes = part.strip().partition("x")
        if not batch.isdigit() or not processes.isdigit() or int(batch) < 1 or int(processes) < 1:
            sys.exit(f"bad configuration {part!r}: expected BATCHxPROCESSES, e.g. 64x1")
        configs.append((int(batch), int(processes)))
    return configs


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--limit", type=int, default=12000, help="first N items (default 12000)")
    parser.add_argument("--configs", default="16x1,64x1,256x1,64x2,256x2")
    parser.add_argument("--chunk", type=int, default=2000, help="items per turn of each configuration")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    args = parser.parse_args()
    if not args.corpus.exists():
        sys.exit(f"corpus not found: {args.corpus} (the team's shared material beside the repository)")
    configs = parse_configs(args.configs)

    items = [(item["title"], item["text"]) for item in load_corpus(args.corpus, args.limit)]
    seeds = ROOT / "seeds"
    extractor = Extractor.load(load_reference(seeds), model=args.model)
    list(extractor.extract_many(items[:200]))  # first-call costs are not throughput

    seconds = dict.fromkeys(configs, 0.0)
    claims = dict.fromkeys(configs, 0)
    chunks = [items[start : start + args.chunk] for start in range(0, len(items), args.chunk)]
    for number, chunk in enumerate(chunks):
        # rotate the order each chunk so no configuration always runs first or last
        turn = configs[number % len(configs) :] + configs[: number % len(configs)]
        for config in turn:
            batch_size, n_process = config
            start = time.perf_counter()
            results = list(extractor.extract_many(chunk, batch_size=batch_size, n_process=n_process))
            seconds[config] += time.perf_counter() - start
            claims[config] += sum(len(result.claims) for result in results)
        done = sum(len(c) for c in chunks[: number + 1])
        print(f"  {done}/{len(items)} items", file=sys.stderr, flush=True)

    if len(set(claims.values())) != 1:
        sys.exit(f"configurations disagree on the claims found: {claims}")
    first = configs[0]
    print(f"model {args.model}; {len(items)} items in chunks of {args.chunk}; {claims[first]} claims in each")
    print(f"{'batch_size':>10} {'n_process':>9} {'seconds':>9} {'items/s':>9} {'vs first':>9}")
    for config in configs:
        batch_size, n_process = config
        rate = len(items) / seconds[config]
        print(
            f"{batch_size:>10} {n_process:>9} {seconds[config]:>9.1f} {rate:>9.0f} "
            f"{seconds[first] / seconds[config]:>8.2f}x"
        )


if __name__ == "__main__":
    main()
