"""The position ledger: claims applied in publication order become versioned positions and events.

For each (actor, issue) the ledger keeps versions over time. A claim published at ``t``:

- with no version yet opens the first one and records a ``new`` position event;
- stating what the version valid at ``t`` says (same value and stance) corroborates it: the
  version counts one more claim and, if its feed is new to it, one more outlet;
- stating something else while the version valid at ``t`` is the current one closes it at ``t``,
  opens a new current version and records a ``change`` event (old and new value, stance,
  evidence and article URL);
- published before the current version began (a late article) is placed in history: it
  corroborates, extends or splits the version valid at ``t`` and records no event, so late news never
  raises a spurious alert.

A version is *confirmed* when ``confirm_outlets`` distinct outlets have stated it. Alert rows go to
the outbox in the same transaction as the event: on the event itself, or on its confirmation when
``alert_on`` is ``confirmed``. Every claim is applied once (``position_support``), so a re-run adds
nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl.routing import AlertRules
from etl.settings import Settings
from models import Alert, Article, Claim, Feed, Issue, Position, PositionChange, PositionSupport

LEDGER_LOCK_KEY = 0x6C6564676572  # "ledger": one writer applies claims at a time


@dataclass
class DiffSummary:
    claims: int = 0
    new_positions: int = 0
    changes: int = 0
    confirmations: int = 0
    alerts: int = 0

    def line(self) -> str:
        return (
            f"{self.claims} claims applied: {self.new_positions} new positions, {self.changes} changes, "
            f"{self.confirmations} confirmed; {self.alerts} alerts queued"
        )


@dataclass(frozen=True)
class _PendingClaim:
    id: int
    actor: str
    issue: str
    value: str
    value_number: float | None
    stance: str
    evidence: str
    published_at: datetime
    feed_id: int
    outlet: str
    url: str | None


def apply_claims(
    engine: Engine, settings: Settings, channels: Sequence[str], *, version: str | None = None
) -> DiffSummary:
    """Apply every claim not yet in the ledger, in publication order, in one transaction.

    Alerts go to the ``channels`` (outbox names) that the rules of ``settings.alert_rules`` route
    each event to; the rules are read before anything is written, so a bad file changes nothing.
    """
    summary = DiffSummary()
    rules = AlertRules.load(settings)
    with Session(engine) as session, session.begin():
        session.execute(select(func.pg_advisory_xact_lock(LEDGER_LOCK_KEY)))
        units = dict(session.execute(select(Issue.key, Issue.value_type)).all())
        ledger = _Ledger(session, settings, channels, rules, units, summary)
        for claim in _pending_claims(session, version):
            ledger.apply(claim)
            summary.claims += 1
    return summary


def _pending_claims(session: Session, version: str | None) -> list[_PendingClaim]:
    published = func.coalesce(Article.published_at, Article.fetched_at)
    query = (
        select(
            Claim.id, Claim.actor, Claim.issue, Claim.value, Claim.value_number, Claim.stance,
            Claim.evidence, published, Article.feed_id, func.coalesce(Feed.title, Feed.url), Article.url,
        )
        .join(Article, Article.id == Claim.article_id)
        .join(Feed, Feed.id == Article.feed_id)
        .outerjoin(PositionSupport, PositionSupport.claim_id == Claim.id)
        .where(PositionSupport.claim_id.is_(None))
        .order_by(published, Claim.id)
    )  # fmt: skip
    if version is not None:
        query = query.where(Claim.extractor_version == version)
    return [
        _PendingClaim(
            id, actor, issue, value, float(number) if number is not None else None, stance,
            " ".join(evidence.split()), when, feed_id, outlet, url,
        )
        for id, actor, issue, value, number, stance, evidence, when, feed_id, outlet, url
        in session.execute(query)
    ]  # fmt: skip


class _Ledger:
    def __init__(
        self,
        session: Session,
        settings: Settings,
        channels: Sequence[str],
        rules: AlertRules,
        units: dict[str, str],
        summary: DiffSummary,
    ) -> None:
        self.session = session
        self.settings = settings
        self.channels = channels
        self.rules = rules
        self.units = units
        self.summary = summary

    def apply(self, claim: _PendingClaim) -> None:
        versions = list(
            self.session.scalars(
                select(Position)
                .where(Position.actor == claim.actor, Position.issue == claim.issue)
                .order_by(Position.valid_from)
            )
        )
        t = claim.published_at
        if not versions:
            self._open(claim, previous=None)
            return
        at_t = next(
            (v for v in versions if v.valid_from <= t and (v.valid_to is None or t < v.valid_to)), None
        )
        if at_t is None:  # earlier than all history: a late article
            first = versions[0]
            if _same(first, claim):
                first.valid_from = t
                self._support(first, claim)
            else:
                self._support(self._insert(claim, valid_to=first.valid_from), claim)
            return
        if _same(at_t, claim):
            self._support(at_t, claim)
            return
        if at_t.valid_to is None:
            self._open(claim, previous=at_t)
            return
        # a late article that differs from the version valid at its time: split that version
        later_part_end = at_t.valid_to
        at_t.valid_to = t
        self.session.flush()
        self._support(self._insert(claim, valid_to=later_part_end), claim)

    def _insert(self, claim: _PendingClaim, *, valid_to: datetime | None) -> Position:
        position = Position(
            actor=claim.actor,
            issue=claim.issue,
            value=claim.value,
            value_number=claim.value_number,
            stance=claim.stance,
            valid_from=claim.published_at,
            valid_to=valid_to,
            opened_by_claim_id=claim.id,
            outlets=0,
            claims=0,
        )
        self.session.add(position)
        self.session.flush()
        return position

    def _open(self, claim: _PendingClaim, previous: Position | None) -> None:
        if previous is not None:
            previous.valid_to = claim.published_at
            self.session.flush()  # the current-version unique index must see it closed first
        position = self._insert(claim, valid_to=None)
        old = self._opening_claim(previous) if previous is not None else None
        change = PositionChange(
            actor=claim.actor,
            issue=claim.issue,
            kind="change" if previous is not None else "new",
            old_position_id=previous.id if previous is not None else None,
            new_position_id=position.id,
            old_value=previous.value if previous is not None else None,
            old_stance=previous.stance if previous is not None else None,
            new_value=claim.value,
            new_stance=claim.stance,
            old_evidence=old[0] if old else None,
            old_url=old[1] if old else None,
            new_evidence=claim.evidence,
            new_url=claim.url,
            outlet=claim.outlet,
            published_at=claim.published_at,
        )
        self.session.add(change)
        self.session.flush()
        if previous is None:
            self.summary.new_positions += 1
        else:
            self.summary.changes += 1
        self._support(position, claim)
        if self.settings.alert_on == "first":
            self._queue_alerts(change)

    def _opening_claim(self, position: Position) -> tuple[str, str | None] | None:
        if position.opened_by_claim_id is None:
            return None
        row = self.session.execute(
            select(Claim.evidence, Article.url)
            .join(Article, Article.id == Claim.article_id)
            .where(Claim.id == position.opened_by_claim_id)
        ).first()
        return (" ".join(row[0].split()), row[1]) if row else None

    def _support(self, position: Position, claim: _PendingClaim) -> None:
        support = pg_insert(PositionSupport).values(
            position_id=position.id, claim_id=claim.id, feed_id=claim.feed_id, published_at=claim.published_at
        )
        self.session.execute(support.on_conflict_do_nothing())
        counts = self.session.execute(
            select(func.count(), func.count(func.distinct(PositionSupport.feed_id))).where(
                PositionSupport.position_id == position.id
            )
        ).one()
        position.claims, position.outlets = int(counts[0]), int(counts[1])
        if position.confirmed_at is None and position.outlets >= self.settings.confirm_outlets:
            now = datetime.now(UTC)
            position.confirmed_at = now
            self.summary.confirmations += 1
            change = self.session.scalar(
                select(PositionChange).where(PositionChange.new_position_id == position.id)
            )
            if change is not None:
                change.confirmed_at = now
                if self.settings.alert_on == "confirmed":
                    self._queue_alerts(change)
        self.session.flush()

    def _queue_alerts(self, change: PositionChange) -> None:
        subject, body = describe_change(change, self.units.get(change.issue, ""))
        payload = change_payload(change)
        channels = self.rules.channels_for(
            change.kind, change.actor, change.issue, self.channels, datetime.now(UTC)
        )
        rows = [
            {
                "alert_key": f"parley-change-{change.id}",
                "kind": "position_change",
                "change_id": change.id,
                "channel": channel,
                "subject": subject,
                "body": body,
                "payload": payload,
            }
            for channel in channels
        ]
        if rows:
            result = self.session.execute(
                pg_insert(Alert).values(rows).on_conflict_do_nothing().returning(Alert.id)
            )
            self.summary.alerts += len(result.all())


def _same(position: Position, claim: _PendingClaim) -> bool:
    return position.value == claim.value and position.stance == claim.stance


def format_value(value: str | None, value_type: str) -> str:
    if value is None:
        return "—"
    if value_type == "days":
        return f"{value} day" if value == "1" else f"{value} days"
    return value


def describe_change(change: PositionChange, value_type: str) -> tuple[str, str]:
    """The alert text: what changed, and why we believe it."""
    actor = change.actor.replace("_", " ").title()
    new = format_value(change.new_value, value_type)
    if change.kind == "new":
        subject = f"{actor} — {change.issue}: {new} ({change.new_stance}) [new position]"
    else:
        old = format_value(change.old_value, value_type)
        stance = (
            change.new_stance
            if change.old_stance == change.new_stance
            else f"{change.old_stance} → {change.new_stance}"
        )
        subject = f"{actor} — {change.issue}: {old} → {new} ({stance})"
    when = f"{change.published_at:%Y-%m-%d}"
    body = f"{subject}, per {change.outlet}, {when}: '{change.new_evidence}'"
    if change.new_url:
        body += f"\n{change.new_url}"
    if change.old_evidence:
        body += f"\nbefore: '{change.old_evidence}'" + (f" {change.old_url}" if change.old_url else "")
    return subject, body


def change_payload(change: PositionChange) -> dict[str, Any]:
    return {
        "change_id": change.id,
        "kind": change.kind,
        "actor": change.actor,
        "issue": change.issue,
        "old": {"value": change.old_value, "stance": change.old_stance, "evidence": change.old_evidence,
                "url": change.old_url},
        "new": {"value": change.new_value, "stance": change.new_stance, "evidence": change.new_evidence,
                "url": change.new_url},
        "outlet": change.outlet,
        "published_at": change.published_at.isoformat(),
        "confirmed": change.confirmed_at is not None,
    }  # fmt: skip


def current_positions(engine: Engine) -> list[Position]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(Position).where(Position.valid_to.is_(None)).order_by(Position.actor, Position.issue)
            )
        )


def changes_since(engine: Engine, since: datetime) -> list[PositionChange]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(PositionChange)
                .where(PositionChange.detected_at >= since)
                .order_by(PositionChange.published_at, PositionChange.id)
            )
        )
