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

The ledger holds the claims of one extractor version. When a new version is released, its claims
do not join the old version's positions (a re-read is not news): once the new version has read every
article, the ledger is rebuilt from its claims, silently (no events are alerted, alerts already
queued or sent are kept), and goes on from there. Until then the ledger waits.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl.alerts.messages import change_payload, describe_change
from etl.alerts.routing import AlertRules
from etl.extract.store import unread_count
from etl.settings import Settings
from models import Alert, Article, Claim, Feed, Issue, Position, PositionChange, PositionSupport

LEDGER_LOCK_KEY = 0x6C6564676572  # "ledger": one writer applies claims at a time
PENDING_CHUNK = 5000  # pending claims read, applied and written at a time (a server-side cursor)
# the ledger's writes are Core statements on the tables (the ORM's bulk path would split them)
POSITIONS = cast(Table, Position.__table__)
CHANGES = cast(Table, PositionChange.__table__)
SUPPORT = cast(Table, PositionSupport.__table__)
CLAIMS = cast(Table, Claim.__table__)
ALERTS = cast(Table, Alert.__table__)


@dataclass
class DiffSummary:
    claims: int = 0
    new_positions: int = 0
    changes: int = 0
    confirmations: int = 0
    alerts: int = 0
    rebuilt: bool = False
    """this run rebuilt the ledger from scratch (no alerts for what it rebuilt)"""
    waiting: int = 0
    """articles the current extractor version has still to read before the ledger can move to it"""

    def line(self) -> str:
        if self.waiting:
            return (
                f"ledger not updated: it holds another extractor version's claims, and the current one "
                f"has {self.waiting} articles still to read (parley extract) before it is rebuilt"
            )
        applied = (
            f"{self.claims} claims applied: {self.new_positions} new positions, {self.changes} changes, "
            f"{self.confirmations} confirmed; {self.alerts} alerts queued"
        )
        if self.rebuilt:
            return f"ledger rebuilt, without alerts: {applied}"
        return applied


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
    engine: Engine,
    settings: Settings,
    channels: Sequence[str],
    *,
    version: str | None = None,
    chunk: int = PENDING_CHUNK,
    rebuild: bool = False,
) -> DiffSummary:
    """Apply every claim not yet in the ledger, in publication order, in one transaction.

    Alerts go to the ``channels`` (outbox names) that the rules of ``settings.alert_rules`` route
    each event to; the rules are read before anything is written, so a bad file changes nothing.
    Pending claims are streamed ``chunk`` at a time: each chunk is applied in memory to the versions
    of the (actor, issue) pairs it touches (read once per run) and written in bulk.

    With ``version``, a ledger holding another version's claims is rebuilt from this version's once
    it has read every article (see the module's docstring); ``rebuild`` rebuilds it in any case
    (after ``parley extract --reprocess`` under the same version, say). A rebuild queues no alerts.
    """
    summary = DiffSummary()
    rules = AlertRules.load(settings)
    with Session(engine) as session, session.begin():
        session.execute(select(func.pg_advisory_xact_lock(LEDGER_LOCK_KEY)))
        if version is not None and not rebuild and _holds_other_version(session, version):
            summary.waiting = unread_count(session, version)
            if summary.waiting:
                return summary
            rebuild = True
        if rebuild:
            _clear(session)
            summary.rebuilt = True
            channels = []
        units = dict(session.execute(select(Issue.key, Issue.value_type)).all())
        ledger = _Ledger(session, settings, channels, rules, units, summary)
        for claims in _pending_claims(session, version, chunk):
            ledger.apply_all(claims)
    return summary


def _holds_other_version(session: Session, version: str) -> bool:
    """Whether the ledger's positions were opened by claims of another extractor version (a read of
    the positions, which are few, not of their claims)."""
    other = (
        select(Position.id)
        .join(Claim, Claim.id == Position.opened_by_claim_id)
        .where(Claim.extractor_version != version)
        .limit(1)
    )
    return session.scalar(other) is not None


