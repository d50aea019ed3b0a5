"""A labelled sample of White House documents: long texts where a speaker holds the floor (issue 14).

The documents (``../shared/corpus/whitehouse/``: statements, readouts, press briefings, remarks) must
never be copied into the project, so the gold file ``tests/fixtures/whitehouse_sample_gold.jsonl``
holds only references and labels: one line per document, ``{"doc": <path under the whitehouse
folder>, "sha1": <sha1 of the file's bytes, to notice a changed corpus>, "claims": [{"negotiation",
"actor", "issue", "value", "stance", "speaker", "note"}]}``. ``speaker`` is who holds the floor when
the claim is stated ("THE PRESIDENT", "MS. JEAN-PIERRE", "MR. KIRBY", or "statement" for a text with
no speakers); ``note`` is the labeller's own words, never the document's.

* **draw** (:func:`select_docs`): ``random.Random(SEED).sample`` of the paths of ``index.csv``, per
  topic: 8 of the 421 ``gaza`` documents, 6 of the 95 ``ukraine`` ones, over every category as they
  come (briefings, remarks, statements …). SEED 20261203 is the day the sample was drawn.
* **labels**: every drawn document was read in full and labelled by hand by ``../shared/CODEBOOK.md``
  (v2) and ``../shared/eval/README.md``, in a commit of its own, before the extractor read any of
  them. The scoring unit is the document's set of (negotiation, actor, issue, value).
* **scoring**: one item per document, the title of its front matter and its Markdown body, as
  ``bench/extract_overhead.py``'s :func:`load_whitehouse` gives them (a full-text fetch of the page),
  scored by :func:`etl.extract.evaluate.evaluate_items`, the code behind ``parley eval``.

Decisions where the codebook is silent, applied to every document:

1. Who speaks for the US (rule 14): the President, the Vice President, the Press Secretary, the
   Communications Director, the NSC spokesman (Kirby), "a senior administration official", and a
   statement issued by the White House. Campaign staff, members of Congress, union leaders and the
   advocates a press release quotes speak for no government. A foreign leader at a joint press
   conference (Albanese, Macron) speaks for their own government.
2. A reporter's question states nothing, not even a government's position it reports ("Israel's
   defense minister said …", "Germany said it is willing to be a guarantor …"): that government gets
   a claim only where a government speaker states the position in their own words.
3. An official who welcomes a term a question reported gives their own government's claim, stance
   ``accepts`` (rule 14's "welcomes"), and none to the government the question quoted.
4. In ``gaza``, "a ceasefire" with no length and no "permanent" or end of the war is no issue of the
   table: "we don't support a ceasefire" gives no claim. Pauses counted in hours give no
   ``ceasefire_duration``.
5. A hope that the war ends some day ("we all want this conflict to end as soon as possible") is not
   ``permanent_ceasefire``; that issue needs the end of the war sought as a term or now.
6. "The hostages", "these hostages", "American hostages" give no value; "American hostages as well
   as all hostages" gives ``all`` (rule 10).
7. Support for Ukraine's "sovereignty and territorial integrity", or "it is up to Ukraine" on
   giving up land, is no ``territorial_concessions`` claim: rejection needs an explicit cue (rule 9).
8. Aid trucks that entered yesterday are an event, not ``aid_trucks_per_day`` (rule 4); swaps of
   detained Americans (Griner, Whelan, Venezuela) belong to neither negotiation.
9. A document is labelled on its body, as the extractor reads it, even when the body is not what the
   title announces (the 2022-01-21 "semiconductors" file holds a background call on Japan).

Measured once with extractor 2.1.0 (commit 89aed6c), before rule 14 is implemented: 4 gold triples
(all ``gaza``, all ``united_states``), none found: gaza fn 4, ukraine fp 3, total P 0.000 R 0.000
F1 0.000. Of the 3 false alarms, 1 is read in a reporter's question and 2 in the Press Secretary's
turn but given to other actors; of the 4 misses, 3 are stated by a speaker in the first person
("we"), the US named only by who holds the floor, and 1 is a statement that names the US.

    python bench/whitehouse_sample.py eval      # P, R, F1 per negotiation, misses, false alarms, speakers
    python bench/whitehouse_sample.py select    # the documents the procedure draws
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if str(ROOT / "bench") not in sys.path:
    sys.path.insert(0, str(ROOT / "bench"))

from extract_overhead import WHITEHOUSE, load_whitehouse  # noqa: E402

from etl.extract.engine import Extractor, article_text  # noqa: E402
from etl.extract.evaluate import Error, EvalReport, Item, evaluate_items, format_report  # noqa: E402
from etl.seeds import IssueSeed, Reference, load_reference  # noqa: E402
from models.enums import Stance, ValueType  # noqa: E402

GOLD = ROOT / "tests" / "fixtures" / "whitehouse_sample_gold.jsonl"
SEED = 20261203  # the day the sample was drawn
SIZES = {"gaza": 8, "ukraine": 6}
STATEMENT = "statement"  # the speaker of a text without speakers
QUESTION = "Q"

# a turn opens a line: "Q" then a space, a dash or (a transcript's glitch) the next word glued to it
# ("QAnd then"), or a name in capitals then a colon ("MS. JEAN-PIERRE:", "PRESIDENT BIDEN:")
_TURN = re.compile(r"^[ \t]*(?:(Q)(?=[ \t\-–—]|$|[A-Z][a-z])|([A-Z][A-Z.'\- ]{1,60}[A-Z.]):)", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class GoldDoc:
    doc: str
    sha1: str
    claims: list[dict[str, Any]]


def _index(folder: Path) -> list[dict[str, str]]:
    with (folder / "index.csv").open(encoding="utf-8", newline="") as index:
        return list(csv.DictReader(index))


def select_docs(folder: Path = WHITEHOUSE) -> list[str]:
    """The drawn documents' paths, ``gaza`` first, each topic in the order of its draw."""
    rows = _index(folder)
    drawn: list[str] = []
    for topic, size in SIZES.items():
        drawn += random.Random(SEED).sample([row["path"] for row in rows if row["topic"] == topic], size)
    return drawn


