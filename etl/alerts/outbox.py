"""Delivering the alert outbox: at least once, never again once delivered, nothing lost unsaid.

Each pending alert is locked (``FOR UPDATE SKIP LOCKED``, so concurrent senders never share one),
sent, and marked in its own transaction: a crash between sending and marking can repeat at most that
one alert, with the same ``alert_key`` for the receiver to dedupe on.

A failed send is judged by its :class:`~etl.alerts.channels.ChannelError` (:func:`judge_failure`):

- a *refusal* (``retryable`` False: HTTP 4xx, SMTP 5xx) gives that alert up at once — status
  ``failed``, ``failed_at`` and the reason kept — and the channel goes on with its other alerts; a
  channel that refuses :data:`REFUSALS_IN_A_ROW` alerts in a row without delivering one is set
  aside for the run (its configuration is likelier wrong than every message), the rest wait;
- a channel *down* (``retryable``: unreachable, 5xx, timeouts, 429) keeps the alert pending with its
  attempts, last error and a later next attempt — the receiver's ``Retry-After`` when it gave one
  (for every pending alert of the channel), else the exponential backoff — and the channel is not
  tried again this run; after ``alert_max_attempts`` sends the alert is given up.

An alert still pending ``alert_max_age_hours`` after it was queued (or put back by ``parley alerts
retry``, :func:`retry_failed`) is given up without another send. Error text is cut and scrubbed of
secrets by ``ChannelError`` before it is stored.

A digest channel (:mod:`etl.alerts.routing`) gets its alerts batched instead: once the oldest due pending
alert of the channel is a digest period old (or when digests are flushed), the due alerts created
within one period of it are locked together and sent as one message whose id is derived from their
rows, so a repeat after a crash carries the same id; they are marked together, sent, kept for retry
or given up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl.alerts.channels import AlertMessage, Channel, ChannelError, mask_url
from etl.alerts.messages import digest_message
from etl.alerts.routing import AlertRules
from etl.backoff import backoff_seconds
from etl.settings import Settings
from models import Alert
from models.enums import AlertStatus

# The most alerts one digest message carries: a channel down for days catches up in several messages.
DIGEST_MAX_ALERTS = 100
# Refusals in a row, with no delivery between, after which a channel is set aside for the run.
REFUSALS_IN_A_ROW = 3


@dataclass
class DeliverySummary:
    sent: int = 0
    failed: int = 0  # failed sends whose alerts stay pending for a later attempt
    given_up: int = 0  # alerts that failed for good in this run (refused, too many attempts, too old)
    channels_down: list[str] = field(default_factory=list)
    channels_refusing: list[str] = field(default_factory=list)
    digests: int = 0
    digested: int = 0

    def line(self) -> str:
        down = f" (down: {', '.join(self.channels_down)})" if self.channels_down else ""
        batched = ""
        if self.digests:
            batched = f" ({self.digested} in {self.digests} digest{'s' if self.digests > 1 else ''})"
        gave_up = ""
        if self.given_up:
            gave_up = f", {self.given_up} given up (see parley alerts list --failed)"
        return f"{self.sent} alerts sent{batched}, {self.failed} failed and kept for retry{down}{gave_up}"


@dataclass(frozen=True)
class Failure:
    """A send that failed, as the outbox weighs it (from a :class:`ChannelError`)."""

    reason: str
    retryable: bool
    retry_after: float | None = None


def retry_delay(settings: Settings, attempts: int) -> timedelta:
    """How long an alert waits after its ``attempts``-th failed send: the base, doubled per attempt."""
    return timedelta(
        seconds=backoff_seconds(settings.alert_retry_base_seconds, attempts, settings.alert_retry_max_seconds)
    )


def next_attempt_delay(settings: Settings, attempts: int, retry_after: float | None) -> timedelta:
    """How long an alert waits after its ``attempts``-th failed send: what the receiver asked for
    (``Retry-After``; never past the age at which the alert is given up), else :func:`retry_delay`."""
    if retry_after is None:
        return retry_delay(settings, attempts)
    return timedelta(seconds=min(max(retry_after, 0.0), settings.alert_max_age_hours * 3600))


def judge_failure(
    settings: Settings, failure: Failure, attempts: int, waiting_since: datetime, now: datetime
) -> str | None:
    """Why an alert whose ``attempts``-th send failed with ``failure`` is given up, or None to retry it.
    ``waiting_since`` is when it was queued, or put back by ``parley alerts retry``."""
    if not failure.retryable:
        return "refused"
    if attempts >= settings.alert_max_attempts:
        return f"given up after {attempts} attempts"
    if now - waiting_since >= _max_age(settings):
        return f"given up after {_hours(settings.alert_max_age_hours)}"
    return None


def deliver_pending(
    engine: Engine,
    settings: Settings,
    channels: Sequence[Channel],
    *,
    on_alert: Callable[[Alert, str | None], None] | None = None,
    flush_digests: bool = False,
    rules: AlertRules | None = None,
) -> DeliverySummary:
    """Send every due pending alert of the configured channels: one transaction per alert, or per
    digest on a digest channel. ``flush_digests`` sends digests without waiting for their period.
    ``rules`` defaults to those of ``settings.alert_rules``. ``on_alert`` hears every alert tried,
    with the reason when it was not delivered (its status says whether it was given up)."""
    rules = rules if rules is not None else AlertRules.load(settings)
    summary = DeliverySummary()
    summary.given_up += give_up_expired(engine, settings, [channel.name for channel in channels])
    singles = {channel.name: channel for channel in channels if not rules.is_digest(channel.name)}
    _deliver_singly(engine, settings, singles, summary, on_alert)
    for channel in channels:
        if rules.is_digest(channel.name):
            _deliver_digests(engine, settings, channel, rules.digest_period, flush_digests, summary, on_alert)
    return summary


def give_up_expired(engine: Engine, settings: Settings, channel_names: Sequence[str]) -> int:
    """Give up the pending alerts of ``channel_names`` that have waited ``alert_max_age_hours``
    (alerts another sender holds are left to it); how many."""
    if not channel_names:
        return 0
    waited = f"not delivered within {_hours(settings.alert_max_age_hours)}"
    with Session(engine) as session, session.begin():
        expired = (
            select(Alert.id)
            .where(
                Alert.status == AlertStatus.PENDING,
                Alert.channel.in_(list(channel_names)),
                func.coalesce(Alert.retried_at, Alert.created_at) <= func.now() - _max_age(settings),
            )
            .with_for_update(skip_locked=True)
        )
        result = session.execute(
            update(Alert)
            .where(Alert.id.in_(expired.scalar_subquery()))
            .values(
                status=AlertStatus.FAILED,
                failed_at=func.now(),
                last_error=func.coalesce(waited + "; last error: " + Alert.last_error, waited),
            )
            .returning(Alert.id)
        )
        return len(result.all())


def _deliver_singly(
    engine: Engine,
    settings: Settings,
    live: dict[str, Channel],
    summary: DeliverySummary,
    on_alert: Callable[[Alert, str | None], None] | None,
) -> None:
    refusals = dict.fromkeys(live, 0)
    while live:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            alert = session.scalar(
                select(Alert)
                .where(
                    Alert.status == AlertStatus.PENDING,
                    Alert.next_attempt_at <= func.now(),
                    Alert.channel.in_(list(live)),
                )
                .order_by(Alert.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if alert is None:
                break
            channel = live[alert.channel]
            failure = _send(channel, AlertMessage(alert.alert_key, alert.subject, alert.body, alert.payload))
            given_up = _mark(session, settings, channel.name, [alert], failure)
            _count(summary, 1, failure, given_up)
            if failure is None:
                refusals[channel.name] = 0
            elif failure.retryable:
                summary.channels_down.append(channel.name)
                del live[channel.name]  # down: its other alerts wait for the next run
            else:
                refusals[channel.name] += 1
                if refusals[channel.name] >= REFUSALS_IN_A_ROW:
                    summary.channels_refusing.append(channel.name)
                    del live[channel.name]
        if on_alert:
            on_alert(alert, failure.reason if failure else None)


def _deliver_digests(
    engine: Engine,
    settings: Settings,
    channel: Channel,
    period: timedelta,
    flush: bool,
    summary: DeliverySummary,
    on_alert: Callable[[Alert, str | None], None] | None,
) -> None:
    """Send the channel's due alerts one period at a time, each period as one message."""
    refusals = 0
    while True:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            now = session.scalar(select(func.now()))
            due = session.scalars(
                select(Alert)
                .where(
                    Alert.status == AlertStatus.PENDING,
                    Alert.next_attempt_at <= now,
                    Alert.channel == channel.name,
                )
                .order_by(Alert.created_at, Alert.id)
                .limit(DIGEST_MAX_ALERTS)
                .with_for_update(skip_locked=True)
            ).all()
            if not due or now is None:
                return
            # The batch is a function of the rows, not of when we look: a retry sends the same one.
            window_end = due[0].created_at + period
            if window_end > now and not flush:
                return  # the oldest is not a period old yet
            batch = [alert for alert in due if alert.created_at < window_end]
            failure = _send(channel, digest_message(batch))
            given_up = _mark(session, settings, channel.name, batch, failure)
            _count(summary, len(batch), failure, given_up)
            if failure is None:
                summary.digests += 1
                summary.digested += len(batch)
                refusals = 0
            elif failure.retryable:
                summary.channels_down.append(channel.name)
            else:
                refusals += 1
                if refusals >= REFUSALS_IN_A_ROW:
                    summary.channels_refusing.append(channel.name)
        if on_alert:
            for alert in batch:
                on_alert(alert, failure.reason if failure else None)
        if failure is not None and (failure.retryable or refusals >= REFUSALS_IN_A_ROW):
            return  # the channel's other alerts wait for the next run


