"""A labelled sample of White House documents: long texts where a speaker holds the floor (issue 14).

The documents (``../shared/corpus/whitehouse/``: statements, readouts, press briefings, remarks) must
never be copied into the project, so the gold file ``tests/fixtures/whitehouse_sample_gold.jsonl``
holds only references and labels: one line per document, ``{"doc": <path under the whitehouse
folder>, "sha1": <sha1 of the file's bytes, to notice a changed corpus>, "stratum": "random" or
"rich", "claims": [{"negotiation", "actor", "issue", "value", "stance", "speaker", "note"}]}``, the
``random`` lines first. ``speaker`` is who holds the floor when the claim is stated ("THE PRESIDENT",
"MS. JEAN-PIERRE", "MR. KIRBY", or "statement" for a text with no speakers: statements, readouts and
the articles that quote officials); ``note`` is the labeller's own words, never the document's.

* **draw** (:func:`select_docs`), two strata, each topic drawn by its own ``random.Random(seed)``:

  - ``random``: ``sample`` of the paths of ``index.csv``, per topic: 8 of the 421 ``gaza`` documents,
    6 of the 95 ``ukraine`` ones, over every category as they come (briefings, remarks, statements
    …). SEED 20261203 is the day the sample was drawn. It found 4 gold claims, all ``gaza``: the
    ukraine documents it drew are of 2022, before the talks.
  - ``rich``: ``sample`` with RICH_SEED (SEED + 1, drawn the same day) of 8 ``gaza`` and 8 ``ukraine``
    documents among those likely to state positions in the talks (:func:`is_rich_candidate`): gaza
    from 2024-05 on (the phased-deal era), ukraine from 2025 on (the peace talks), at most 20,000
    bytes by ``index.csv`` (statements, readouts, gaggles and short remarks rather than hour-long
    briefings, so that 16 documents can be read in full), a deal-term word in the body (DEAL_TERM:
    ceasefire, truce, hostage, release, withdrawal, guarantee, territory), the ``random`` documents
    excluded; paths in ``index.csv`` order. 74 gaza and 9 ukraine documents pass (the ukraine draw
    is nearly its whole population). A cheap filter on purpose: it reads no claim, and within it the
    draw is blind.

  Precision and recall are reported per stratum and in total: ``rich`` measures the extractor where
  positions are stated, ``random`` on the documents as they come (mostly false alarms to count).
* **labels**: every drawn document was read in full and labelled by hand by ``../shared/CODEBOOK.md``
  (v2) and ``../shared/eval/README.md``, in a commit of its own for each stratum, before the
  extractor read any of them. The scoring unit is the document's set of (negotiation, actor, issue,
  value).
* **scoring**: one item per document, the title of its front matter and its Markdown body, as
  ``bench/extract_overhead.py``'s :func:`load_whitehouse` gives them (a full-text fetch of the page),
  read by the extractor once and scored per stratum by :func:`etl.extract.evaluate.score`, the code
  behind ``parley eval``.

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

Added with the ``rich`` stratum (its articles quote people, its readouts report agreements):

10. In an article that quotes people, a US official quoted by name (Rubio, Witkoff, the Treasury
    Secretary: the codebook's aliases are examples) speaks for the US. Members of Congress, former
    officials and commentators speak for no government, and a position they ascribe to another
    government ("Putin agreed to security guarantees", "he wanted a ceasefire") gives no claim, as
    a reporter's question gives none (decision 2).
11. "The G7" names no single actor, as "European leaders" (codebook): a G7 statement gives claims only
    to the actors it names, here the President whose deal it endorses (rule 3) and Israel, said to be
    ready to go ahead with it (rule 8).
12. No claim from an aim denied without a cue of rule 9 ("what we're aiming for is not a ceasefire"),
    nor from a speaker's guess at another leader's wish ("I think he wants to stop fighting", rule 11).
13. In ``gaza``, ending the war through "the ceasefire and hostage deal", or a deal that brings "an
    enduring end to the crisis", is ``permanent_ceasefire`` sought as a term (decision 5). In
    ``ukraine``, two leaders who agree a halt to energy strikes both accept ``energy_truce`` (rule 2),
    though the strikes to halt are Russia's too; "the killing must stop" before a settlement is
    ``ceasefire``; safe navigation in the Black Sea is no issue of the table.

Measured once with extractor 2.1.0 (commit 89aed6c), before rule 14 is implemented, on the
``random`` stratum alone: 4 gold triples (all ``gaza``, all ``united_states``), none found: gaza fn 4,
ukraine fp 3, total P 0.000 R 0.000 F1 0.000. Of the 3 false alarms, 1 is read in a reporter's
question and 2 in the Press Secretary's turn but given to other actors; of the 4 misses, 3 are
stated by a speaker in the first person ("we"), the US named only by who holds the floor, and 1 is a
statement that names the US.

Measured once with both strata, the same extractor (2.1.0, commit 68bb312), labels committed first
(73258d8): ``random`` as above; ``rich`` 18 gold triples (gaza 7, ukraine 11), none found: gaza fn 7,
ukraine fp 2 fn 11, P 0.000 R 0.000 F1 0.000; total fp 5 fn 22, P 0.000 R 0.000 F1 0.000. The 2 new
false alarms are russia ``security_guarantees`` and ``territorial_concessions`` read in a
commentator's quote in an article (decision 10); every miss of ``rich`` is ``not read`` (its value is
given to no actor): 16 in statements, readouts and articles with no speaker turns, 2 in the turns of
the President and the Vice President. Rule 14 alone will not lift these figures.

    python bench/whitehouse_sample.py eval      # per stratum and in total: P, R, F1 per negotiation,
                                                # misses, false alarms, speakers
    python bench/whitehouse_sample.py select    # the documents the procedure draws, per stratum
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
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if str(ROOT / "bench") not in sys.path:
    sys.path.insert(0, str(ROOT / "bench"))

from extract_overhead import WHITEHOUSE, load_whitehouse  # noqa: E402

from etl.extract.engine import Extractor, article_text  # noqa: E402
from etl.extract.evaluate import Error, EvalReport, Item, claim_json, format_report, score  # noqa: E402
from etl.seeds import IssueSeed, Reference, load_reference  # noqa: E402
from models.enums import Stance, ValueType  # noqa: E402

GOLD = ROOT / "tests" / "fixtures" / "whitehouse_sample_gold.jsonl"
SEED = 20261203  # the day the sample was drawn
RICH_SEED = SEED + 1  # the second stratum, drawn the same day


class Stratum(StrEnum):
    RANDOM = "random"  # every document of a topic
    RICH = "rich"  # documents likely to state positions in the talks (is_rich_candidate)


SIZES = {Stratum.RANDOM: {"gaza": 8, "ukraine": 6}, Stratum.RICH: {"gaza": 8, "ukraine": 8}}
RICH_SINCE = {"gaza": "2024-05", "ukraine": "2025"}  # the phased-deal era; the 2025-26 peace talks
RICH_MAX_BYTES = 20_000
DEAL_TERM = re.compile(
    r"\b(?:cease-?fire|truce|hostages?|release[sd]?|withdraw(?:al|s|n)?|guarantees?|territor(?:y|ies|ial))\b",
    re.IGNORECASE,
)
TOTAL = "total"
STATEMENT = "statement"  # the speaker of a text without speakers
QUESTION = "Q"

# a turn opens a line: "Q" then a space, a dash or (a transcript's glitch) the next word glued to it
# ("QAnd then"), or a name in capitals then a colon ("MS. JEAN-PIERRE:", "PRESIDENT BIDEN:")
_TURN = re.compile(r"^[ \t]*(?:(Q)(?=[ \t\-–—]|$|[A-Z][a-z])|([A-Z][A-Z.'\- ]{1,60}[A-Z.]):)", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class GoldDoc:
    doc: str
    sha1: str
    stratum: Stratum
    claims: list[dict[str, Any]]


def _index(folder: Path) -> list[dict[str, str]]:
    with (folder / "index.csv").open(encoding="utf-8", newline="") as index:
        return list(csv.DictReader(index))


def select_docs(folder: Path = WHITEHOUSE) -> dict[Stratum, list[str]]:
    """The drawn documents' paths per stratum, ``random`` first; in each, ``gaza`` first, each topic
    in the order of its draw."""
    rows = _index(folder)
    drawn = {Stratum.RANDOM: _draw(rows, SIZES[Stratum.RANDOM], SEED)}
    candidates = [
        row
        for row in rows
        if row["path"] not in drawn[Stratum.RANDOM]
        and is_rich_candidate(
            row["topic"], row["date"], int(row["bytes"]), document_body(row["path"], folder)
        )
    ]
    drawn[Stratum.RICH] = _draw(candidates, SIZES[Stratum.RICH], RICH_SEED)
    return drawn


def _draw(rows: list[dict[str, str]], sizes: dict[str, int], seed: int) -> list[str]:
    drawn: list[str] = []
    for topic, size in sizes.items():
        drawn += random.Random(seed).sample([row["path"] for row in rows if row["topic"] == topic], size)
    return drawn


def is_rich_candidate(topic: str, date: str, size: int, body: str) -> bool:
    """A document of the ``rich`` stratum's population: of its topic's talks (dated from
    RICH_SINCE on), short enough to read in full, and naming a deal term somewhere in its body."""
    since = RICH_SINCE.get(topic)
    return (
        since is not None and date >= since and size <= RICH_MAX_BYTES and DEAL_TERM.search(body) is not None
    )


def drawn_docs(folder: Path = WHITEHOUSE) -> set[str]:
    """Every document this sample drew, both strata (what a later sample draws around)."""
    return {doc for docs in select_docs(folder).values() for doc in docs}


def rich_pool(topic: str, earlier: set[str], folder: Path = WHITEHOUSE) -> list[str]:
    """The ``rich`` candidates of ``topic`` no ``earlier`` sample drew, in ``index.csv`` order: the
    pool a later sample (``bench/whitehouse_blind.py`` and after) draws from."""
    return [
        row["path"]
        for row in _index(folder)
        if row["path"] not in earlier
        and row["topic"] == topic
        and is_rich_candidate(topic, row["date"], int(row["bytes"]), document_body(row["path"], folder))
    ]


def ukraine_talks_pool(
    earlier: set[str], folder: Path = WHITEHOUSE, max_bytes: int | None = None
) -> list[str]:
    """The documents of the 2025-26 Russia-Ukraine talks (from RICH_SINCE on) with a deal term in
    the body that no ``earlier`` sample drew, up to ``max_bytes`` if given, in ``index.csv`` order."""
    return [
        row["path"]
        for row in _index(folder)
        if row["path"] not in earlier
        and row["topic"] == "ukraine"
        and row["date"] >= RICH_SINCE["ukraine"]
        and (max_bytes is None or int(row["bytes"]) <= max_bytes)
        and DEAL_TERM.search(document_body(row["path"], folder)) is not None
    ]


def later_sample_main(doc: str | None, select: Callable[[Path], list[str]], gold: Path) -> None:
    """The command of a later sample: ``select`` prints its draw, ``eval`` scores the extractor."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("eval", "select"))
    parser.add_argument("--folder", type=Path, default=WHITEHOUSE, help="the White House corpus folder")
    args = parser.parse_args()
    if not (args.folder / "index.csv").exists():
        sys.exit(f"not found: {args.folder / 'index.csv'}")
    if args.command == "select":
        for drawn in select(args.folder):
            print(drawn)
        return
    extractor = Extractor.load(load_reference(ROOT / "seeds"))
    reports, _ = evaluate_sample(extractor, args.folder, gold)
    for name, report in reports.items():
        if not report.items:
            continue  # this sample's ``random`` stratum, which a later one does not have
        print(f"== {name}: {report.items} documents ==")
        print(format_report(report))
        print()


