"""Analysts' corrections: a claim rejected (it no longer counts) or restored, and the ledger of its
(negotiation, actor, issue) rebuilt at once around the decision.

One transaction, under the ledger's lock (so a correction and ``apply_claims`` never interleave, and
two corrections of one claim are one after the other): the decision is appended to
``claim_corrections``, the key's versions, support and events are deleted and its claims that count
applied again by :func:`etl.ledger.rule.apply` and written by the store's writers. The events before
and after are then matched by what they say (kind, old and new value and stance): an event that no
longer holds is withdrawn, and a retraction is queued, once (``parley-retract-<old event id>``), to
the channels its alert went to; an event the correction creates is alerted as any event is (so a
restored claim's change is announced again, as a new alert). An event that still holds is not
alerted again. With ``PARLEY_ALERT_ON=confirmed`` alerts announce confirmed events: an event the
rebuild confirms (unconfirmed before) is alerted, and one it leaves unconfirmed (confirmed before,
its second outlet rejected) is retracted.
The rebuilt events are new rows: their ids, and ``detected_at``/``confirmed_at``, are the rebuild's.
Alerts already queued or sent keep their rows (their ``change_id`` becomes NULL).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl import locks
from etl.alerts.channels import channels_from_settings
from etl.alerts.messages import retraction_alert
from etl.alerts.routing import AlertRules
from etl.errors import UserError, one_line
from etl.ledger import rule
from etl.ledger.rule import LedgerKey, Policy, Version
from etl.ledger.store import (
    ALERTS,
    ANALYST,
    CHANGES,
    CLAIMS,
    PENDING_CHUNK,
    POSITIONS,
    SUPPORT,
    IssueNames,
    not_rejected,
    pending_claims,
    queue_alerts,
    write_outcome,
)
from etl.settings import Settings
from models import Alert, Claim, ClaimCorrection, ExtractionProgress, PositionChange
from models.enums import AlertKind, CorrectionAction

WHY = {
    CorrectionAction.REJECT: "rejected by an analyst",
    CorrectionAction.RESTORE: "a rejected claim restored by an analyst",
    CorrectionAction.ADD: "a claim added by an analyst",
}


class UnknownClaim(UserError):
    """No claim has this id."""


class AlreadyCorrected(UserError):
    """A reject of a claim already rejected, or a restore of one that is not."""


@dataclass
class CorrectionSummary:
    action: CorrectionAction
    claim_id: int
    key: LedgerKey
    withdrawn: list[int] = field(default_factory=list)
    """ids of the events that no longer hold"""
    created: int = 0
    """events the correction created"""
    alerts: int = 0
    """outbox rows queued: retractions and the created events' alerts"""

    def done(self) -> str:
        """What happened to the claim, as the summary line says it."""
        return "rejected" if self.action == CorrectionAction.REJECT else "restored"

    def line(self) -> str:
        negotiation, actor, issue = self.key
        return (
            f"claim {self.claim_id} {self.done()}; ledger of {negotiation}: {actor} — {issue} rebuilt:"
            f" {len(self.withdrawn)} events withdrawn, {self.created} new; {self.alerts} alerts queued"
        )


def reject_claim(
    engine: Engine,
    settings: Settings,
    claim_id: int,
    reason: str,
    by: str,
    channels: Sequence[str] | None = None,
) -> CorrectionSummary:
    """Reject claim ``claim_id``: it no longer counts, and its key's ledger is rebuilt without it."""
    if not reason.strip():
        raise UserError("a rejection needs a reason (--reason)")
    return _correct(engine, settings, CorrectionAction.REJECT, claim_id, reason, by, channels)


def restore_claim(
    engine: Engine,
    settings: Settings,
    claim_id: int,
    by: str,
    reason: str | None = None,
    channels: Sequence[str] | None = None,
) -> CorrectionSummary:
    """Undo the rejection of claim ``claim_id``: it counts again, and its key's ledger is rebuilt."""
    return _correct(engine, settings, CorrectionAction.RESTORE, claim_id, reason, by, channels)


