"""Extraction without a database: JSONL items in, JSON claims out, and scoring against a gold set.

This module owns the evaluation interface behind ``parley extract-file`` and ``parley eval``: reading
item files (``{"id", "title", "text", "published"}`` per line), writing one result line per item in
input order, and scoring ``(negotiation, actor, issue, value)`` per article against hand-labelled gold,
as ``../shared/eval/README.md`` describes. A gold claim without a ``negotiation`` (sets labelled under
codebook v1) is read as the default negotiation (``gaza``, the codebook's rule; ``--negotiation``
of ``parley eval`` changes it).

A line that cannot be read (not JSON, nested past Python's stack, not an object, no title or text)
costs ``extract-file`` that item only: its output line carries the error, every other item is still
extracted and written, and :class:`ItemFileError` is raised after the last line, so the command ends
with one line naming the first bad line and exit status 1. ``eval`` reads both files whole before any
extraction and refuses a bad line in either, or files that do not label the same items: a score over
part of a set would read as a real one.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from etl.errors import UserError, first_line
from etl.extract.engine import ArticleResult, Claim, Extractor

Triple = tuple[str, str, str, str]
"""(negotiation, actor, issue, value): what scoring compares"""
V1_NEGOTIATION = "gaza"  # codebook v2: a claim labelled before v2 carries no negotiation; read it as gaza


class InputFileError(UserError, ValueError):
    """An item or gold file that cannot be used: the file, the line and what is wrong."""


class ItemFileError(InputFileError):
    """Lines of an item file that could not be read."""


class GoldFileError(InputFileError):
    """A gold file ``parley eval`` cannot read: the line and what is wrong with it."""


@dataclass(frozen=True, slots=True)
class Item:
    """One input line: an article to extract from, or the reason it could not be read."""

    line: int
    id: str
    title: str = ""
    text: str = ""
    error: str | None = None


def read_items(path: Path) -> Iterator[Item]:
    """Items of a JSONL file in order; an unreadable line becomes an :class:`Item` with ``error``."""
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            yield _parse_item(number, line)


def _parse_item(number: int, line: str) -> Item:
    fallback_id = f"line-{number}"
    data, error = _json_object(line)
    if data is None:
        return Item(number, fallback_id, error=error)
    item_id = data.get("id")
    item_id = str(item_id) if isinstance(item_id, str | int | float) else fallback_id
    if "title" not in data and "text" not in data:
        return Item(number, item_id, error="no title or text (is this a gold file?)")
    title, text = data.get("title") or "", data.get("text") or ""
    if not isinstance(title, str) or not isinstance(text, str):
        return Item(number, item_id, error="title and text must be strings")
    return Item(number, item_id, title, text)


def _json_object(line: str) -> tuple[dict[str, Any] | None, str]:
    """The JSON object on ``line``, or None and why it is not one."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON: {exc.msg} (column {exc.colno})"
    except RecursionError:  # the decoder recurses per level: 5,000 nested brackets exhaust the stack
        return None, "invalid JSON: nested too deeply"
    except ValueError as exc:  # an integer of more digits than Python converts
        return None, f"invalid JSON: {first_line(exc, 120)}"
    if not isinstance(data, dict):
        return None, "expected a JSON object"
    return data, ""


def unreadable_error(path: Path, bad: list[Item], total: int) -> ItemFileError:
    """One line for the unreadable lines of an item file: the first, its reason, how many."""
    first = bad[0]
    more = f" (and {len(bad) - 1} more of {total} lines)" if len(bad) > 1 else ""
    return ItemFileError(f"{path}: line {first.line}: {first.error}{more}")


def claim_json(claim: Claim) -> dict[str, Any]:
    return {
        "negotiation": claim.negotiation,
        "actor": claim.actor,
        "issue": claim.issue,
        "value": claim.value,
        "stance": claim.stance,
        "evidence": claim.evidence,
        "start": claim.start,
        "end": claim.end,
        "confidence": claim.confidence,
    }


def _results(
    items: list[Item], extractor: Extractor, batch_size: int, n_process: int = 1
) -> Iterator[tuple[Item, ArticleResult]]:
    readable = [item for item in items if item.error is None]
    extracted = extractor.extract_many(
        ((i.title, i.text) for i in readable), batch_size=batch_size, n_process=n_process
    )
    for item in items:
        if item.error is not None:
            yield item, ArticleResult(error=item.error)
        else:
            yield item, next(extracted)


