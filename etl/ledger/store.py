"""The ledger's store: pending claims read in publication order, applied by :mod:`etl.ledger.rule`
to the versions they touch, and what the rule returns written (positions, events, the claims each
version holds, alerts) in one transaction.

Alert rows go to the outbox in the same transaction as their event. Every claim is applied once
(``position_support``), so a re-run adds nothing.

The ledger holds the claims of one extractor version. When a new version is released, its claims
do not join the old version's positions (a re-read is not news): once the new version has read every
article, the ledger is rebuilt from its claims, silently (no events are alerted, alerts already
queued or sent are kept), and goes on from there. Until then the ledger waits.

Analysts' corrections (:mod:`etl.ledger.corrections`) hold across versions: a claim whose identity
(article, negotiation, actor, issue, value) an analyst rejected does not count, whatever version read
it; a claim an analyst added (extractor version :data:`ANALYST`) counts under every version, and an
extractor's claim of the same identity is the analyst's claim read again, so it does not count twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Table, bindparam, func, insert, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, aliased

from etl import locks
from etl.alerts.messages import change_payload, describe_change
from etl.alerts.routing import AlertRules
from etl.db import unnested
from etl.extract.store import unread_count
from etl.ledger import rule
from etl.ledger.rule import Event, LedgerKey, Outcome, PendingClaim, Policy, QueuedAlert, Version
from etl.settings import Settings
from models import (
    Alert,
    Article,
    Claim,
    ClaimCorrection,
    Feed,
    Issue,
    Negotiation,
    Position,
    PositionChange,
    PositionSupport,
)
from models.enums import AlertKind, ChangeKind, CorrectionAction, Stance

ANALYST = "analyst"  # claims.extractor_version of a claim an analyst added (parley claims add)
PENDING_CHUNK = 5000  # pending claims read, applied and written at a time (a server-side cursor)
# the ledger's writes are Core statements on the tables (the ORM's bulk path would split them)
POSITIONS = cast(Table, Position.__table__)
CHANGES = cast(Table, PositionChange.__table__)
SUPPORT = cast(Table, PositionSupport.__table__)
CLAIMS = cast(Table, Claim.__table__)
ALERTS = cast(Table, Alert.__table__)

_Stored = TypeVar("_Stored", Version, Event)


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
    of the (negotiation, actor, issue) keys it touches (read once per run) and written in bulk.

    With ``version``, a ledger holding another version's claims is rebuilt from this version's once
    it has read every article (see the module's docstring); ``rebuild`` rebuilds it in any case
    (after ``parley extract --reprocess`` under the same version, say). A rebuild queues no alerts.
    """
    summary = DiffSummary()
    rules = AlertRules.load(settings)
    policy = Policy(confirm_outlets=settings.confirm_outlets, alert_on=settings.alert_on)
    with Session(engine) as session, session.begin():
        locks.hold(session, locks.LEDGER, settings.lock_timeout_seconds)  # one writer at a time
        if version is not None and not rebuild and _holds_other_version(session, version):
            summary.waiting = unread_count(session, version)
            if summary.waiting:
                return summary
            rebuild = True
        if rebuild:
            _clear(session)
            summary.rebuilt = True
            channels = []
        issues = IssueNames.read(session)
        # the versions of each key a claim has touched in this run: read once, then kept in memory
        # (they are few next to the claims), so that a claim costs no query
        histories: dict[LedgerKey, list[Version]] = {}
        for claims in pending_claims(session, version, chunk):
            touched = {(c.negotiation, c.actor, c.issue) for c in claims}
            histories.update(_load(session, touched - histories.keys()))
            now = datetime.now(UTC)
            outcome = rule.apply(histories, claims, policy, now)
            write_outcome(session, outcome)
            summary.alerts += queue_alerts(session, outcome.alerts, rules, channels, issues, now)
            summary.claims += len(claims)
            summary.new_positions += outcome.new_positions
            summary.changes += outcome.changes
            summary.confirmations += outcome.confirmations
    return summary


