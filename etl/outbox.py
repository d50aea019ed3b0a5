"""Delivering the alert outbox: at least once, never again once delivered, nothing lost.

Each pending alert is locked (``FOR UPDATE SKIP LOCKED``, so concurrent senders never share one),
sent, and marked sent in its own transaction: a crash between sending and marking can repeat at
most that one alert, with the same ``alert_key`` for the receiver to dedupe on. A failure leaves
the alert pending with its attempts, last error and an exponentially later next attempt; a channel
that fails is not tried again for the rest of the run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl.channels import AlertMessage, Channel, ChannelError
from etl.settings import Settings
from models import Alert


@dataclass
class DeliverySummary:
    sent: int = 0
    failed: int = 0
    channels_down: list[str] = field(default_factory=list)

    def line(self) -> str:
        down = f" (down: {', '.join(self.channels_down)})" if self.channels_down else ""
        return f"{self.sent} alerts sent, {self.failed} failed and kept for retry{down}"


def retry_delay(settings: Settings, attempts: int) -> timedelta:
    seconds = settings.alert_retry_base_seconds * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.alert_retry_max_seconds))


def deliver_pending(
    engine: Engine,
    settings: Settings,
    channels: Sequence[Channel],
    *,
    on_alert: Callable[[Alert, str | None], None] | None = None,
) -> DeliverySummary:
    """Send every due pending alert of the configured channels, one transaction per alert."""
    summary = DeliverySummary()
    live = {channel.name: channel for channel in channels}
    while live:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            alert = session.scalar(
                select(Alert)
                .where(
                    Alert.status == "pending",
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
            error: str | None = None
            try:
                channel.send(AlertMessage(alert.alert_key, alert.subject, alert.body, alert.payload))
            except ChannelError as exc:
                error = str(exc)
            now = datetime.now(UTC)
            if error is None:
                alert.status, alert.sent_at, alert.last_error = "sent", now, None
                summary.sent += 1
            else:
                alert.attempts += 1
                alert.last_error = error
                alert.next_attempt_at = now + retry_delay(settings, alert.attempts)
                summary.failed += 1
                summary.channels_down.append(channel.name)
                del live[channel.name]  # its other alerts wait for the next run
        if on_alert:
            on_alert(alert, error)
    return summary


def pending_alerts(engine: Engine, limit: int = 200) -> list[Alert]:
    with Session(engine) as session:
        return list(
            session.scalars(select(Alert).where(Alert.status == "pending").order_by(Alert.id).limit(limit))
        )


def recent_alerts(engine: Engine, limit: int = 200) -> list[Alert]:
    with Session(engine) as session:
        return list(session.scalars(select(Alert).order_by(Alert.id.desc()).limit(limit)))
