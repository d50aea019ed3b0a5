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


class ValueType(StrEnum):
    """How an issue's values are read and compared (codebook: value normalisation)."""

    DAYS = "days"
    DAYS_OR_FLAG = "days_or_flag"  # a number of days when the text gives one, else "yes"
    COUNT = "count"
    COUNT_OR_ALL = "count_or_all"
    NUMBER = "number"
    FLAG = "flag"
    CHOICE = "choice"
    CATEGORIES = "categories"


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
    CHANNEL_HEALTH = "channel_health"  # an alert channel that has delivered nothing for a while
    CORRECTION = "correction"  # an event withdrawn after an analyst's correction of a claim


class AlertStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # refused for good, or past its attempts or age: no longer retried


class CorrectionAction(StrEnum):
    """What an analyst did to a claim."""

    REJECT = "reject"
    RESTORE = "restore"
    ADD = "add"


def check_in(column: str, values: type[StrEnum], name: str, *, nullable: bool = False) -> CheckConstraint:
    """A CHECK constraint that ``column`` holds one of ``values`` (or NULL when ``nullable``)."""
    listed = ", ".join(f"'{member.value}'" for member in values)
    condition = f"{column} IN ({listed})"
    if nullable:
        condition = f"{column} IS NULL OR {condition}"
    return CheckConstraint(condition, name=name)


# Every CHECK constraint on a closed set, as (table, column, values, nullable): the models declare
# them from this list and migration 0009 created them, so the two cannot drift apart unnoticed
# (tests/db/test_migrations.py compares the models with the migrated schema).
CHECKED_COLUMNS: tuple[tuple[str, str, type[StrEnum], bool], ...] = (
    ("actors", "kind", ActorKind, False),
    ("issues", "value_type", ValueType, False),
    ("feeds", "last_status", PollStatus, True),
    ("feed_fetches", "status", PollStatus, False),
    ("articles", "text_source", TextSource, False),
    ("claims", "stance", Stance, False),
    ("positions", "stance", Stance, False),
    ("position_changes", "kind", ChangeKind, False),
    ("position_changes", "old_stance", Stance, True),
    ("position_changes", "new_stance", Stance, False),
    ("alerts", "kind", AlertKind, False),
    ("alerts", "status", AlertStatus, False),
    ("claim_corrections", "action", CorrectionAction, False),
)


def checks(table: str) -> tuple[CheckConstraint, ...]:
    """The CHECK constraints of ``table``'s closed-set columns, named ``ck_<table>_<column>``."""
    return tuple(
        check_in(column, values, column, nullable=nullable)
        for name, column, values, nullable in CHECKED_COLUMNS
        if name == table
    )
