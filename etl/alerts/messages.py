"""Alert text: every subject, body and payload parley sends is built here, and only here.

A position change (:func:`describe_change`, :func:`change_payload`), its retraction after an
analyst's correction (:func:`retraction_alert`), a feed failing or silent
(:func:`feed_failing_alert`, :func:`feed_silent_alert`), an alert channel failing
(:func:`channel_failing_alert`), and a digest of several alerts (:func:`digest_message`).

What an alert carries from outside is made safe here: article links only when they are http(s)
(:func:`~etl.alerts.redact.web_url`), feed URLs without their password, a feed's last error
scrubbed of secrets.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from etl.alerts.channels import AlertMessage
from etl.alerts.redact import scrub_secrets, web_url
from etl.ingest.urls import without_credentials
from models import Alert, Feed, PositionChange
from models.enums import AlertKind, ChangeKind


class AlertText(NamedTuple):
    """What an alert says: a one-line subject, a plain-text body, the structured event."""

    subject: str
    body: str
    payload: dict[str, Any]


# --- position changes -------------------------------------------------------------------------------


def format_value(value: str | None, value_type: str) -> str:
    if value is None:
        return "—"
    if value_type == "days" or (value_type == "days_or_flag" and value.isdigit()):
        return f"{value} day" if value == "1" else f"{value} days"
    return value


def describe_change(change: PositionChange, value_type: str, negotiation_label: str) -> tuple[str, str]:
    """The alert text: in which negotiation, what changed, and why we believe it."""
    actor = change.actor.replace("_", " ").title()
    new = format_value(change.new_value, value_type)
    if change.kind == ChangeKind.NEW:
        subject = f"{negotiation_label}: {actor} — {change.issue}: {new} ({change.new_stance}) [new position]"
    else:
        old = format_value(change.old_value, value_type)
        stance = (
            change.new_stance
            if change.old_stance == change.new_stance
            else f"{change.old_stance} → {change.new_stance}"
        )
        subject = f"{negotiation_label}: {actor} — {change.issue}: {old} → {new} ({stance})"
    when = f"{change.published_at:%Y-%m-%d}"
    body = f"{subject}, per {change.outlet}, {when}: '{change.new_evidence}'"
    new_url, old_url = web_url(change.new_url), web_url(change.old_url)
    if new_url:
        body += f"\n{new_url}"
    if change.old_evidence:
        body += f"\nbefore: '{change.old_evidence}'" + (f" {old_url}" if old_url else "")
    return subject, body


def change_payload(change: PositionChange, negotiation_label: str) -> dict[str, Any]:
    return {
        "change_id": change.id,
        "kind": change.kind,
        "negotiation": change.negotiation,
        "negotiation_label": negotiation_label,
        "actor": change.actor,
        "issue": change.issue,
        "old": {"value": change.old_value, "stance": change.old_stance, "evidence": change.old_evidence,
                "url": web_url(change.old_url)},
        "new": {"value": change.new_value, "stance": change.new_stance, "evidence": change.new_evidence,
                "url": web_url(change.new_url)},
        "outlet": change.outlet,
        "published_at": change.published_at.isoformat(),
        "confirmed": change.confirmed_at is not None,
    }  # fmt: skip


def retraction_alert(
    change: PositionChange,
    value_type: str,
    negotiation_label: str,
    why: str,
    reason: str | None,
    *,
    whole_move: bool = False,
) -> AlertText:
    """An event withdrawn because an analyst corrected a claim: what it said, and why it no longer
    holds (``why``: "rejected by an analyst", "a rejected claim restored by an analyst").

    It names the value the event opened ("60 days"), or with ``whole_move`` the move ("60 days → 4
    days": an event withdrawn because the version it left is gone, not the one it opened)."""
    actor = change.actor.replace("_", " ").title()
    new = format_value(change.new_value, value_type)
    if whole_move and change.kind == ChangeKind.CHANGE:
        new = f"{format_value(change.old_value, value_type)} → {new}"
    subject = f"retracted: {negotiation_label}: {actor} — {change.issue} {new}, {why}"
    if reason:
        subject += f": {reason}"
    was = describe_change(change, value_type, negotiation_label)[0]
    body = f"{subject}\nwithdrawn: {was}, per {change.outlet}, {change.published_at:%Y-%m-%d}"
    payload = {
        "retracts": f"parley-change-{change.id}",
        "reason": reason,
        "why": why,
        "change": change_payload(change, negotiation_label),
    }
    return AlertText(subject, body, payload)


# --- feed health ------------------------------------------------------------------------------------


def feed_failing_alert(feed: Feed) -> AlertText:
    """A feed that has failed ``feed.consecutive_failures`` polls in a row."""
    failures = feed.consecutive_failures
    url = without_credentials(feed.url)
    error = scrub_secrets(feed.last_error) if feed.last_error is not None else None
    return AlertText(
        f"Feed failing: {feed.title or url} — {failures} polls in a row",
        f"{url} has failed {failures} polls in a row"
        f" (last success: {_when(feed.last_success_at)}); last error: {error}",
        {
            "feed": url,
            "problem": "failing",
            "consecutive_failures": failures,
            "last_error": error,
            "last_success_at": _iso(feed.last_success_at),
        },
    )


def feed_silent_alert(feed: Feed, last_news: datetime, usual: timedelta, now: datetime) -> AlertText:
    """A feed whose polls succeed but that has brought nothing new since ``last_news``, though it
    usually does every ``usual``."""
    url = without_credentials(feed.url)
    return AlertText(
        f"Feed silent: {feed.title or url} — no new items for {_hours(now - last_news)}",
        f"{url} has brought no new items since {_when(last_news)}; it usually does"
        f" every {_hours(usual)}. Its polls still succeed: the feed may have moved or stalled.",
        {
            "feed": url,
            "problem": "silent",
            "last_new_items_at": _iso(last_news),
            "usual_interval_seconds": int(usual.total_seconds()),
        },
    )


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "never"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _hours(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} hours"


# --- alert channels -------------------------------------------------------------------------------


def channel_failing_alert(
    channel: str, last_delivery: datetime | None, undelivered: int, last_error: str | None, now: datetime
) -> AlertText:
    """An alert channel that has delivered nothing since ``last_delivery`` although ``undelivered``
    of its alerts were tried (sent on the other channels)."""
    quiet = f"for {_hours(now - last_delivery)}" if last_delivery else "ever"
    error = scrub_secrets(last_error) if last_error is not None else None
    return AlertText(
        f"Alert channel failing: {channel} — nothing delivered {quiet}",
        f"{channel} has delivered no alert since {_when(last_delivery)}; {undelivered} of its alerts"
        f" were tried and not delivered; last error: {error}. Alerts given up on it can be sent again"
        " with parley alerts retry once it works.",
        {
            "channel": channel,
            "problem": "failing",
            "last_delivery_at": _iso(last_delivery),
            "undelivered": undelivered,
            "last_error": error,
        },
    )


# --- digests ----------------------------------------------------------------------------------------


def digest_message(alerts: Sequence[Alert]) -> AlertMessage:
    """One message for several alerts: their bodies in order, their payloads and ids in the payload.

    The id names the first and last row and hashes them all, so the same rows always give the same
    id and different rows never do.
    """
    ids = sorted(alert.id for alert in alerts)
    fingerprint = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:8]
    changes = sum(alert.kind == AlertKind.POSITION_CHANGE for alert in alerts)
    health = sum(alert.kind == AlertKind.FEED_HEALTH for alert in alerts)
    channels = sum(alert.kind == AlertKind.CHANNEL_HEALTH for alert in alerts)
    retractions = sum(alert.kind == AlertKind.CORRECTION for alert in alerts)
    counts = [
        _count(changes, "position change"),
        _count(retractions, "retraction"),
        _count(health, "feed health alert"),
        _count(channels, "channel health alert"),
        _count(len(alerts) - changes - retractions - health - channels, "other alert"),
    ]
    first = min(alert.created_at for alert in alerts).astimezone(UTC)
    last = max(alert.created_at for alert in alerts).astimezone(UTC)
    if first.date() == last.date():
        span = f"{first:%Y-%m-%d %H:%M}–{last:%H:%M} UTC"
    else:
        span = f"{first:%Y-%m-%d %H:%M}–{last:%Y-%m-%d %H:%M} UTC"
    return AlertMessage(
        alert_id=f"parley-digest-{ids[0]}-{ids[-1]}-{fingerprint}",
        subject=f"parley digest: {', '.join(c for c in counts if c)} ({span})",
        body="\n\n".join(alert.body.rstrip() for alert in alerts),
        payload={
            "alerts": [alert.payload for alert in alerts],
            "alert_ids": [alert.alert_key for alert in alerts],
        },
    )


def _count(n: int, noun: str) -> str:
    return "" if n == 0 else f"{n} {noun}" if n == 1 else f"{n} {noun}s"