def _send(channel: Channel, message: AlertMessage) -> Failure | None:
    """Deliver ``message``; what went wrong when it failed."""
    try:
        channel.send(message)
    except ChannelError as exc:
        return Failure(str(exc), exc.retryable, exc.retry_after)
    return None


def _mark(
    session: Session, settings: Settings, channel: str, alerts: Sequence[Alert], failure: Failure | None
) -> int:
    """Record the outcome of one send of ``alerts``; how many were given up."""
    now = datetime.now(UTC)
    given_up = 0
    for alert in alerts:
        if failure is None:
            alert.status, alert.sent_at, alert.last_error = AlertStatus.SENT, now, None
            continue
        alert.attempts += 1
        verdict = judge_failure(settings, failure, alert.attempts, alert.retried_at or alert.created_at, now)
        if verdict is None:
            alert.last_error = failure.reason
            alert.next_attempt_at = now + next_attempt_delay(settings, alert.attempts, failure.retry_after)
        else:
            alert.status, alert.failed_at = AlertStatus.FAILED, now
            alert.last_error = f"{verdict}: {failure.reason}"
            given_up += 1
    if failure is not None and failure.retryable and failure.retry_after is not None:
        # The receiver asked the channel to wait, not one alert: its other alerts wait as long.
        session.execute(
            update(Alert)
            .where(
                Alert.channel == channel,
                Alert.status == AlertStatus.PENDING,
                Alert.next_attempt_at < now + next_attempt_delay(settings, 1, failure.retry_after),
                Alert.id.not_in([alert.id for alert in alerts]),
            )
            .values(next_attempt_at=now + next_attempt_delay(settings, 1, failure.retry_after))
        )
    return given_up