def document_body(doc: str, folder: Path = WHITEHOUSE) -> str:
    """The Markdown body after the front matter, as ``load_whitehouse`` reads it."""
    raw = (folder / doc).read_text(encoding="utf-8")
    return raw.split("---\n", 2)[2] if raw.startswith("---\n") else raw


def document_sha1(doc: str, folder: Path = WHITEHOUSE) -> str:
    return hashlib.sha1((folder / doc).read_bytes()).hexdigest()


def read_gold(path: Path = GOLD) -> list[GoldDoc]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [GoldDoc(row["doc"], row["sha1"], Stratum(row["stratum"]), list(row["claims"])) for row in rows]


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


def documents(folder: Path = WHITEHOUSE) -> dict[str, dict[str, str]]:
    """Every document by its path, in ``index.csv`` order, as ``load_whitehouse`` reads it (``id``
    ``wh<n>``, ``title``, ``text``)."""
    paths = [row["path"] for row in _index(folder)]
    return dict(zip(paths, load_whitehouse(folder, None), strict=True))


def sample_items(docs: list[str], folder: Path = WHITEHOUSE) -> list[Item]:
    """One item per document (id = its path), read by ``load_whitehouse`` in ``index.csv`` order."""
    loaded = documents(folder)
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


def extract_sample(
    extractor: Extractor, items: list[Item]
) -> tuple[dict[str, list[dict[str, Any]]], list[tuple[str, str]]]:
    """What the extractor finds in each document, and the documents it could not read, with why."""
    found: dict[str, list[dict[str, Any]]] = {}
    errors: list[tuple[str, str]] = []
    for item, result in zip(items, extractor.extract_many((i.title, i.text) for i in items), strict=True):
        found[item.id] = [claim_json(c) for c in result.claims]
        if result.error is not None:
            errors.append((item.id, result.error))
    return found, errors