def rejected_claims(engine: Engine) -> list[tuple[Claim, ClaimCorrection]]:
    """Every claim rejected now, with the rejection (latest first)."""
    latest = (
        select(ClaimCorrection.id)
        .where(ClaimCorrection.claim_id == Claim.id)
        .order_by(ClaimCorrection.id.desc())
        .limit(1)
        .correlate(Claim)
        .scalar_subquery()
    )
    with Session(engine) as session:
        rows = session.execute(
            select(Claim, ClaimCorrection)
            .join(ClaimCorrection, ClaimCorrection.id == latest)
            .where(~not_rejected())
            .order_by(ClaimCorrection.id.desc())
        ).all()
        session.expunge_all()
    return [(claim, correction) for claim, correction in rows]


def _correct(
    engine: Engine,
    settings: Settings,
    action: CorrectionAction,
    claim_id: int,
    reason: str | None,
    by: str,
    channels: Sequence[str] | None,
) -> CorrectionSummary:
    rules = AlertRules.load(settings)
    if channels is None:
        channels = [channel.name for channel in channels_from_settings(settings)]
    reason = one_line(reason) if reason else None
    with Session(engine) as session, session.begin():
        locks.hold(session, locks.LEDGER, settings.lock_timeout_seconds)
        claim = session.get(Claim, claim_id)
        if claim is None:
            raise UnknownClaim(f"no claim {claim_id}")
        rejected = not session.scalar(select(not_rejected()).where(Claim.id == claim_id))
        if action == CorrectionAction.REJECT and rejected:
            raise AlreadyCorrected(f"claim {claim_id} is already rejected")
        if action == CorrectionAction.RESTORE and not rejected:
            raise AlreadyCorrected(f"claim {claim_id} is not rejected: nothing to restore")
        key = (claim.negotiation, claim.actor, claim.issue)
        session.execute(
            insert(ClaimCorrection).values(
                action=action, claim_id=claim.id, article_id=claim.article_id, negotiation=claim.negotiation,
                actor=claim.actor, issue=claim.issue, value=claim.value, reason=reason, corrected_by=by,
            )
        )  # fmt: skip
        summary = CorrectionSummary(action, claim_id, key)
        rebuild_key(session, settings, key, claim, rules, channels, WHY[action], reason, summary)
    return summary


def rebuild_key(
    session: Session,
    settings: Settings,
    key: LedgerKey,
    claim: Claim,
    rules: AlertRules,
    channels: Sequence[str],
    why: str,
    reason: str | None,
    summary: CorrectionSummary,
) -> None:
    """Rebuild ``key``'s history from its claims that count, withdraw the events that no longer
    hold and alert those the rebuild creates."""
    in_key = tuple_(POSITIONS.c.negotiation, POSITIONS.c.actor, POSITIONS.c.issue) == key
    applied = session.execute(
        select(CLAIMS.c.id, CLAIMS.c.extractor_version)
        .join(SUPPORT, SUPPORT.c.claim_id == CLAIMS.c.id)
        .join(POSITIONS, POSITIONS.c.id == SUPPORT.c.position_id)
        .where(in_key)
    ).all()
    version = _ledger_version(session, [row.extractor_version for row in applied], claim)
    before = list(
        session.scalars(
            select(PositionChange)
            .where(tuple_(PositionChange.negotiation, PositionChange.actor, PositionChange.issue) == key)
            .order_by(PositionChange.published_at, PositionChange.id)
        )
    )
    session.expunge_all()  # kept as they stood: the rows go now
    session.execute(
        delete(CHANGES).where(tuple_(CHANGES.c.negotiation, CHANGES.c.actor, CHANGES.c.issue) == key)
    )
    session.execute(delete(POSITIONS).where(in_key))  # their support goes with them (ON DELETE CASCADE)
    session.execute(
        update(CLAIMS).where(CLAIMS.c.id.in_([row.id for row in applied])).values(in_ledger=False)
    )

    policy = Policy(confirm_outlets=settings.confirm_outlets, alert_on=settings.alert_on)
    histories: dict[LedgerKey, list[Version]] = {key: []}
    now = datetime.now(UTC)
    events: list[rule.Event] = []
    alerts: list[rule.QueuedAlert] = []
    for claims in pending_claims(session, version, PENDING_CHUNK, key):
        outcome = rule.apply(histories, claims, policy, now)
        write_outcome(session, outcome)
        events += outcome.events
        alerts += outcome.alerts

    unmatched = list(events)
    withdrawn: list[PositionChange] = []
    # an event that held before and was not confirmed then: its confirmation is alerted, if now
    newly_confirmed: list[rule.Event] = []
    waits = policy.alert_on == "confirmed"  # alerts wait for confirmation: it is what they announce
    for old in before:
        same = next((e for e in unmatched if _says(e) == _says(old)), None)
        if same is not None:
            unmatched.remove(same)
        if same is None or (waits and old.confirmed_at is not None and same.confirmed_at is None):
            # gone, or announced as confirmed and no longer so: retracted (a later confirmation is
            # alerted as any is)
            withdrawn.append(old)
        elif waits and old.confirmed_at is None and same.confirmed_at is not None:
            newly_confirmed.append(same)
    summary.withdrawn = [change.id for change in withdrawn]
    summary.created = len(unmatched)
    issues = IssueNames.read(session)
    created = [alert for alert in alerts if alert.event in unmatched or alert.event in newly_confirmed]
    summary.alerts += queue_alerts(session, created, rules, channels, issues, now)
    summary.alerts += _retract(session, withdrawn, issues, why, reason, claim.value)