def extract_file(
    items_path: Path,
    out: TextIO,
    extractor: Extractor,
    progress: Callable[[int], None] | None = None,
    batch_size: int = 64,
    n_process: int = 1,
) -> Counter[str]:
    """Write one JSON line per input item, in input order; returns counts (items, claims, errors).

    ``progress`` is called with the number of items written so far, once per item. When lines could
    not be read, :class:`ItemFileError` is raised once every line is written (see the module's doc).
    """
    counts: Counter[str] = Counter()
    unreadable: list[Item] = []
    items = read_items(items_path)
    # stream in chunks so a 46k-item file never sits in memory as parsed docs
    while chunk := [item for _, item in zip(range(batch_size * 16), items, strict=False)]:
        unreadable += [item for item in chunk if item.error is not None]
        for item, result in _results(chunk, extractor, batch_size, n_process):
            line: dict[str, Any] = {"id": item.id, "claims": [claim_json(c) for c in result.claims]}
            if result.error is not None:
                line["error"] = result.error
                counts["errors"] += 1
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
            counts["items"] += 1
            counts["claims"] += len(result.claims)
            if progress is not None:
                progress(counts["items"])
    if unreadable:
        raise unreadable_error(items_path, unreadable, counts["items"])
    return counts


# --- scoring --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Score:
    """Precision, recall and F1 of triples for one issue (or overall)."""

    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 0.0

    @property
    def recall(self) -> float:
        gold = self.true_positives + self.false_negatives
        return self.true_positives / gold if gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True, slots=True)
class Error:
    """A miss (gold triple not found) or a false alarm (triple found that gold lacks)."""

    item_id: str
    negotiation: str
    actor: str
    issue: str
    value: str
    stance: str
    evidence: str


@dataclass(slots=True)
class EvalReport:
    overall: Score
    per_issue: dict[str, Score]  # by "negotiation.issue"
    per_negotiation: dict[str, Score]
    stance_correct: int
    stance_total: int
    misses: list[Error] = field(default_factory=list)
    false_alarms: list[Error] = field(default_factory=list)
    item_errors: list[tuple[str, str]] = field(default_factory=list)
    items: int = 0

    @property
    def stance_accuracy(self) -> float:
        return self.stance_correct / self.stance_total if self.stance_total else 0.0


def value_text(value: Any) -> str:
    """A value as triples compare it: gold and output both print integers as JSON numbers, so as
    text, 60 and 60.0 both "60"."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def triple_of(claim: dict[str, Any], default_negotiation: str) -> Triple:
    """The (negotiation, actor, issue, value) a gold or output claim is scored by."""
    negotiation = claim.get("negotiation") or default_negotiation
    return str(negotiation), str(claim["actor"]), str(claim["issue"]), value_text(claim["value"])


def read_gold(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Gold claims by item id: one ``{"id", "claims": [{"actor", "issue", "value", …}]}`` per line.

    Any line that is not that raises :class:`GoldFileError` naming the file and the line."""
    gold: dict[str, list[dict[str, Any]]] = {}
    first_seen: dict[str, int] = {}
    for number, raw in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise GoldFileError(f"{path}: line {number}: not UTF-8 text (byte {exc.start})") from exc
        if not line.strip():
            continue
        data, error = _json_object(line)
        if data is None:
            raise GoldFileError(f"{path}: line {number}: {error}")
        item_id, claims = data.get("id"), data.get("claims")
        if not isinstance(item_id, str | int) or isinstance(item_id, bool):
            raise GoldFileError(f'{path}: line {number}: no "id" (a string or a number)')
        if not isinstance(claims, list):
            raise GoldFileError(f'{path}: line {number}: no "claims" list (is this an item file?)')
        for index, claim in enumerate(claims, start=1):
            if not isinstance(claim, dict) or not {"actor", "issue", "value"} <= claim.keys():
                raise GoldFileError(
                    f"{path}: line {number}: claim #{index} is not an object with actor, issue and value"
                )
        key = str(item_id)
        if key in first_seen:
            raise GoldFileError(f"{path}: line {number}: id {key!r} is already on line {first_seen[key]}")
        first_seen[key] = number
        gold[key] = claims
    if not gold:
        raise GoldFileError(f"{path}: no gold lines")
    return gold


def score(
    gold: dict[str, list[dict[str, Any]]],
    found: dict[str, list[dict[str, Any]]],
    default_negotiation: str = V1_NEGOTIATION,
) -> EvalReport:
    """Compare (negotiation, actor, issue, value) per article; stance is scored on those both sides
    have. A gold claim without a negotiation belongs to ``default_negotiation``."""
    counts: dict[str, Counter[str]] = {}
    stance_correct = stance_total = 0
    misses: list[Error] = []
    alarms: list[Error] = []
    for item_id in list(gold) + [i for i in found if i not in gold]:
        expected = {triple_of(c, default_negotiation): c for c in gold.get(item_id, [])}
        got = {triple_of(c, default_negotiation): c for c in found.get(item_id, [])}
        for triple in expected.keys() | got.keys():
            tally = counts.setdefault(f"{triple[0]}.{triple[2]}", Counter())
            if triple in expected and triple in got:
                tally["tp"] += 1
                stance_total += 1
                stance_correct += expected[triple].get("stance") == got[triple].get("stance")
            elif triple in expected:
                tally["fn"] += 1
                misses.append(_error(item_id, triple, expected[triple]))
            else:
                tally["fp"] += 1
                alarms.append(_error(item_id, triple, got[triple]))
    per_issue = {issue: Score(c["tp"], c["fp"], c["fn"]) for issue, c in sorted(counts.items())}
    by_negotiation: dict[str, list[Score]] = {}
    for key, one in per_issue.items():
        by_negotiation.setdefault(key.split(".", 1)[0], []).append(one)
    per_negotiation = {key: _sum(scores) for key, scores in sorted(by_negotiation.items())}
    overall = _sum(list(per_issue.values()))
    return EvalReport(
        overall, per_issue, per_negotiation, stance_correct, stance_total, misses, alarms, items=len(gold)
    )