def score_strata(
    gold: list[GoldDoc], found: dict[str, list[dict[str, Any]]], errors: list[tuple[str, str]]
) -> dict[str, EvalReport]:
    """One report per stratum, then the ``total`` over every document; each report lists the
    documents of its own that the extractor could not read."""
    groups = {stratum.value: [g for g in gold if g.stratum == stratum] for stratum in Stratum}
    groups[TOTAL] = gold
    reports: dict[str, EvalReport] = {}
    for name, docs in groups.items():
        report = score({g.doc: g.claims for g in docs}, {g.doc: found.get(g.doc, []) for g in docs})
        report.item_errors = [(doc, error) for doc, error in errors if doc in {g.doc for g in docs}]
        reports[name] = report
    return reports


def evaluate_sample(
    extractor: Extractor, folder: Path = WHITEHOUSE, gold_path: Path = GOLD
) -> tuple[dict[str, EvalReport], list[Item]]:
    """The reports of :func:`score_strata` and the items read; the extractor reads each document once."""
    gold = read_gold(gold_path)
    check_corpus(gold, folder)
    items = sample_items([g.doc for g in gold], folder)
    return score_strata(gold, *extract_sample(extractor, items)), items


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
        for stratum, docs in select_docs(args.folder).items():
            print(f"{stratum} ({len(docs)}):")
            for doc in docs:
                row, sha1 = rows[doc], document_sha1(doc, args.folder)
                print(f"  {doc}  {row['category']}  {row['bytes']} bytes  sha1 {sha1}")
        return
    reports, items = evaluate_sample(Extractor.load(load_reference(ROOT / "seeds")), args.folder, args.gold)
    gold = read_gold(args.gold)
    print(format_report(reports[TOTAL]))
    for name, report in reports.items():
        print(f"\n== {name}: {report.items} documents ==")
        _print_stratum(report, items, gold)


def _print_stratum(report: EvalReport, items: list[Item], gold: list[GoldDoc]) -> None:
    for name, s in (*report.per_negotiation.items(), (TOTAL, report.overall)):
        print(_summary(name, s.true_positives, s.false_positives, s.false_negatives))
    alarms = false_alarm_speakers(report, items)
    print(f"false alarms by the speaker holding the floor ({len(alarms)}):")
    for speaker, count in Counter(speaker for _, speaker in alarms).most_common():
        print(f"  {speaker:<24} {count}")
    for alarm, speaker in alarms:
        print(f"  [{speaker}] {_claim(alarm)}")
    causes = miss_causes(report, gold)
    print(f"misses by gold speaker and what became of the value ({len(causes)}):")
    for miss, speaker, cause in causes:
        print(f"  [{speaker}; {cause}] {_claim(miss)}")


if __name__ == "__main__":
    main()