def _clear(session: Session) -> None:
    """Empty the ledger for a rebuild. Alerts stay, queued or sent (their events are gone: change_id
    becomes NULL), so nothing already announced is lost or sent again."""
    session.execute(SUPPORT.delete())
    session.execute(CHANGES.delete())
    session.execute(POSITIONS.delete())
    session.execute(update(CLAIMS).where(CLAIMS.c.in_ledger).values(in_ledger=False))


def _pending_claims(session: Session, version: str | None, chunk: int) -> Iterator[list[_PendingClaim]]:
    published = func.coalesce(Article.published_at, Article.fetched_at)
    query = (
        select(
            Claim.id, Claim.actor, Claim.issue, Claim.value, Claim.value_number, Claim.stance,
            Claim.evidence, published, Article.feed_id, func.coalesce(Feed.title, Feed.url), Article.url,
        )
        .join(Article, Article.id == Claim.article_id)
        .join(Feed, Feed.id == Article.feed_id)
        # in_ledger finds the few claims to apply by its partial index; position_support, the
        # record, decides among them
        .where(~Claim.in_ledger)
        .where(~select(PositionSupport.claim_id).where(PositionSupport.claim_id == Claim.id).exists())
        .order_by(published, Claim.id)
    )  # fmt: skip
    if version is not None:
        query = query.where(Claim.extractor_version == version)
    # a server-side cursor: the writes of one chunk go through the same connection meanwhile, and
    # the cursor reads the snapshot it was opened with
    rows = session.execute(query.execution_options(yield_per=chunk))
    for part in rows.partitions():
        yield [
            _PendingClaim(
                id, actor, issue, value, float(number) if number is not None else None, stance,
                " ".join(evidence.split()), when, feed_id, outlet, url,
            )
            for id, actor, issue, value, number, stance, evidence, when, feed_id, outlet, url in part
        ]  # fmt: skip


@dataclass(eq=False)
class _Event:
    """A ``position_changes`` row, written when its chunk is (``id`` is None until then)."""

    id: int | None
    actor: str
    issue: str
    kind: str
    old_position: _Version | None
    new_position: _Version
    old_value: str | None
    old_stance: str | None
    new_value: str
    new_stance: str
    old_evidence: str | None
    old_url: str | None
    new_evidence: str
    new_url: str | None
    outlet: str | None
    published_at: datetime
    confirmed_at: datetime | None = None
    confirmed_dirty: bool = False

    def as_change(self, confirmed_at: datetime | None) -> PositionChange:
        """A detached ``PositionChange`` for the alert text, as the event stood when it was queued."""
        return PositionChange(
            id=self.id, actor=self.actor, issue=self.issue, kind=self.kind,
            old_value=self.old_value, old_stance=self.old_stance, new_value=self.new_value,
            new_stance=self.new_stance, old_evidence=self.old_evidence, old_url=self.old_url,
            new_evidence=self.new_evidence, new_url=self.new_url, outlet=self.outlet,
            published_at=self.published_at, confirmed_at=confirmed_at,
        )  # fmt: skip


@dataclass(eq=False)
class _Version:
    """One version of a position as the ledger holds it in memory (``id`` is None until written)."""

    id: int | None
    actor: str
    issue: str
    value: str
    value_number: float | None
    stance: str
    valid_from: datetime
    valid_to: datetime | None
    opened_by_claim_id: int | None
    claims: int = 0
    feeds: set[int] = field(default_factory=set)
    confirmed_at: datetime | None = None
    opened_by: _Event | None = None
    """The event that opened it, while it may still be confirmed (None for versions a late article
    placed in history, and for stored versions already confirmed)."""
    opening: tuple[str, str | None] | None = None
    """Evidence and URL of the opening claim (what a change from this version reports as 'before')."""
    dirty: bool = False

    def holds_at(self, t: datetime) -> bool:
        return self.valid_from <= t and (self.valid_to is None or t < self.valid_to)


