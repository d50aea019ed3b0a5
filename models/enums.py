"""The closed sets of values stored in the schema: a ``StrEnum`` in code, a CHECK constraint in the
database (migration 0009). A member compares equal to its string, so rows read back as plain ``str``
still match."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import CheckConstraint


class Stance(StrEnum):
    """What an actor does with a value (codebook: stances)."""

    PROPOSES = "proposes"
    DEMANDS = "demands"
    ACCEPTS = "accepts"
    REJECTS = "rejects"


class ActorKind(StrEnum):
    PARTY = "party"
    MEDIATOR = "mediator"
    OTHER = "other"


class PollStatus(StrEnum):
    """How one poll of a feed ended."""

    OK = "ok"
    NOT_MODIFIED = "not_modified"
    PARTIAL = "partial"  # the feed was ill-formed, its readable entries kept
    FAILED = "failed"


class TextSource(StrEnum):
    """Where an article's text came from."""

    PAGE = "page"
    SUMMARY = "summary"
    TITLE = "title"


class ChangeKind(StrEnum):
    """A position change event: an actor's first position on an issue, or a move from one to the next."""

    NEW = "new"
    CHANGE = "change"


class AlertKind(StrEnum):
    POSITION_CHANGE = "position_change"
    FEED_HEALTH = "feed_health"


class AlertStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"


def check_in(column: str, values: type[StrEnum], name: str, *, nullable: bool = False) -> CheckConstraint:
    """A CHECK constraint that ``column`` holds one of ``values`` (or NULL when ``nullable``)."""
    listed = ", ".join(f"'{member.value}'" for member in values)
    condition = f"{column} IN ({listed})"
    if nullable:
        condition = f"{column} IS NULL OR {condition}"
    return CheckConstraint(condition, name=name)
