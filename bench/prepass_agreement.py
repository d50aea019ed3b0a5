"""Benchmark: the claims and mentions of the pre-pass (issue 14) against those of the full parse.

Extracts the same articles twice with one loaded pipeline, ``Extractor(prepass=True)`` (the default:
only what can hold a claim is parsed) and ``Extractor(prepass=False)`` (every article parsed whole),
and prints the share of the full parse's claims that the pre-pass gives identically (every field:
negotiation, actor, issue, value, stance, evidence, offsets, confidence), the articles whose mentions
differ (none expected), each differing claim, and the time of each path.

    python bench/prepass_agreement.py --limit 3000      # the first 3,000 feed items
    python bench/prepass_agreement.py                   # all 46k feed items (title + description)
    python bench/prepass_agreement.py --whitehouse      # the 516 White House documents
    python bench/prepass_agreement.py --headlines       # the 4,460 distinct 2025-26 headlines

Every labelled set is among these texts (the Gaza sets are feed items, the Russia-Ukraine ones
headlines, the White House sample documents): claims identical here are an F1 unchanged there.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from extract_overhead import CORPUS, WHITEHOUSE, load_corpus, load_whitehouse  # noqa: E402
from version_diff import headline_items  # noqa: E402

from etl.extract.engine import DEFAULT_MODEL, ArticleResult, Extractor  # noqa: E402
from etl.seeds import load_reference  # noqa: E402


def _run(
    extractor: Extractor, items: list[dict[str, str]], batch_size: int
) -> tuple[list[ArticleResult], float]:
    start = time.perf_counter()
    results = list(extractor.extract_many(((i["title"], i["text"]) for i in items), batch_size=batch_size))
    return results, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--whitehouse", action="store_true", help=f"read {WHITEHOUSE} instead of the corpus")
    parser.add_argument(
        "--headlines", action="store_true", help="read the distinct 2025-26 headlines instead of the corpus"
    )
    parser.add_argument("--limit", type=int, default=None, help="first N items only (default: all)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    args = parser.parse_args()
    if args.whitehouse:
        items = load_whitehouse(WHITEHOUSE, args.limit)
    elif args.headlines:
        items = [i for n, i in enumerate(headline_items()) if args.limit is None or n < args.limit]
    else:
        items = load_corpus(args.corpus, args.limit)
    kind = "White House documents" if args.whitehouse else "headlines" if args.headlines else "feed items"

    reference = load_reference(ROOT / "seeds")
    cheap = Extractor.load(reference, model=args.model)
    full = Extractor(cheap.nlp, reference, prepass=False)
    with_prepass, cheap_seconds = _run(cheap, items, args.batch_size)
    whole, full_seconds = _run(full, items, args.batch_size)

    same = total = extra = mention_diffs = errors = 0
    differing: list[str] = []
    for item, a, b in zip(items, with_prepass, whole, strict=True):
        errors += bool(a.error) + bool(b.error)
        if a.mentions != b.mentions:
            mention_diffs += 1
            differing.append(f"{item['id']}: mentions differ ({len(a.mentions)} against {len(b.mentions)})")
        got, expected = set(a.claims), set(b.claims)
        total += len(expected)
        same += len(got & expected)
        extra += len(got - expected)
        for claim in sorted(expected - got, key=lambda c: c.start):
            differing.append(f"{item['id']}: only the full parse: {_show(claim)}")
        for claim in sorted(got - expected, key=lambda c: c.start):
            differing.append(f"{item['id']}: only the pre-pass:   {_show(claim)}")

    print(f"{len(items)} {kind}; errors {errors}")
    for line in differing:
        print("  " + line)
    share = same / total if total else 1.0
    print(
        f"claims of the full parse given identically by the pre-pass: {same}/{total} ({share:.2%}); "
        f"pre-pass only: {extra}; articles whose mentions differ: {mention_diffs}"
    )
    ratio = cheap_seconds / full_seconds
    print(f"seconds: pre-pass {cheap_seconds:.1f}, full parse {full_seconds:.1f} ({ratio:.2f}×)")


def _show(claim: object) -> str:
    from etl.extract.engine import Claim

    assert isinstance(claim, Claim)
    return (
        f"{claim.negotiation}/{claim.actor}/{claim.issue}={claim.value} {claim.stance} "
        f"[{claim.start}:{claim.end}] conf {claim.confidence}: {claim.evidence[:120]!r}"
    )


if __name__ == "__main__":
    main()
