"""Benchmark: the full extraction path versus bare ``nlp.pipe`` with the same model, in one run.

Reads the feed items of ``../shared/corpus/news_items_2023q4.jsonl`` (title + description), writes
them as an ``extract-file`` input, then times

* ``bare``: ``spacy.load(model)`` and ``nlp.pipe`` over the same article texts, and
* ``full``: :func:`etl.extract.evaluate.extract_file` (cleaning, gazetteer ruler, claims, JSON lines out),

and prints a table with the ratio (target ≤ 1.5, issue 3; ≤ 1.3, issue 7; ≤ 0.35 since issue 14's
pre-pass, which parses only what can hold a claim). ``--whitehouse`` reads the White House documents
of ``../shared/corpus/whitehouse/`` (long texts) instead.

    python bench/extract_overhead.py --limit 3000 --batch-size 64 --n-process 1
    python bench/extract_overhead.py --whitehouse
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from etl.extract.engine import DEFAULT_MODEL, Extractor, article_text  # noqa: E402
from etl.extract.evaluate import extract_file  # noqa: E402
from etl.seeds import load_reference  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "news_items_2023q4.jsonl"
WHITEHOUSE = ROOT.parent / "shared" / "corpus" / "whitehouse"


def load_corpus(path: Path, limit: int | None, offset: int = 0) -> list[dict[str, str]]:
    items: list[dict[str, str]] = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines):
            if number < offset:
                continue
            if limit is not None and len(items) >= limit:
                break
            data = json.loads(line)
            items.append(
                {"id": str(number), "title": data.get("title") or "", "text": data.get("description") or ""}
            )
    return items


def load_whitehouse(folder: Path, limit: int | None) -> list[dict[str, str]]:
    """The White House documents of ``index.csv`` in its order: the title of the front matter, the
    Markdown body as the text (as a full-text fetch of the page would give it)."""
    import csv

    import yaml

    items: list[dict[str, str]] = []
    with (folder / "index.csv").open(encoding="utf-8", newline="") as index:
        for number, row in enumerate(csv.DictReader(index)):
            if limit is not None and len(items) >= limit:
                break
            raw = (folder / row["path"]).read_text(encoding="utf-8")
            _, front, body = raw.split("---\n", 2) if raw.startswith("---\n") else ("", "", raw)
            title = (yaml.safe_load(front) or {}).get("title") or row["title"]
            items.append({"id": f"wh{number}", "title": str(title), "text": body.strip()})
    return items


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument(
        "--whitehouse",
        action="store_true",
        help=f"read the White House documents of {WHITEHOUSE} (long texts) instead of the corpus",
    )
    parser.add_argument("--limit", type=int, default=None, help="first N items only (default: all)")
    parser.add_argument(
        "--offset",
        type=int,
        default=0,
        help="skip the first N corpus items (the first weeks precede the war)",
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--n-process", type=int, default=1)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--chunk", type=int, default=2000, help="items per turn of each path")
    args = parser.parse_args()
    source = WHITEHOUSE / "index.csv" if args.whitehouse else args.corpus
    if not source.exists():
        sys.exit(f"corpus not found: {source}")

    import spacy

    items = (
        load_whitehouse(WHITEHOUSE, args.limit)
        if args.whitehouse
        else load_corpus(args.corpus, args.limit, args.offset)
    )
    # both sides read the same strings: the article text extract-file builds (title, blank line, text)
    texts = [article_text(i["title"], i["text"])[0] for i in items]
    chars = sum(len(t) for t in texts)

    bare_nlp = spacy.load(args.model)
    extractor = Extractor.load(
        load_reference(ROOT / "seeds"),
        model=args.model,
    )
    with tempfile.TemporaryDirectory() as tmp:
        # the two paths take turns over chunks of the corpus, so that whatever else this shared
        # machine does slows both alike and the ratio stays meaningful
        chunks = [range(i, min(i + args.chunk, len(items))) for i in range(0, len(items), args.chunk)]
        paths = []
        for number, chunk in enumerate(chunks):
            path = Path(tmp) / f"items-{number}.jsonl"
            with path.open("w", encoding="utf-8") as out:
                for index in chunk:
                    out.write(json.dumps(items[index]) + "\n")
            paths.append(path)
        warm = texts[:200]  # first-call costs (lazy vectors, regex compile) are not throughput
        list(bare_nlp.pipe(warm, batch_size=args.batch_size))
        list(extractor.extract_many(((t, "") for t in warm), batch_size=args.batch_size))

        bare = full = 0.0
        counts = {"claims": 0, "errors": 0}
        for chunk, path in zip(chunks, paths, strict=True):
            start = time.perf_counter()
            for _ in bare_nlp.pipe(
                (texts[i] for i in chunk), batch_size=args.batch_size, n_process=args.n_process
            ):
                pass
            bare += time.perf_counter() - start

            start = time.perf_counter()
            with open(os.devnull, "w", encoding="utf-8") as sink:
                done = extract_file(
                    path, sink, extractor, batch_size=args.batch_size, n_process=args.n_process
                )
            full += time.perf_counter() - start
            counts["claims"] += done["claims"]
            counts["errors"] += done["errors"]
            print(
                f"  {chunk.stop}/{len(items)} items: ratio so far {full / bare:.2f}",
                file=sys.stderr,
                flush=True,
            )

    n = len(items)
    print(
        f"model {args.model} ({', '.join(bare_nlp.pipe_names)}); {n} items, {chars / 1e6:.1f} M chars; "
        f"batch_size {args.batch_size}, n_process {args.n_process}"
    )
    print(f"{'path':<28} {'seconds':>9} {'items/s':>9}")
    print(f"{'bare nlp.pipe':<28} {bare:>9.1f} {n / bare:>9.0f}")
    print(f"{'extract-file (full)':<28} {full:>9.1f} {n / full:>9.0f}")
    print(f"ratio full / bare: {full / bare:.2f}  (claims {counts['claims']}, errors {counts['errors']})")


if __name__ == "__main__":
    main()
