"""Benchmark: the claims one extractor gives that another does not, beyond the labelled sets.

A labelled set judges a few hundred items; a change to the rules reaches every item. This check
extracts the same texts with the extractor of an earlier commit (``--base``, checked out in a
temporary ``git worktree``) and with this tree's, each through ``parley extract-file`` with its own
seeds, and lists every claim (negotiation, actor, issue, value, stance) that one gives and the other
does not, with its evidence, for a reader to judge by the codebook. The texts are the ones the
README's precision checks name:

* ``talks``: the distinct 2023 feed items (title + description) whose title and description name an
  issue word (truce, ceasefire, pause, hostage, captive, prisoner, detainee, extend, extension,
  permanent, war) and the conflict (Gaza, Israel..., Hamas, Palestin..., Qatar, Egypt): 3,809 items;
* ``headlines``: the distinct 2025-26 headlines (4,460), the headline alone;
* ``whitehouse`` (only when asked for): the 516 White House documents, title and body, as
  ``bench/extract_overhead.py --whitehouse`` reads them (long: about 5 minutes a tree).

    python bench/version_diff.py --base 2e7e40d                 # both sets
    python bench/version_diff.py --base 2e7e40d --set headlines
    python bench/version_diff.py --base 2e7e40d --without-blind # while tuning: not the blind strata
    python bench/version_diff.py --base 2e7e40d --set whitehouse --without-blind

``--without-blind`` leaves out the items of ``bench/blind_sample.py``'s census strata, of
``bench/blind_headlines.py``'s second blind round and of the third and fourth White House samples
(``bench/whitehouse_third.py``, ``bench/whitehouse_fourth.py``), so that a rule can be tuned on what
this check finds without reading the extractor's output on the sets that judge it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import blind_headlines, blind_sample, whitehouse_fourth, whitehouse_sample, whitehouse_third  # noqa: E402
from bench.corpus_sample import CORPUS  # noqa: E402
from bench.extract_overhead import WHITEHOUSE  # noqa: E402
from bench.headline_sample import HEADLINES, headline_id  # noqa: E402
from bench.heldout_sample import read_gold  # noqa: E402

_ISSUE = re.compile(
    r"\b(?:truce|ceasefire|cease-fire|pause|hostages?|captives?|prisoners?|detainees?|extend\w*|"
    r"extension|permanent|war)\b",
    re.IGNORECASE,
)
_CONFLICT = re.compile(r"\b(?:gaza|israel\w*|hamas|palestin\w*|qatar\w*|egypt\w*)\b", re.IGNORECASE)

Key = tuple[str, str, str, str, str, str]
"""(item id, negotiation, actor, issue, value, stance)"""


def talks_items(corpus: Path = CORPUS) -> Iterator[dict[str, str]]:
    """The distinct feed items about the talks, by the words above; id = the corpus line."""
    seen: set[tuple[str, str]] = set()
    with corpus.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines):
            row = json.loads(line)
            title, text = row.get("title") or "", row.get("description") or ""
            both = f"{title} {text}"
            if (title, text) in seen or not (_ISSUE.search(both) and _CONFLICT.search(both)):
                continue
            seen.add((title, text))
            yield {"id": str(number), "title": title, "text": text}


def headline_items(headlines: Path = HEADLINES) -> Iterator[dict[str, str]]:
    """Every distinct 2025-26 headline, the headline alone; id = its first line."""
    seen: set[str] = set()
    with headlines.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines):
            title = json.loads(line).get("title") or ""
            if title and title not in seen:
                seen.add(title)
                yield {"id": str(number), "title": title, "text": ""}


def whitehouse_items(folder: Path = WHITEHOUSE) -> Iterator[dict[str, str]]:
    """The 516 White House documents as ``extract-file`` reads them; id = the ``wh<n>`` of their
    ``index.csv`` line, ``path`` their path (for the blind samples)."""
    for path, item in whitehouse_sample.documents(folder).items():
        yield {**item, "path": path}


def _blind_refs() -> set[str]:
    """The items of the sets that judge the extractor and were never tuned on: the census strata
    (``bench/blind_sample.py``), the second blind round (``bench/blind_headlines.py``) and the third
    and fourth White House samples: corpus lines, headline ids and document paths, as strings."""
    paths = [*blind_sample.GOLD.values(), *blind_headlines.GOLD.values()]
    refs = {str(g.ref) for path in paths for g in read_gold(path)}
    for gold in (whitehouse_third.GOLD, whitehouse_fourth.GOLD):
        refs |= {g.doc for g in whitehouse_sample.read_gold(gold)}
    return refs


def _ref(name: str, item: dict[str, str]) -> str:
    """An item's reference in the gold files: its corpus line, its headline's 12-hex id, or its
    document's path."""
    if name == "whitehouse":
        return item["path"]
    return item["id"] if name == "talks" else headline_id(item["title"])


