"""Delivering the alert outbox: at least once, never again once delivered, nothing lost.

Each pending alert is locked (``FOR UPDATE SKIP LOCKED``, so concurrent senders never share one),
sent, and marked sent in its own transaction: a crash between sending and marking can repeat at
most that one alert, with the same ``alert_key`` for the receiver to dedupe on. A failure leaves
the alert pending with its attempts, last error and an exponentially later next attempt; a channel
that fails is not tried again for the rest of the run.

A digest channel (:mod:`etl.alerts.routing`) gets its alerts batched instead: once the oldest due pending
alert of the channel is a digest period old (or when digests are flushed), the due alerts created
within one period of it are locked together and sent as one message whose id is derived from their
rows, so a repeat after a crash carries the same id; they are marked sent together, or all stay
pending with their attempts and backoff when the send fails.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl.alerts.channels import AlertMessage, Channel, ChannelError
from etl.alerts.messages import digest_message
from etl.alerts.routing import AlertRules
from etl.backoff import backoff_seconds
from etl.settings import Settings
from models import Alert
from models.enums import AlertStatus

# The most alerts one digest message carries: a channel down for days catches up in several messages.
DIGEST_MAX_ALERTS = 100


@dataclass
class DeliverySummary:
    sent: int = 0
    failed: int = 0
    channels_down: list[str] = field(default_factory=list)
    digests: int = 0
    digested: int = 0

    def line(self) -> str:
        down = f" (down: {', '.join(self.channels_down)})" if self.channels_down else ""
        batched = ""
        if self.digests:
            batched = f" ({self.digested} in {self.digests} digest{'s' if self.digests > 1 else ''})"
        return f"{self.sent} alerts sent{batched}, {self.failed} failed and kept for retry{down}"


def retry_delay(settings: Settings, attempts: int) -> timedelta:
    """How long an alert waits after its ``attempts``-th failed send: the base, doubled per attempt."""
    return timedelta(
        seconds=backoff_seconds(settings.alert_retry_base_seconds, attempts, settings.alert_retry_max_seconds)
    )


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
    ``rules`` defaults to those of ``settings.alert_rules``."""
    rules = rules if rules is not None else AlertRules.load(settings)
    summary = DeliverySummary()
    singles = {channel.name: channel for channel in channels if not rules.is_digest(channel.name)}
    _deliver_singly(engine, settings, singles, summary, on_alert)
    for channel in channels:
        if rules.is_digest(channel.name):
            _deliver_digests(engine, settings, channel, rules.digest_period, flush_digests, summary, on_alert)
    return summary


def _deliver_singly(
    engine: Engine,
    settings: Settings,
    live: dict[str, Channel],
    summary: DeliverySummary,
    on_alert: Callable[[Alert, str | None], None] | None,
) -> None:
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
            error = _send(channel, AlertMessage(alert.alert_key, alert.subject, alert.body, alert.payload))
            _mark(settings, [alert], error)
            if error is None:
                summary.sent += 1
            else:
                summary.failed += 1
                summary.channels_down.append(channel.name)
                del live[channel.name]  # its other alerts wait for the next run
        if on_alert:
            on_alert(alert, error)


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
            error = _send(channel, digest_message(batch))
            _mark(settings, batch, error)
            if error is None:
                summary.sent += len(batch)
                summary.digests += 1
                summary.digested += len(batch)
            else:
                summary.failed += len(batch)
                summary.channels_down.append(channel.name)
        if on_alert:
            for alert in batch:
                on_alert(alert, error)
        if error is not None:
            return  # the channel's other alerts wait for the next run


def _send(channel: Channel, message: AlertMessage) -> str | None:
    """Deliver ``message``; the one-line reason when it failed."""
    try:
        channel.send(message)
    except ChannelError as exc:
        return str(exc)
    return None


def _mark(settings: Settings, alerts: Sequence[Alert], error: str | None) -> None:
    now = datetime.now(UTC)
    for alert in alerts:
        if error is None:
            alert.status, alert.sent_at, alert.last_error = AlertStatus.SENT, now, None
        else:
            alert.attempts += 1
            alert.last_error = error
            alert.next_attempt_at = now + retry_delay(settings, alert.attempts)


def pending_alerts(engine: Engine, limit: int = 200) -> list[Alert]:
    """The first ``limit`` alerts waiting to be sent, oldest first."""
    pending = select(Alert).where(Alert.status == AlertStatus.PENDING).order_by(Alert.id).limit(limit)
    with Session(engine) as session:
        return list(session.scalars(pending))


def recent_alerts(engine: Engine, limit: int = 200) -> list[Alert]:
    """The last ``limit`` alerts queued, sent or not, newest first."""
    with Session(engine) as session:
        return list(session.scalars(select(Alert).order_by(Alert.id.desc()).limit(limit)))