def _count(summary: DeliverySummary, alerts: int, failure: Failure | None, given_up: int) -> None:
    if failure is None:
        summary.sent += alerts
    else:
        summary.failed += alerts - given_up
        summary.given_up += given_up


def _max_age(settings: Settings) -> timedelta:
    return timedelta(hours=settings.alert_max_age_hours)


def _hours(hours: float) -> str:
    return f"{hours:g} h"


def pending_alerts(engine: Engine, limit: int = 200) -> list[Alert]:
    """The first ``limit`` alerts waiting to be sent, oldest first."""
    pending = select(Alert).where(Alert.status == AlertStatus.PENDING).order_by(Alert.id).limit(limit)
    with Session(engine) as session:
        return list(session.scalars(pending))


def failed_alerts(engine: Engine, limit: int = 200) -> list[Alert]:
    """The last ``limit`` alerts given up, newest first."""
    failed = (
        select(Alert)
        .where(Alert.status == AlertStatus.FAILED)
        .order_by(Alert.failed_at.desc(), Alert.id.desc())
    )
    with Session(engine) as session:
        return list(session.scalars(failed.limit(limit)))


def retry_failed(engine: Engine, *, alert_key: str | None = None, channel: str | None = None) -> int:
    """Put alerts given up back to pending, due now with no attempts and a fresh age (only those of
    ``alert_key`` — on every channel it was queued for — and/or of ``channel``, given by its name or
    its URL, when given); how many.
    Their last error is kept until a send succeeds."""
    chosen = [Alert.status == AlertStatus.FAILED]
    if alert_key is not None:
        chosen.append(Alert.alert_key == alert_key)
    if channel is not None:
        chosen.append(Alert.channel.in_({channel, mask_url(channel)}))
    with Session(engine) as session, session.begin():
        result = session.execute(
            update(Alert)
            .where(*chosen)
            .values(
                status=AlertStatus.PENDING,
                attempts=0,
                failed_at=None,
                retried_at=func.now(),
                next_attempt_at=func.now(),
            )
            .returning(Alert.id)
        )
        return len(result.all())


def recent_alerts(engine: Engine, limit: int = 200) -> list[Alert]:
    """The last ``limit`` alerts queued, sent or not, newest first."""
    with Session(engine) as session:
        return list(session.scalars(select(Alert).order_by(Alert.id.desc()).limit(limit)))