def document_sha1(doc: str, folder: Path = WHITEHOUSE) -> str:
    return hashlib.sha1((folder / doc).read_bytes()).hexdigest()


def read_gold(path: Path = GOLD) -> list[GoldDoc]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [GoldDoc(row["doc"], row["sha1"], list(row["claims"])) for row in rows]


def label_problem(claim: dict[str, Any], reference: Reference) -> str | None:
    """What makes a gold claim invalid against the seeds, or ``None``: unknown actor, negotiation or
    issue, a stance the codebook lacks, a value the issue's type cannot hold, or no speaker."""
    issues = {(n.key, i.key): i for n in reference.negotiations for i in n.issues}
    issue = issues.get((str(claim.get("negotiation")), str(claim.get("issue"))))
    value = str(claim.get("value", ""))
    if claim.get("actor") not in {a.id for a in reference.actors}:
        return f"unknown actor {claim.get('actor')!r}"
    if issue is None:
        return f"no issue {claim.get('issue')!r} in negotiation {claim.get('negotiation')!r}"
    if claim.get("stance") not in set(Stance):
        return f"unknown stance {claim.get('stance')!r}"
    if not claim.get("speaker"):
        return "no speaker"
    if not _value_fits(value, issue):
        return f"value {value!r} is not a {issue.value_type} value of {issue.key}"
    return None


def _value_fits(value: str, issue: IssueSeed) -> bool:
    """The canonical values of the codebook: days and counts as positive integers, ``all``, ``yes``,
    a choice of the seeds, categories as a sorted comma list of the seeds' choices."""
    number = value.isdigit() and int(value) > 0
    kind = ValueType(issue.value_type)
    if kind in (ValueType.DAYS, ValueType.COUNT):
        return number
    if kind is ValueType.NUMBER:
        return re.fullmatch(r"\d+(?:\.\d+)?", value) is not None
    if kind is ValueType.COUNT_OR_ALL:
        return number or value == "all"
    if kind is ValueType.DAYS_OR_FLAG:
        return number or value == "yes"
    if kind is ValueType.FLAG:
        return value == "yes"
    if kind is ValueType.CHOICE:
        return value in issue.choices
    parts = value.split(",")
    return parts == sorted(set(parts)) and set(parts) <= set(issue.choices)


def sample_items(docs: list[str], folder: Path = WHITEHOUSE) -> list[Item]:
    """One item per document (id = its path), read by ``load_whitehouse`` in ``index.csv`` order."""
    paths = [row["path"] for row in _index(folder)]
    loaded = dict(zip(paths, load_whitehouse(folder, None), strict=True))
    missing = [doc for doc in docs if doc not in loaded]
    if missing:
        raise ValueError(
            f"{folder / 'index.csv'} lists no {missing[0]}: not the corpus the sample was drawn from"
        )
    return [
        Item(line=n, id=doc, title=loaded[doc]["title"], text=loaded[doc]["text"])
        for n, doc in enumerate(docs, start=1)
    ]