def _ledger_version(session: Session, applied: Sequence[str], claim: Claim) -> str | None:
    """The extractor version whose claims the ledger holds (with the analysts'): the key's claims',
    else any position's, else the corrected claim's, else the newest version that read articles."""
    for version in (*applied, claim.extractor_version):
        if version != ANALYST:
            return version
    held = session.scalar(
        select(CLAIMS.c.extractor_version)
        .join(POSITIONS, POSITIONS.c.opened_by_claim_id == CLAIMS.c.id)
        .where(CLAIMS.c.extractor_version != ANALYST)
        .limit(1)
    )
    if held is None:
        held = session.scalar(
            select(ExtractionProgress.extractor_version)
            .order_by(ExtractionProgress.updated_at.desc())
            .limit(1)
        )
    return held


def _says(event: rule.Event | PositionChange) -> tuple[str, str | None, str | None, str, str]:
    return (
        str(event.kind),
        event.old_value,
        str(event.old_stance) if event.old_stance is not None else None,
        event.new_value,
        str(event.new_stance),
    )


def _retract(
    session: Session,
    withdrawn: Sequence[PositionChange],
    issues: IssueNames,
    why: str,
    reason: str | None,
    value: str,
) -> int:
    """Queue a retraction of each withdrawn event to the channels its alert was queued to (once:
    the key names the event, whose id is never drawn again)."""
    if not withdrawn:
        return 0
    got = session.execute(
        select(Alert.alert_key, Alert.channel).where(
            Alert.kind == AlertKind.POSITION_CHANGE,
            Alert.alert_key.in_([f"parley-change-{change.id}" for change in withdrawn]),
        )
    ).all()
    rows: list[dict[str, Any]] = []
    for change in withdrawn:
        to = sorted({channel for alert_key, channel in got if alert_key == f"parley-change-{change.id}"})
        if not to:
            continue
        unit = issues.value_types.get((change.negotiation, change.issue), "")
        label = issues.labels.get(change.negotiation, change.negotiation)
        # the event the corrected claim opened is named by its value; others by their whole move
        text = retraction_alert(change, unit, label, why, reason, whole_move=change.new_value != value)
        rows.extend(
            {
                "alert_key": f"parley-retract-{change.id}",
                "kind": AlertKind.CORRECTION,
                "change_id": None,
                "channel": channel,
                "subject": text.subject,
                "body": text.body,
                "payload": text.payload,
            }
            for channel in to
        )
    if not rows:
        return 0
    inserted = session.execute(pg_insert(ALERTS).on_conflict_do_nothing().returning(ALERTS.c.id), rows)
    return len(inserted.all())