def _sum(scores: list[Score]) -> Score:
    return Score(
        sum(s.true_positives for s in scores),
        sum(s.false_positives for s in scores),
        sum(s.false_negatives for s in scores),
    )


def _error(item_id: str, triple: Triple, claim: dict[str, Any]) -> Error:
    return Error(
        item_id, *triple, stance=str(claim.get("stance", "")), evidence=str(claim.get("evidence", ""))
    )


def read_eval_files(gold_path: Path, items_path: Path) -> tuple[dict[str, list[dict[str, Any]]], list[Item]]:
    """The gold set and the items it labels, both checked whole (before any extraction is paid for):
    :class:`InputFileError` for a bad line in either, or files that do not label the same items."""
    gold = read_gold(gold_path)
    items = list(read_items(items_path))
    unreadable = [item for item in items if item.error is not None]
    if unreadable:
        raise unreadable_error(items_path, unreadable, len(items))
    _check_same_items(gold_path, gold, items_path, {item.id for item in items})
    return gold, items


def evaluate_items(
    gold: dict[str, list[dict[str, Any]]],
    items: list[Item],
    extractor: Extractor,
    batch_size: int = 64,
    default_negotiation: str = V1_NEGOTIATION,
) -> EvalReport:
    """Run the extractor over ``items`` and score it against ``gold``."""
    found: dict[str, list[dict[str, Any]]] = {}
    item_errors: list[tuple[str, str]] = []
    for item, result in _results(items, extractor, batch_size):
        found[item.id] = [claim_json(c) for c in result.claims]
        if result.error is not None:
            item_errors.append((item.id, result.error))
    report = score(gold, found, default_negotiation)
    report.item_errors = item_errors
    return report


def evaluate(gold_path: Path, items_path: Path, extractor: Extractor, batch_size: int = 64) -> EvalReport:
    """Run the extractor over ``items_path`` and score it against ``gold_path``."""
    return evaluate_items(*read_eval_files(gold_path, items_path), extractor, batch_size)


def _check_same_items(gold_path: Path, gold: dict[str, Any], items_path: Path, item_ids: set[str]) -> None:
    """Refuse files that do not label the same items: every gold item must be in the item file (a
    missing one would count as misses), and a file with no id in common is the wrong file."""
    missing = [item_id for item_id in gold if item_id not in item_ids]
    if len(missing) == len(gold):
        raise InputFileError(
            f"no item of {items_path} has an id of {gold_path}: the wrong files, or given in the "
            "wrong order (GOLD then ITEMS)?"
        )
    if missing:
        raise InputFileError(
            f"{len(missing)} of {len(gold)} ids of {gold_path} have no item in {items_path}, "
            f"the first {missing[0]!r}"
        )


def format_report(report: EvalReport, max_errors: int = 50) -> str:
    """The report for a terminal: a table per issue, then misses and false alarms to read."""
    lines = [f"{'issue':<34} {'tp':>4} {'fp':>4} {'fn':>4} {'prec':>6} {'recall':>6} {'f1':>6}"]
    rows = [
        *report.per_issue.items(),
        *((f"ALL {key}", s) for key, s in report.per_negotiation.items()),
        ("OVERALL", report.overall),
    ]
    for issue, s in rows:
        lines.append(
            f"{issue:<34} {s.true_positives:>4} {s.false_positives:>4} {s.false_negatives:>4} "
            f"{s.precision:>6.3f} {s.recall:>6.3f} {s.f1:>6.3f}"
        )
    lines.append(
        f"stance accuracy on matched triples: {report.stance_accuracy:.3f} "
        f"({report.stance_correct}/{report.stance_total}); items: {report.items}"
    )
    for title, errors in (("misses", report.misses), ("false alarms", report.false_alarms)):
        lines.append(f"\n{title} ({len(errors)}):")
        for e in errors[:max_errors]:
            lines.append(
                f"  {e.item_id}  {e.negotiation}: {e.actor} {e.issue}={e.value} ({e.stance})"
                f"  | {e.evidence[:140]}"
            )
        if len(errors) > max_errors:
            lines.append(f"  ... and {len(errors) - max_errors} more")
    if report.item_errors:
        lines.append(f"\nitems that failed ({len(report.item_errors)}):")
        lines += [f"  {item_id}: {error}" for item_id, error in report.item_errors[:max_errors]]
    return "\n".join(lines)