@dataclass(eq=False)
class _QueuedAlert:
    event: _Event
    channels: list[str]
    confirmed_at: datetime | None


class _Ledger:
    """Applies claims to the versions of each (actor, issue) in memory and writes them in bulk.

    The versions of a pair are read the first time a claim touches it in a run and stay in memory
    for the rest of it (their number is small next to the number of claims), so each claim costs no
    query; what a chunk changed is written by :meth:`_write` before the next chunk is read.
    """

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
        self.versions: dict[tuple[str, str], list[_Version]] = {}
        self.new_versions: list[_Version] = []
        self.new_events: list[_Event] = []
        self.stored_events: list[_Event] = []
        self.support: list[dict[str, Any]] = []
        self.alerts: list[_QueuedAlert] = []

    def apply_all(self, claims: Sequence[_PendingClaim]) -> None:
        self._load({(c.actor, c.issue) for c in claims} - self.versions.keys())
        for claim in claims:
            self.apply(claim)
            self.summary.claims += 1
        self._write()

    def apply(self, claim: _PendingClaim) -> None:
        versions = self.versions[(claim.actor, claim.issue)]
        t = claim.published_at
        if not versions:
            self._open(claim, previous=None)
            return
        # versions tile time, so at most one holds at t; claims mostly arrive in order: look from the end
        at_t = next((v for v in reversed(versions) if v.holds_at(t)), None)
        if at_t is None:  # earlier than all history: a late article
            first = versions[0]
            if _same(first, claim):
                first.valid_from = t
                first.dirty = True
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
        at_t.dirty = True
        self._support(self._insert(claim, valid_to=later_part_end), claim)

    def _insert(self, claim: _PendingClaim, *, valid_to: datetime | None) -> _Version:
        version = _Version(
            id=None,
            actor=claim.actor,
            issue=claim.issue,
            value=claim.value,
            value_number=claim.value_number,
            stance=claim.stance,
            valid_from=claim.published_at,
            valid_to=valid_to,
            opened_by_claim_id=claim.id,
            opening=(claim.evidence, claim.url),
        )
        versions = self.versions[(claim.actor, claim.issue)]
        versions.insert(bisect_right([v.valid_from for v in versions], version.valid_from), version)
        self.new_versions.append(version)
        return version

    def _open(self, claim: _PendingClaim, previous: _Version | None) -> None:
        if previous is not None:
            previous.valid_to = claim.published_at
            previous.dirty = True
        position = self._insert(claim, valid_to=None)
        old = previous.opening if previous is not None else None
        event = _Event(
            id=None,
            actor=claim.actor,
            issue=claim.issue,
            kind="change" if previous is not None else "new",
            old_position=previous,
            new_position=position,
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
        position.opened_by = event
        self.new_events.append(event)
        if previous is None:
            self.summary.new_positions += 1
        else:
            self.summary.changes += 1
        self._support(position, claim)
        if self.settings.alert_on == "first":
            self._queue_alerts(event)

    def _support(self, position: _Version, claim: _PendingClaim) -> None:
        # the version object stands in for its id, which is known only when the chunk is written
        self.support.append(
            {"position": position, "claim_id": claim.id, "feed_id": claim.feed_id,
             "published_at": claim.published_at}
        )  # fmt: skip
        position.claims += 1
        position.feeds.add(claim.feed_id)
        position.dirty = True
        if position.confirmed_at is None and len(position.feeds) >= self.settings.confirm_outlets:
            now = datetime.now(UTC)
            position.confirmed_at = now
            self.summary.confirmations += 1
            event = position.opened_by
            if event is not None:
                event.confirmed_at = now
                if event.id is not None:
                    event.confirmed_dirty = True
                    self.stored_events.append(event)
                if self.settings.alert_on == "confirmed":
                    self._queue_alerts(event)

    def _queue_alerts(self, event: _Event) -> None:
        channels = self.rules.channels_for(
            event.kind, event.actor, event.issue, self.channels, datetime.now(UTC)
        )
        if channels:
            self.alerts.append(_QueuedAlert(event, channels, event.confirmed_at))

    # --- reading and writing -------------------------------------------------------------------

    def _load(self, pairs: set[tuple[str, str]]) -> None:
        """Read the stored versions of ``pairs``, with what claims and outlets support each, the
        events that opened those not yet confirmed, and the opening evidence of the current ones."""
        for pair in pairs:
            self.versions[pair] = []
        if not pairs:
            return
        in_pairs = tuple_(Position.actor, Position.issue).in_(sorted(pairs))
        by_id: dict[int, _Version] = {}
        for row in self.session.execute(
            select(
                Position.id, Position.actor, Position.issue, Position.value, Position.value_number,
                Position.stance, Position.valid_from, Position.valid_to, Position.opened_by_claim_id,
                Position.confirmed_at,
            )
            .where(in_pairs)
            .order_by(Position.actor, Position.issue, Position.valid_from, Position.id)
        ):  # fmt: skip
            number = float(row.value_number) if row.value_number is not None else None
            version = _Version(
                id=row.id, actor=row.actor, issue=row.issue, value=row.value, value_number=number,
                stance=row.stance, valid_from=row.valid_from, valid_to=row.valid_to,
                opened_by_claim_id=row.opened_by_claim_id, confirmed_at=row.confirmed_at,
            )  # fmt: skip
            self.versions[(row.actor, row.issue)].append(version)
            by_id[row.id] = version
        if not by_id:
            return
        for position_id, feed_id, claims in self.session.execute(
            select(PositionSupport.position_id, PositionSupport.feed_id, func.count())
            .join(Position, Position.id == PositionSupport.position_id)
            .where(in_pairs)
            .group_by(PositionSupport.position_id, PositionSupport.feed_id)
        ):
            by_id[position_id].claims += claims
            by_id[position_id].feeds.add(feed_id)
        unconfirmed = [v.id for v in by_id.values() if v.confirmed_at is None]
        if unconfirmed:
            for change in self.session.scalars(
                select(PositionChange).where(PositionChange.new_position_id.in_(unconfirmed))
            ):
                position = by_id[change.new_position_id]
                old_id = change.old_position_id
                position.opened_by = _Event(
                    id=change.id, actor=change.actor, issue=change.issue, kind=change.kind,
                    old_position=by_id.get(old_id) if old_id is not None else None, new_position=position,
                    old_value=change.old_value, old_stance=change.old_stance, new_value=change.new_value,
                    new_stance=change.new_stance, old_evidence=change.old_evidence, old_url=change.old_url,
                    new_evidence=change.new_evidence, new_url=change.new_url, outlet=change.outlet,
                    published_at=change.published_at, confirmed_at=change.confirmed_at,
                )  # fmt: skip
        current = {v.opened_by_claim_id: v for v in by_id.values() if v.valid_to is None}
        opening_ids = [claim_id for claim_id in current if claim_id is not None]
        if opening_ids:
            for claim_id, evidence, url in self.session.execute(
                select(Claim.id, Claim.evidence, Article.url)
                .join(Article, Article.id == Claim.article_id)
                .where(Claim.id.in_(opening_ids))
            ):
                current[claim_id].opening = (" ".join(evidence.split()), url)

    def _write(self) -> None:
        """Write what the chunk changed: versions first (closing before opening, for the index of
        current versions), then events, support, and the alerts of the events."""
        stored = [v for pair in self.versions.values() for v in pair if v.dirty and v.id is not None]
        for version, new_id in zip(
            self.new_versions, self._next_ids("positions", len(self.new_versions)), strict=True
        ):
            version.id = new_id
        for event, new_id in zip(
            self.new_events, self._next_ids("position_changes", len(self.new_events)), strict=True
        ):
            event.id = new_id
        if stored:
            self.session.execute(
                update(POSITIONS)
                .where(POSITIONS.c.id == bindparam("b_id"))
                .values(
                    valid_from=bindparam("b_valid_from"), valid_to=bindparam("b_valid_to"),
                    claims=bindparam("b_claims"), outlets=bindparam("b_outlets"),
                    confirmed_at=bindparam("b_confirmed_at"),
                ),
                [
                    {"b_id": v.id, "b_valid_from": v.valid_from, "b_valid_to": v.valid_to,
                     "b_claims": v.claims, "b_outlets": len(v.feeds), "b_confirmed_at": v.confirmed_at}
                    for v in stored
                ],
            )  # fmt: skip
        if self.new_versions:
            self.session.execute(
                insert(POSITIONS),
                [
                    {"id": v.id, "actor": v.actor, "issue": v.issue, "value": v.value,
                     "value_number": v.value_number, "stance": v.stance, "valid_from": v.valid_from,
                     "valid_to": v.valid_to, "opened_by_claim_id": v.opened_by_claim_id,
                     "claims": v.claims, "outlets": len(v.feeds), "confirmed_at": v.confirmed_at}
                    for v in self.new_versions
                ],
            )  # fmt: skip
        if self.new_events:
            self.session.execute(
                insert(CHANGES),
                [
                    {"id": e.id, "actor": e.actor, "issue": e.issue, "kind": e.kind,
                     "old_position_id": e.old_position.id if e.old_position is not None else None,
                     "new_position_id": e.new_position.id, "old_value": e.old_value,
                     "old_stance": e.old_stance, "new_value": e.new_value, "new_stance": e.new_stance,
                     "old_evidence": e.old_evidence, "old_url": e.old_url, "new_evidence": e.new_evidence,
                     "new_url": e.new_url, "outlet": e.outlet, "published_at": e.published_at,
                     "confirmed_at": e.confirmed_at}
                    for e in self.new_events
                ],
            )  # fmt: skip
        confirmed = [e for e in self.stored_events if e.confirmed_dirty]
        if confirmed:
            self.session.execute(
                update(CHANGES)
                .where(CHANGES.c.id == bindparam("b_id"))
                .values(confirmed_at=bindparam("b_confirmed_at")),
                [{"b_id": e.id, "b_confirmed_at": e.confirmed_at} for e in confirmed],
            )
        if self.support:
            rows = [{**row, "position_id": row.pop("position").id} for row in self.support]
            self.session.execute(pg_insert(SUPPORT).on_conflict_do_nothing(), rows)
            applied = [row["claim_id"] for row in rows]
            self.session.execute(update(CLAIMS).where(CLAIMS.c.id.in_(applied)).values(in_ledger=True))
        if self.alerts:
            returned = self.session.execute(
                pg_insert(ALERTS).on_conflict_do_nothing().returning(ALERTS.c.id),
                [row for queued in self.alerts for row in self._alert_rows(queued)],
            )
            self.summary.alerts += len(returned.all())
        for version in stored + self.new_versions:
            version.dirty = False
        for event in confirmed:
            event.confirmed_dirty = False
        self.new_versions, self.new_events, self.stored_events = [], [], []
        self.support, self.alerts = [], []

    def _next_ids(self, table: str, n: int) -> list[int]:
        """``n`` ids from the table's sequence, so that rows can refer to each other before insert."""
        if n == 0:
            return []
        ids = self.session.scalars(
            text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
            {"table": table, "n": n},
        )
        return sorted(ids)

    def _alert_rows(self, queued: _QueuedAlert) -> list[dict[str, Any]]:
        change = queued.event.as_change(queued.confirmed_at)
        subject, body = describe_change(change, self.units.get(change.issue, ""))
        payload = change_payload(change)
        return [
            {
                "alert_key": f"parley-change-{change.id}",
                "kind": "position_change",
                "change_id": change.id,
                "channel": channel,
                "subject": subject,
                "body": body,
                "payload": payload,
            }
            for channel in queued.channels
        ]


def _same(position: _Version, claim: _PendingClaim) -> bool:
    return position.value == claim.value and position.stance == claim.stance


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
