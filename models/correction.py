"""Analysts' corrections of claims: an append-only audit of rejections, restorations and additions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base
from models.enums import checks


class ClaimCorrection(Base):
    """One analyst's decision on a claim: ``reject`` (it no longer counts), ``restore`` (undo that) or
    ``add`` (a claim the analyst read in a source, stored as a claim of extractor version ``analyst``).

    Rows are only ever inserted. Whether a claim counts is the latest row for its identity (article,
    negotiation, actor, issue, value): matched on the identity rather than the claim's id, a decision
    holds for the same claim read again by a later extractor version.
    """

    __tablename__ = "claim_corrections"
    __table_args__ = (
        *checks("claim_corrections"),
        Index("ix_claim_corrections_identity", "article_id", "negotiation", "actor", "issue", "value", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    action: Mapped[str] = mapped_column(String(8), comment="reject | restore | add")
    claim_id: Mapped[int | None] = mapped_column(
        BigInteger,
        ForeignKey("claims.id", ondelete="SET NULL"),
        comment="the claim corrected (NULL once its extractor version's claims are gone)",
    )
    article_id: Mapped[int] = mapped_column(BigInteger, comment="the claim's article (identity)")
    negotiation: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(64))
    issue: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    corrected_by: Mapped[str] = mapped_column(Text, comment="who decided (--by, default the OS user)")
    corrected_at: Mapped[datetime] = mapped_column(server_default=func.now())