def check_corpus(gold: list[GoldDoc], folder: Path = WHITEHOUSE) -> None:
    """Refuse to score a corpus whose documents changed since they were labelled."""
    changed = [g.doc for g in gold if not (folder / g.doc).exists() or document_sha1(g.doc, folder) != g.sha1]
    if changed:
        raise ValueError(f"{len(changed)} labelled document(s) missing or changed, the first {changed[0]}")


def evaluate_sample(extractor: Extractor, folder: Path = WHITEHOUSE, gold_path: Path = GOLD) -> EvalReport:
    gold = read_gold(gold_path)
    check_corpus(gold, folder)
    items = sample_items([g.doc for g in gold], folder)
    return evaluate_items({g.doc: g.claims for g in gold}, items, extractor)


def speaker_at(text: str, offset: int) -> str:
    """Who holds the floor at ``offset``: ``Q``, a speaker's label, or ``statement`` before any turn."""
    last = STATEMENT
    for turn in _TURN.finditer(text):
        if turn.start() > offset:
            break
        last = turn.group(1) or turn.group(2).strip()
    return last


def false_alarm_speakers(report: EvalReport, items: list[Item]) -> list[tuple[Error, str]]:
    """Each false alarm with the speaker whose turn holds its evidence sentence (``?`` if not found)."""
    texts = {item.id: article_text(item.title, item.text)[0] for item in items}
    found: list[tuple[Error, str]] = []
    for alarm in report.false_alarms:
        text = texts.get(alarm.item_id, "")
        at = text.find(alarm.evidence) if alarm.evidence else -1
        found.append((alarm, speaker_at(text, at) if at >= 0 else "?"))
    return found


def miss_causes(report: EvalReport, gold: list[GoldDoc]) -> list[tuple[Error, str, str]]:
    """Each miss with the gold speaker and what the extractor did with its value in that document:
    ``another actor`` when a false alarm there has the same negotiation, issue and value, else
    ``not read``."""
    speakers = {
        (g.doc, c["negotiation"], c["actor"], c["issue"], str(c["value"])): str(c.get("speaker", ""))
        for g in gold
        for c in g.claims
    }
    read = {(a.item_id, a.negotiation, a.issue, a.value) for a in report.false_alarms}
    causes: list[tuple[Error, str, str]] = []
    for miss in report.misses:
        speaker = speakers.get((miss.item_id, miss.negotiation, miss.actor, miss.issue, miss.value), "?")
        value_read = (miss.item_id, miss.negotiation, miss.issue, miss.value) in read
        causes.append((miss, speaker, "another actor" if value_read else "not read"))
    return causes


def _claim(error: Error) -> str:
    return f"{error.item_id}  {error.negotiation}: {error.actor} {error.issue}={error.value}"


def _summary(name: str, tp: int, fp: int, fn: int) -> str:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return f"{name:<10} tp {tp:>3} fp {fp:>3} fn {fn:>3}  P {precision:.3f} R {recall:.3f} F1 {f1:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=("eval", "select"))
    parser.add_argument("--folder", type=Path, default=WHITEHOUSE)
    parser.add_argument("--gold", type=Path, default=GOLD)
    args = parser.parse_args()
    if not (args.folder / "index.csv").exists():
        sys.exit(f"White House documents not found: {args.folder}")
    if args.command == "select":
        rows = {row["path"]: row for row in _index(args.folder)}
        for doc in select_docs(args.folder):
            row = rows[doc]
            print(f"{doc}  {row['category']}  {row['bytes']} bytes  sha1 {document_sha1(doc, args.folder)}")
        return
    report = evaluate_sample(Extractor.load(load_reference(ROOT / "seeds")), args.folder, args.gold)
    gold = read_gold(args.gold)
    items = sample_items([g.doc for g in gold], args.folder)
    print(format_report(report))
    print()
    for name, s in (*report.per_negotiation.items(), ("total", report.overall)):
        print(_summary(name, s.true_positives, s.false_positives, s.false_negatives))
    alarms = false_alarm_speakers(report, items)
    print(f"\nfalse alarms by the speaker holding the floor ({len(alarms)}):")
    for speaker, count in Counter(speaker for _, speaker in alarms).most_common():
        print(f"  {speaker:<24} {count}")
    for alarm, speaker in alarms:
        print(f"  [{speaker}] {_claim(alarm)}")
    causes = miss_causes(report, gold)
    print(f"\nmisses by gold speaker and what became of the value ({len(causes)}):")
    for miss, speaker, cause in causes:
        print(f"  [{speaker}; {cause}] {_claim(miss)}")


if __name__ == "__main__":
    main()