def _order(key: Key) -> tuple[int, Key]:
    """Items in their set's order: a corpus or headline line, a White House ``wh<n>``."""
    return int(key[0].removeprefix("wh")), key


def extract(tree: Path, items: Path) -> tuple[dict[Key, str], float]:
    """The claims ``parley extract-file`` of the code in ``tree`` gives, with their evidence."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env["PYTHONPATH"] = str(tree)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "etl.cli", "extract-file", str(items)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"extract-file failed in {tree}: {done.stderr.strip().splitlines()[-1:]}")
    claims: dict[Key, str] = {}
    for line in done.stdout.splitlines():
        row = json.loads(line)
        for c in row.get("claims", []):
            key = (str(row["id"]), c["negotiation"], c["actor"], c["issue"], str(c["value"]), c["stance"])
            claims[key] = " ".join(str(c.get("evidence", "")).split())
    return claims, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", required=True, help="the commit whose extractor is compared")
    parser.add_argument("--set", choices=("talks", "headlines", "whitehouse"), action="append", dest="sets")
    parser.add_argument("--limit", type=int, default=None, help="the first N items of each set")
    parser.add_argument("--without-blind", action="store_true", help="leave out the blind strata's items")
    args = parser.parse_args()
    blind = _blind_refs() if args.without_blind else set()
    for path in (CORPUS, HEADLINES):
        if not path.exists():
            sys.exit(f"not found: {path}")
    base = subprocess.run(
        ["git", "rev-parse", "--verify", f"{args.base}^{{commit}}"], cwd=ROOT, capture_output=True, text=True
    )
    if base.returncode != 0:
        sys.exit(f"not a commit: {args.base}")
    with tempfile.TemporaryDirectory(prefix="parley-version-diff-") as tmp:
        tree = Path(tmp) / "base"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--quiet", str(tree), base.stdout.strip()],
            cwd=ROOT,
            check=True,
        )
        try:
            for name in args.sets or ["talks", "headlines"]:
                source = {"talks": talks_items, "headlines": headline_items, "whitehouse": whitehouse_items}[
                    name
                ]()
                items = [
                    i
                    for n, i in enumerate(source)
                    if (args.limit is None or n < args.limit) and _ref(name, i) not in blind
                ]
                refs = {i["id"]: _ref(name, i) for i in items}
                path = Path(tmp) / f"{name}.jsonl"
                path.write_text("".join(json.dumps(i) + "\n" for i in items), encoding="utf-8")
                print(f"{name}: {len(items)} items; extracting with {args.base} ...", file=sys.stderr)
                before, t_before = extract(tree, path)
                print(f"{name}: extracting with this tree ...", file=sys.stderr)
                after, t_after = extract(ROOT, path)
                added = sorted(set(after) - set(before), key=_order)
                removed = sorted(set(before) - set(after), key=_order)
                print(
                    f"== {name}: {len(items)} items; {args.base}: {len(before)} claims ({t_before:.0f} s), "
                    f"this tree: {len(after)} claims ({t_after:.0f} s); "
                    f"{len(added)} added, {len(removed)} removed"
                )
                for sign, keys, source_claims in (("+", added, after), ("-", removed, before)):
                    for key in keys:
                        item, negotiation, actor, issue, value, stance = key
                        claim = f"{negotiation}: {actor} {issue}={value} ({stance})"
                        where = f" {refs[item]}" if name == "whitehouse" else ""
                        print(f"{sign} {item:>6}{where} {claim} | {source_claims[key]}")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)


if __name__ == "__main__":
    main()