def _holds_other_version(session: Session, version: str) -> bool:
    """Whether the ledger's positions were opened by claims of another extractor version (a read of
    the positions, which are few, not of their claims)."""
    other = (
        select(Position.id)
        .join(Claim, Claim.id == Position.opened_by_claim_id)
        .where(Claim.extractor_version.not_in([version, ANALYST]))
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


def not_rejected(claim: type[Claim] = Claim) -> Any:
    """Whether a claim counts: not rejected by an analyst, i.e. the latest correction of its identity
    (article, negotiation, actor, issue, value), whatever its extractor version, is not a rejection."""
    latest = (
        select(ClaimCorrection.action)
        .where(
            ClaimCorrection.article_id == claim.article_id,
            ClaimCorrection.negotiation == claim.negotiation,
            ClaimCorrection.actor == claim.actor,
            ClaimCorrection.issue == claim.issue,
            ClaimCorrection.value == claim.value,
        )
        .order_by(ClaimCorrection.id.desc())
        .limit(1)
        .correlate(claim)
        .scalar_subquery()
    )
    return func.coalesce(latest, CorrectionAction.RESTORE.value) != CorrectionAction.REJECT.value


def not_added_by_analyst(claim: type[Claim] = Claim) -> Any:
    """Whether an extractor's claim is its own: no analyst added a claim of its identity (article,
    negotiation, actor, issue, value), which would count in its place."""
    added = aliased(Claim)
    return (claim.extractor_version == ANALYST) | ~(
        select(added.id)
        .where(
            added.extractor_version == ANALYST,
            added.article_id == claim.article_id,
            added.negotiation == claim.negotiation,
            added.actor == claim.actor,
            added.issue == claim.issue,
            added.value == claim.value,
        )
        .correlate(claim)
        .exists()
    )


def pending_claims(
    session: Session, version: str | None, chunk: int, key: LedgerKey | None = None
) -> Iterator[list[PendingClaim]]:
    """The claims not yet in the ledger (of ``version`` and the analysts', of ``key``) that count, in
    publication order."""
    published = func.coalesce(Article.published_at, Article.fetched_at)
    query = (
        select(
            Claim.id, Claim.negotiation, Claim.actor, Claim.issue, Claim.value, Claim.value_number,
            Claim.stance, Claim.evidence, published, Article.feed_id, func.coalesce(Feed.title, Feed.url),
            Article.url,
        )
        .join(Article, Article.id == Claim.article_id)
        .join(Feed, Feed.id == Article.feed_id)
        # in_ledger finds the few claims to apply by its partial index; position_support, the
        # record, decides among them
        .where(~Claim.in_ledger)
        .where(~select(PositionSupport.claim_id).where(PositionSupport.claim_id == Claim.id).exists())
        .where(not_rejected(), not_added_by_analyst())
        .order_by(published, Claim.id)
    )  # fmt: skip
    if version is not None:
        query = query.where(Claim.extractor_version.in_([version, ANALYST]))
    if key is not None:
        query = query.where(tuple_(Claim.negotiation, Claim.actor, Claim.issue) == key)
    # a server-side cursor: the writes of one chunk go through the same connection meanwhile, and
    # the cursor reads the snapshot it was opened with
    rows = session.execute(query.execution_options(yield_per=chunk))
    for part in rows.partitions():
        yield [
            PendingClaim(
                id, negotiation, actor, issue, value, float(number) if number is not None else None,
                Stance(stance), " ".join(evidence.split()), when, feed_id, outlet, url,
            )
            for id, negotiation, actor, issue, value, number, stance, evidence, when, feed_id, outlet, url
            in part
        ]  # fmt: skip


# --- the columns: one mapping each between the rule's versions and events and their tables ---------


def _shared_fields(kind: type, table: Table) -> tuple[str, ...]:
    """The fields of the dataclass ``kind`` that are columns of ``table`` by the same name (the id
    aside: the table draws it)."""
    return tuple(f.name for f in fields(kind) if f.name in table.c and f.name != "id")


POSITION_FIELDS = _shared_fields(Version, POSITIONS)
CHANGE_FIELDS = _shared_fields(Event, CHANGES)
# what later claims move in a stored version (its value, stance and opening claim never change)
POSITION_UPDATES = ("valid_from", "valid_to", "claims", "outlets", "confirmed_at")


def _optional(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else convert(value)


# columns read back as another type than the rule's: strings for enums, Decimal for numbers
_READ_AS: dict[str, Callable[[Any], Any]] = {
    "kind": ChangeKind,
    "stance": Stance,
    "old_stance": _optional(Stance),
    "new_stance": Stance,
    "value_number": _optional(float),
}


def _read(names: Sequence[str], row: Any) -> dict[str, Any]:
    mapping = row._mapping
    return {name: _READ_AS[name](mapping[name]) if name in _READ_AS else mapping[name] for name in names}


def _position_row(version: Version) -> dict[str, Any]:
    row = {name: getattr(version, name) for name in POSITION_FIELDS}
    row["outlets"] = len(version.feeds)
    return row


def _change_row(event: Event) -> dict[str, Any]:
    row = {name: getattr(event, name) for name in CHANGE_FIELDS}
    row["old_position_id"] = event.old_position.id if event.old_position is not None else None
    row["new_position_id"] = event.new_position.id
    return row


# --- reading and writing -------------------------------------------------------------------------


def _load(session: Session, keys: set[LedgerKey]) -> dict[LedgerKey, list[Version]]:
    """The stored versions of ``keys`` in time order, with the claims and outlets that support
    each, the events that opened those not yet confirmed, and the opening evidence of the current
    ones."""
    versions: dict[LedgerKey, list[Version]] = {key: [] for key in keys}
    if not keys:
        return versions
    in_keys = tuple_(Position.negotiation, Position.actor, Position.issue).in_(sorted(keys))
    stored = [name for name in POSITION_FIELDS if name != "claims"]  # counted from position_support
    by_id: dict[int, Version] = {}
    for row in session.execute(
        select(POSITIONS.c.id, *(POSITIONS.c[name] for name in stored))
        .where(in_keys)
        .order_by(Position.negotiation, Position.actor, Position.issue, Position.valid_from, Position.id)
    ):
        version = Version(id=row.id, **_read(stored, row))
        versions[(row.negotiation, row.actor, row.issue)].append(version)
        by_id[row.id] = version
    if not by_id:
        return versions
    for position_id, feed_id, claims in session.execute(
        select(PositionSupport.position_id, PositionSupport.feed_id, func.count())
        .join(Position, Position.id == PositionSupport.position_id)
        .where(in_keys)
        .group_by(PositionSupport.position_id, PositionSupport.feed_id)
    ):
        by_id[position_id].claims += claims
        by_id[position_id].feeds.add(feed_id)
    unconfirmed = [id for id, v in by_id.items() if v.confirmed_at is None]
    if unconfirmed:
        for row in session.execute(select(CHANGES).where(CHANGES.c.new_position_id.in_(unconfirmed))):
            old_id = row.old_position_id
            position = by_id[row.new_position_id]
            position.opened_by = Event(
                id=row.id,
                old_position=by_id.get(old_id) if old_id is not None else None,
                new_position=position,
                **_read(CHANGE_FIELDS, row),
            )
    current = {v.opened_by_claim_id: v for v in by_id.values() if v.valid_to is None}
    opening_ids = [claim_id for claim_id in current if claim_id is not None]
    if opening_ids:
        for claim_id, evidence, url in session.execute(
            select(Claim.id, Claim.evidence, Article.url)
            .join(Article, Article.id == Claim.article_id)
            .where(Claim.id.in_(opening_ids))
        ):
            current[claim_id].opening = (" ".join(evidence.split()), url)
    return versions


# a chunk's support rows as one array per column, unnested on the server: a fourth of the time of
# the same rows as a multi-row VALUES (measured on the claims of bench/writes.py)
_SUPPORT_COLUMNS = [(column.name, column.type) for column in SUPPORT.columns]
_INSERT_SUPPORT = (
    pg_insert(SUPPORT)
    .from_select([name for name, _ in _SUPPORT_COLUMNS], select(unnested("support", _SUPPORT_COLUMNS)))
    .on_conflict_do_nothing()
)


def write_outcome(session: Session, outcome: Outcome) -> None:
    """Write what the rule did to a chunk: versions first (closing before opening, for the index of
    current versions), then events, and the claims applied. New rows take their ids from the insert."""
    stored_versions = [v for v in outcome.touched if v.id is not None]
    stored_events = [e for e in outcome.confirmed if e.id is not None]
    if stored_versions:
        session.execute(
            update(POSITIONS)
            .where(POSITIONS.c.id == bindparam("b_id"))
            .values({name: bindparam(f"b_{name}") for name in POSITION_UPDATES}),
            [
                {"b_id": v.id, **{f"b_{name}": row[name] for name in POSITION_UPDATES}}
                for v in stored_versions
                for row in [_position_row(v)]
            ],
        )
    _insert_returning_ids(session, POSITIONS, outcome.opened, _position_row)
    _insert_returning_ids(session, CHANGES, outcome.events, _change_row)
    if stored_events:
        session.execute(
            update(CHANGES)
            .where(CHANGES.c.id == bindparam("b_id"))
            .values(confirmed_at=bindparam("b_confirmed_at")),
            [{"b_id": e.id, "b_confirmed_at": e.confirmed_at} for e in stored_events],
        )
    if outcome.support:
        applied = [claim.id for claim, _ in outcome.support]
        session.execute(
            _INSERT_SUPPORT,
            {
                "claim_id": applied,
                "position_id": [version.id for _, version in outcome.support],
                "feed_id": [claim.feed_id for claim, _ in outcome.support],
                "published_at": [claim.published_at for claim, _ in outcome.support],
            },
        )
        session.execute(update(CLAIMS).where(CLAIMS.c.id.in_(applied)).values(in_ledger=True))


def _insert_returning_ids(
    session: Session, table: Table, rows: Sequence[_Stored], as_row: Callable[[_Stored], dict[str, Any]]
) -> None:
    """Insert ``rows`` and give each the id the table drew for it (RETURNING, in the rows' order)."""
    if not rows:
        return
    ids = session.scalars(
        insert(table).returning(table.c.id, sort_by_parameter_order=True), [as_row(r) for r in rows]
    ).all()
    for row, id in zip(rows, ids, strict=True):
        row.id = id


@dataclass(frozen=True)
class IssueNames:
    """What an alert's text needs of the seeds: each issue's value type, each negotiation's label."""

    value_types: dict[tuple[str, str], str]
    labels: dict[str, str]

    @classmethod
    def read(cls, session: Session) -> IssueNames:
        types = {
            (n, k): v for n, k, v in session.execute(select(Issue.negotiation, Issue.key, Issue.value_type))
        }
        labels = {k: label for k, label in session.execute(select(Negotiation.key, Negotiation.label))}
        return cls(types, labels)


def _alert_rows(
    queued: QueuedAlert, rules: AlertRules, channels: Sequence[str], issues: IssueNames, now: datetime
) -> list[dict[str, Any]]:
    """The outbox rows of an alerted event, one per channel its routing sends it to."""
    event = queued.event
    to = rules.channels_for(event.kind, event.actor, event.issue, channels, now, event.negotiation)
    if not to:
        return []
    # the change as it stood when the alert was queued
    change = PositionChange(id=event.id, **(_change_row(event) | {"confirmed_at": queued.confirmed_at}))
    unit = issues.value_types.get((change.negotiation, change.issue), "")
    label = issues.labels.get(change.negotiation, change.negotiation)
    subject, body = describe_change(change, unit, label)
    payload = change_payload(change, label)
    return [
        {
            "alert_key": f"parley-change-{change.id}",
            "kind": AlertKind.POSITION_CHANGE,
            "change_id": change.id,
            "channel": channel,
            "subject": subject,
            "body": body,
            "payload": payload,
        }
        for channel in to
    ]


def queue_alerts(
    session: Session,
    queued: Sequence[QueuedAlert],
    rules: AlertRules,
    channels: Sequence[str],
    issues: IssueNames,
    now: datetime,
) -> int:
    """Put the alerts of a chunk in the outbox (an alert already there stays as it is); how many
    rows were new."""
    rows = [row for alert in queued for row in _alert_rows(alert, rules, channels, issues, now)]
    if not rows:
        return 0
    return len(session.execute(pg_insert(ALERTS).on_conflict_do_nothing().returning(ALERTS.c.id), rows).all())
