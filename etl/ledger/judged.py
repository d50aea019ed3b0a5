"""``parley eval --corrections``: the current extractor scored against the analysts' decisions.

Every correction is a label on one article (codebook identity: negotiation, actor, issue, value):

* a claim rejected now is one the extractor should **not** make: made again, it is a false positive;
  not made, an error avoided;
* a claim an analyst added (and nobody rejected since) is one it should find: found, a true
  positive; not found, a miss.

The articles are read again by the extractor given (the current one, whatever version read them
before), from the text stored for them. Claims nobody decided on are not scored: they are neither
right nor wrong by the analysts' word. Precision here is over the decided claims only, recall over
the additions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl.extract.engine import Extractor
from etl.extract.evaluate import Score
from etl.extract.store import value_text
from etl.ledger.store import ANALYST, not_rejected
from models import Article, Claim, ClaimCorrection
from models.enums import CorrectionAction

Identity = tuple[int, str, str, str, str]  # article id, negotiation, actor, issue, value


@dataclass(frozen=True, slots=True)
class Decision:
    identity: Identity
    rejected: bool
    """a rejection (should not be made); else an addition (should be found)"""
    by: str
    reason: str | None
    made: bool = False
    """whether the extractor makes this claim of this article"""

    def line(self) -> str:
        article, negotiation, actor, issue, value = self.identity
        what = "rejected" if self.rejected else "added"
        why = f": {self.reason}" if self.reason else ""
        return f"article {article}  {negotiation}: {actor} {issue}={value}  ({what} by {self.by}{why})"


@dataclass(slots=True)
class CorrectionsReport:
    decisions: list[Decision] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    """articles the extractor could not read: (article id, error)"""

    def score(self, negotiation: str | None = None) -> Score:
        mine = [d for d in self.decisions if negotiation in (None, d.identity[1])]
        return Score(
            true_positives=sum(not d.rejected and d.made for d in mine),
            false_positives=sum(d.rejected and d.made for d in mine),
            false_negatives=sum(not d.rejected and not d.made for d in mine),
        )

    @property
    def negotiations(self) -> list[str]:
        return sorted({d.identity[1] for d in self.decisions})


def decisions(engine: Engine) -> list[Decision]:
    """The rejections in force (the latest reject or restore of an identity is a reject) and the
    additions that count, oldest decision first."""
    with Session(engine) as session:
        latest = session.execute(
            select(
                ClaimCorrection.article_id, ClaimCorrection.negotiation, ClaimCorrection.actor,
                ClaimCorrection.issue, ClaimCorrection.value, ClaimCorrection.action,
                ClaimCorrection.corrected_by, ClaimCorrection.reason, ClaimCorrection.id,
            )
            .where(ClaimCorrection.action != CorrectionAction.ADD)
            .distinct(
                ClaimCorrection.article_id, ClaimCorrection.negotiation, ClaimCorrection.actor,
                ClaimCorrection.issue, ClaimCorrection.value,
            )
            .order_by(
                ClaimCorrection.article_id, ClaimCorrection.negotiation, ClaimCorrection.actor,
                ClaimCorrection.issue, ClaimCorrection.value, ClaimCorrection.id.desc(),
            )
        ).all()  # fmt: skip
        added = session.execute(
            select(Claim.article_id, Claim.negotiation, Claim.actor, Claim.issue, Claim.value,
                   ClaimCorrection.corrected_by, ClaimCorrection.reason, ClaimCorrection.id)
            .join(ClaimCorrection, ClaimCorrection.claim_id == Claim.id)
            .where(Claim.extractor_version == ANALYST, ClaimCorrection.action == CorrectionAction.ADD)
            .where(not_rejected())
        ).all()  # fmt: skip
    found = [
        (row.id, Decision(_identity(row), True, row.corrected_by, row.reason))
        for row in latest
        if row.action == CorrectionAction.REJECT
    ]
    found += [(row.id, Decision(_identity(row), False, row.corrected_by, row.reason)) for row in added]
    return [decision for _, decision in sorted(found, key=lambda pair: pair[0])]


def _identity(row: Any) -> Identity:
    return (int(row.article_id), str(row.negotiation), str(row.actor), str(row.issue), str(row.value))


def judge(
    engine: Engine, extractor: Extractor, decided: Sequence[Decision] | None = None
) -> CorrectionsReport:
    """Read each decided article again with ``extractor`` and score it by the decisions."""
    if decided is None:
        decided = decisions(engine)
    report = CorrectionsReport()
    ids = sorted({d.identity[0] for d in decided})
    with Session(engine) as session:
        rows = session.execute(
            select(Article.id, Article.title, Article.text).where(Article.id.in_(ids)).order_by(Article.id)
        ).all()
    made: dict[int, set[tuple[str, str, str, str]]] = {}
    for (article_id, _, _), result in zip(
        rows, extractor.extract_many((title, text) for _, title, text in rows), strict=True
    ):
        if result.error is not None:
            report.failed.append((article_id, result.error))
        made[article_id] = {(c.negotiation, c.actor, c.issue, value_text(c.value)) for c in result.claims}
    for decision in decided:
        article_id, *claim = decision.identity
        is_made = tuple(claim) in made.get(article_id, set())
        report.decisions.append(
            Decision(decision.identity, decision.rejected, decision.by, decision.reason, is_made)
        )
    return report


def format_corrections_report(report: CorrectionsReport) -> str:
    """A table per negotiation, then the decisions the extractor does not follow."""
    if not report.decisions:
        return "no corrections to score: no claim is rejected or added (parley claims reject | add)"
    lines = [f"{'negotiation':<20} {'tp':>4} {'fp':>4} {'fn':>4} {'prec':>6} {'recall':>6} {'f1':>6}"]
    for name, s in [*((n, report.score(n)) for n in report.negotiations), ("OVERALL", report.score())]:
        lines.append(
            f"{name:<20} {s.true_positives:>4} {s.false_positives:>4} {s.false_negatives:>4} "
            f"{s.precision:>6.3f} {s.recall:>6.3f} {s.f1:>6.3f}"
        )
    rejected = [d for d in report.decisions if d.rejected]
    added = [d for d in report.decisions if not d.rejected]
    lines.append(
        f"rejected claims: {len(rejected)}, made again {sum(d.made for d in rejected)};"
        f" added claims: {len(added)}, found {sum(d.made for d in added)}"
    )
    for title, wrong in (
        ("rejected, made again (false positives)", [d for d in rejected if d.made]),
        ("added, not found (misses)", [d for d in added if not d.made]),
    ):
        lines.append(f"\n{title} ({len(wrong)}):")
        lines += [f"  {d.line()}" for d in wrong]
    if report.failed:
        lines.append(f"\narticles that could not be read ({len(report.failed)}):")
        lines += [f"  article {article_id}: {error}" for article_id, error in report.failed]
    return "\n".join(lines)
