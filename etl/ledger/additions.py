"""Claims analysts add: a position an analyst read in a source that the extractor missed.

``check_claim`` (a pure rule) reads the analyst's words as a claim the way the codebook writes one,
against the negotiations, actors and issues ``parley seed`` loaded: a malformed claim is one line
naming what is wrong. ``add_claim`` stores it and rebuilds its (negotiation, actor, issue) at once,
in the transaction and under the lock of :mod:`etl.ledger.corrections`, so an event it creates is
alerted as any event is.

An added claim is a ``claims`` row of extractor version ``analyst`` (:data:`etl.ledger.store.ANALYST`),
attached to its source: the archived article whose URL (as :func:`etl.ingest.urls.canonical_url`
reads it) is the one given, or else a new article of the analysts' own feed (``parley:analysts``,
never polled), whose text is the evidence. Re-reads by any extractor version leave it in place; an
extractor claim of the same identity counts as the analyst's claim read again, not as a second one.
The addition is recorded in ``claim_corrections`` (action ``add``): who, when and why. Withdrawing
an added claim is rejecting it (``parley claims reject``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl import locks
from etl.alerts.channels import channels_from_settings
from etl.alerts.routing import AlertRules
from etl.catalog import ensure_analysts_feed
from etl.errors import UserError, one_line
from etl.extract.store import value_text
from etl.ingest.entries import content_hash
from etl.ingest.urls import UrlError, canonical_url, check_feed_url, without_credentials
from etl.ledger.corrections import AlreadyCorrected, CorrectionSummary, rebuild_key
from etl.ledger.store import ANALYST, not_rejected
from etl.settings import Settings
from models import Actor, Article, Claim, ClaimCorrection, Issue, Negotiation
from models.enums import CorrectionAction, Stance, ValueType

WHY_ADDED = "added by an analyst"
# a source's time may run ahead of this machine's clock by this much (time zones typed by hand)
_CLOCK_SKEW = timedelta(minutes=5)
_WHOLE = re.compile(r"[1-9][0-9]{0,8}")
_NUMBER = re.compile(r"[0-9]{1,12}(\.[0-9]{1,6})?")


class BadClaim(UserError):
    """An added claim the codebook cannot hold: unknown negotiation, actor, issue or stance, a value
    its issue does not take, no evidence, a bad URL or time."""


@dataclass(frozen=True)
class IssueTerms:
    value_type: ValueType
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Vocabulary:
    """What a claim may name: the negotiations with their issues, and the actors."""

    issues: dict[str, dict[str, IssueTerms]]
    """negotiation key -> issue key -> how its values are written"""
    actors: frozenset[str]

    @classmethod
    def read(cls, session: Session) -> Vocabulary:
        issues: dict[str, dict[str, IssueTerms]] = {
            key: {} for key in session.scalars(select(Negotiation.key))
        }
        for issue in session.scalars(select(Issue)):
            issues.setdefault(issue.negotiation, {})[issue.key] = IssueTerms(
                ValueType(issue.value_type), tuple(issue.choices or ())
            )
        return cls(issues, frozenset(session.scalars(select(Actor.id))))


@dataclass(frozen=True)
class ClaimText:
    """The claim as the analyst typed it."""

    negotiation: str
    actor: str
    issue: str
    value: str
    stance: str
    url: str
    evidence: str
    published_at: datetime | None = None


@dataclass(frozen=True)
class CheckedClaim:
    negotiation: str
    actor: str
    issue: str
    value: str
    value_number: float | None
    stance: Stance
    url: str
    evidence: str
    published_at: datetime | None


@dataclass
class AddSummary(CorrectionSummary):
    article_id: int = 0
    archived: bool = field(default=True)
    """whether the source was already in the archive (else an article of the analysts' feed)"""

    def done(self) -> str:
        return f"added from article {self.article_id}" + (
            "" if self.archived else " (new, analysts' sources)"
        )


def check_claim(words: ClaimText, vocabulary: Vocabulary, now: datetime) -> CheckedClaim:
    """The analyst's claim as the codebook writes one, or :class:`BadClaim` naming the first fault."""
    negotiation, actor, issue = (words.negotiation.strip(), words.actor.strip(), words.issue.strip())
    if negotiation not in vocabulary.issues:
        raise BadClaim(f"unknown negotiation {negotiation!r}; known: {_listed(vocabulary.issues)}")
    if actor not in vocabulary.actors:
        known = _listed(vocabulary.actors, 6)
        raise BadClaim(f"unknown actor {actor!r}: an actor id of seeds/actors.yaml, e.g. {known}")
    issues = vocabulary.issues[negotiation]
    if issue not in issues:
        raise BadClaim(f"{negotiation} has no issue {issue!r}; its issues: {_listed(issues)}")
    try:
        stance = Stance(words.stance.strip().lower())
    except ValueError:
        stances = _listed([s.value for s in Stance])
        raise BadClaim(f"unknown stance {words.stance!r}; one of {stances}") from None
    value, number = normalise_value(issues[issue], words.value, issue)
    evidence = one_line(words.evidence)
    if not evidence:
        raise BadClaim("an added claim needs its evidence: the source's sentence that states it (--evidence)")
    try:
        url = check_feed_url(words.url)
    except UrlError as exc:
        raise BadClaim(f"source URL: {exc}") from None
    published = words.published_at
    if published is not None:
        if published.tzinfo is None:
            raise BadClaim("--published-at needs a time zone, e.g. 2023-11-22T06:00:00Z")
        if published > now + _CLOCK_SKEW:
            raise BadClaim(f"--published-at {published.isoformat()} is in the future")
    return CheckedClaim(negotiation, actor, issue, value, number, stance, url, evidence, published)


def normalise_value(terms: IssueTerms, raw: str, issue: str) -> tuple[str, float | None]:
    """``raw`` as the codebook writes a value of this issue (text, and the number when it is one)."""
    text = raw.strip().lower()
    kind = terms.value_type
    if kind in (ValueType.DAYS, ValueType.DAYS_OR_FLAG, ValueType.COUNT, ValueType.COUNT_OR_ALL):
        word = {ValueType.DAYS_OR_FLAG: "yes", ValueType.COUNT_OR_ALL: "all"}.get(kind)
        if word is not None and text == word:
            return word, None
        if _WHOLE.fullmatch(text):
            return text, float(text)
        unit = "a number of days" if kind in (ValueType.DAYS, ValueType.DAYS_OR_FLAG) else "a count"
        also = f" or {word}" if word else ""
        raise BadClaim(f"{issue} takes {unit} (a whole number from 1){also}, not {raw!r}")
    if kind == ValueType.NUMBER:
        if _NUMBER.fullmatch(text):
            number = float(text)
            return value_text(number), number
        raise BadClaim(f"{issue} takes a number, not {raw!r}")
    if kind == ValueType.FLAG:
        if text == "yes":
            return "yes", None
        raise BadClaim(f"{issue} takes the value yes (a rejection is --stance rejects), not {raw!r}")
    parts = [part.strip() for part in text.split(",")] if kind == ValueType.CATEGORIES else [text]
    unknown = [part for part in parts if part not in terms.choices]
    if unknown or not parts:
        many = " (several: comma-separated)" if kind == ValueType.CATEGORIES else ""
        raise BadClaim(f"{issue} takes one of {_listed(terms.choices)}{many}, not {raw!r}")
    return ",".join(sorted(set(parts))), None


def add_claim(
    engine: Engine,
    settings: Settings,
    words: ClaimText,
    by: str,
    reason: str | None = None,
    channels: Sequence[str] | None = None,
) -> AddSummary:
    """Add the analyst's claim, and rebuild its (negotiation, actor, issue) at once."""
    rules = AlertRules.load(settings)
    if channels is None:
        channels = [channel.name for channel in channels_from_settings(settings)]
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        locks.hold(session, locks.LEDGER, settings.lock_timeout_seconds)
        claim = check_claim(words, Vocabulary.read(session), now)
        article_id, archived = _source(session, claim, now)
        identity = (
            Claim.article_id == article_id,
            Claim.negotiation == claim.negotiation,
            Claim.actor == claim.actor,
            Claim.issue == claim.issue,
            Claim.value == claim.value,
        )
        same = session.execute(
            select(Claim.id, Claim.extractor_version, not_rejected()).where(*identity).order_by(Claim.id)
        ).all()
        if any(version == ANALYST for _id, version, _counts in same):
            added = next(id for id, version, _counts in same if version == ANALYST)
            raise AlreadyCorrected(f"an analyst already added this claim of this source: claim {added}")
        rejected = next((id for id, _version, counts in same if not counts), None)
        if rejected is not None:
            raise AlreadyCorrected(
                f"claim {rejected} of this source says the same and is rejected:"
                f" parley claims restore {rejected}"
            )
        claim_id = session.scalar(
            insert(Claim)
            .values(
                article_id=article_id, negotiation=claim.negotiation, actor=claim.actor, issue=claim.issue,
                value=claim.value, value_number=claim.value_number, stance=claim.stance,
                evidence=claim.evidence, start_offset=0, end_offset=len(claim.evidence), confidence=1.0,
                extractor_version=ANALYST,
            )
            .returning(Claim.id)
        )  # fmt: skip
        assert claim_id is not None
        session.execute(
            insert(ClaimCorrection).values(
                action=CorrectionAction.ADD, claim_id=claim_id, article_id=article_id,
                negotiation=claim.negotiation, actor=claim.actor, issue=claim.issue, value=claim.value,
                reason=one_line(reason) if reason else None, corrected_by=by,
            )
        )  # fmt: skip
        key = (claim.negotiation, claim.actor, claim.issue)
        summary = AddSummary(CorrectionAction.ADD, claim_id, key, article_id=article_id, archived=archived)
        stored = session.get(Claim, claim_id)
        assert stored is not None
        rebuild_key(session, settings, key, stored, rules, channels, WHY_ADDED, reason, summary)
    return summary


def added_claims(engine: Engine) -> list[tuple[Claim, ClaimCorrection, bool]]:
    """Every claim analysts added, with its addition and whether it counts now (latest first)."""
    with Session(engine) as session:
        rows = session.execute(
            select(Claim, ClaimCorrection, not_rejected())
            .join(ClaimCorrection, ClaimCorrection.claim_id == Claim.id)
            .where(Claim.extractor_version == ANALYST, ClaimCorrection.action == CorrectionAction.ADD)
            .order_by(ClaimCorrection.id.desc())
        ).all()
        session.expunge_all()
    return [(claim, addition, bool(counts)) for claim, addition, counts in rows]


def _source(session: Session, claim: CheckedClaim, now: datetime) -> tuple[int, bool]:
    """The article the claim was read in: the archive's, by its canonical URL, or a new one of the
    analysts' feed. Returns (article id, whether it was archived)."""
    canonical = canonical_url(claim.url)
    archived = session.scalar(
        select(Article.id)
        .where((Article.canonical_url == canonical) | (Article.url == claim.url))
        .order_by(Article.duplicate_of.is_not(None), Article.id)
        .limit(1)
    )
    if archived is not None:
        return archived, True
    feed_id = ensure_analysts_feed(session)
    published = claim.published_at or now
    row: dict[str, Any] = {
        "feed_id": feed_id,
        "guid": canonical or claim.url,
        "url": claim.url,
        "canonical_url": canonical,
        "title": "",
        "summary": claim.evidence,
        "text": claim.evidence,  # what the extractor reads, as for an article whose page was not fetched
        "text_source": "summary",
        "published_at": published,
        "claimed_published_at": claim.published_at,
        "content_hash": content_hash("", claim.evidence),
        "raw_entry": {"source": "analyst", "link": without_credentials(claim.url)},
    }
    article_id = session.scalar(insert(Article).values(row).returning(Article.id))
    assert article_id is not None
    return article_id, False


def _listed(names: Any, limit: int = 20) -> str:
    names = sorted(names)
    more = f" … ({len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more
