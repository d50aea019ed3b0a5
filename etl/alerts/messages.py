"""Alert text: every subject, body and payload parley sends is built here, and only here."""

from __future__ import annotations

from typing import Any

from models import PositionChange


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
