"""The position ledger: versions of each actor's position on each issue, the changes between them,
and the alert outbox those changes fill."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base
from models.enums import checks


class Position(Base):
    """One version of an actor's position on an issue of a negotiation, valid over [valid_from, valid_to).

    Versions are never overwritten by a new value: a change closes the current version and opens
    another. ``valid_to`` is NULL for the current version.
    """

    __tablename__ = "positions"
    __table_args__ = (
        *checks("positions"),
        ForeignKeyConstraint(
            ["negotiation", "issue"],
            ["issues.negotiation", "issues.key"],
            name="fk_positions_negotiation_issue_issues",
        ),
        Index(
            "ix_positions_negotiation_actor_issue_valid_from", "negotiation", "actor", "issue", "valid_from"
        ),
        Index(
            "uq_positions_current",
            "negotiation",
            "actor",
            "issue",
            unique=True,
            postgresql_where=text("valid_to IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    negotiation: Mapped[str] = mapped_column(String(64), comment="negotiation key")
    actor: Mapped[str] = mapped_column(String(64), ForeignKey("actors.id"))
    issue: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(Text)
    value_number: Mapped[float | None] = mapped_column(Numeric)
    stance: Mapped[str] = mapped_column(String(16))
    valid_from: Mapped[datetime] = mapped_column(comment="publication time of the first article stating it")
    valid_to: Mapped[datetime | None]
    opened_by_claim_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("claims.id", ondelete="SET NULL")
    )
    outlets: Mapped[int] = mapped_column(server_default="0", comment="distinct feeds that stated it")
    claims: Mapped[int] = mapped_column(server_default="0", comment="claims that stated it")
    confirmed_at: Mapped[datetime | None] = mapped_column(comment="when enough outlets had stated it")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class PositionSupport(Base):
    """A claim applied to the ledger, and the version it supports (a claim is applied once)."""

    __tablename__ = "position_support"
    __table_args__ = (
        # a version's claims, latest first (current_positions' last statement, the ledger's counts)
        Index("ix_position_support_position_id_published_at", "position_id", "published_at", "claim_id"),
    )

    claim_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("claims.id", ondelete="CASCADE"), primary_key=True
    )
    position_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("positions.id", ondelete="CASCADE"))
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    published_at: Mapped[datetime]


class PositionChange(Base):
    """An event: a first position (``kind='new'``) or a change from one version to the next."""

    __tablename__ = "position_changes"
    __table_args__ = (
        *checks("position_changes"),
        ForeignKeyConstraint(
            ["negotiation", "issue"],
            ["issues.negotiation", "issues.key"],
            name="fk_position_changes_negotiation_issue_issues",
        ),
        UniqueConstraint("new_position_id"),
        Index("ix_position_changes_detected_at", "detected_at"),
        Index(
            "ix_position_changes_negotiation_actor_issue_published_at",
            "negotiation",
            "actor",
            "issue",
            "published_at",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    negotiation: Mapped[str] = mapped_column(String(64), comment="negotiation key")
    actor: Mapped[str] = mapped_column(String(64), ForeignKey("actors.id"))
    issue: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8), comment="new | change")
    old_position_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("positions.id", ondelete="SET NULL")
    )
    new_position_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("positions.id", ondelete="CASCADE"))
    old_value: Mapped[str | None] = mapped_column(Text)
    old_stance: Mapped[str | None] = mapped_column(String(16))
    new_value: Mapped[str] = mapped_column(Text)
    new_stance: Mapped[str] = mapped_column(String(16))
    old_evidence: Mapped[str | None] = mapped_column(Text)
    old_url: Mapped[str | None] = mapped_column(Text)
    new_evidence: Mapped[str] = mapped_column(Text)
    new_url: Mapped[str | None] = mapped_column(Text)
    outlet: Mapped[str | None] = mapped_column(Text, comment="the feed that reported the change first")
    published_at: Mapped[datetime]
    detected_at: Mapped[datetime] = mapped_column(server_default=func.now())
    confirmed_at: Mapped[datetime | None]


class Alert(Base):
    """The outbox: one row per (event, channel), written in the transaction that records the event.

    ``alert_key`` is the stable id receivers dedupe on; delivery is at least once and a delivered
    row is never sent again.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        *checks("alerts"),
        UniqueConstraint("alert_key", "channel"),
        Index("ix_alerts_pending", "next_attempt_at", postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    alert_key: Mapped[str] = mapped_column(Text, comment="stable id of the alert, the same on every channel")
    kind: Mapped[str] = mapped_column(
        String(16), comment="position_change | feed_health | channel_health | correction"
    )
    change_id: Mapped[int | None] = mapped_column(
        BigInteger,
        ForeignKey("position_changes.id", ondelete="SET NULL"),
        comment="the event, while the ledger that recorded it stands (NULL after a rebuild)",
    )
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(Text, comment="the channel URL, secrets masked")
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(
        String(8), server_default="pending", comment="pending | sent | failed"
    )
    attempts: Mapped[int] = mapped_column(server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=func.now())
    failed_at: Mapped[datetime | None] = mapped_column(comment="when it was given up (status failed)")
    retried_at: Mapped[datetime | None] = mapped_column(
        comment="when parley alerts retry last put it back to pending"
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    sent_at: Mapped[datetime | None]
