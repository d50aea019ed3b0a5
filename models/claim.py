"""Claims and mentions: what the extractor read in each article, per extractor version."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base
from models.enums import checks


class ArticleExtraction(Base):
    """That an article was processed by an extractor version (with or without claims)."""

    __tablename__ = "article_extractions"

    article_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    extractor_version: Mapped[str] = mapped_column(String(32), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(server_default=func.now())
    claims: Mapped[int] = mapped_column(server_default="0")
    mentions: Mapped[int] = mapped_column(server_default="0")
    error: Mapped[str | None] = mapped_column(Text, comment="why the article could not be read, if so")


class ExtractionProgress(Base):
    """How far an extractor version has read: every article up to ``read_through`` (articles are
    stored in id order, see ``etl.ingest.store.store_feeds``), so what is left lies above it."""

    __tablename__ = "extraction_progress"

    extractor_version: Mapped[str] = mapped_column(String(32), primary_key=True)
    read_through: Mapped[int] = mapped_column(
        BigInteger, comment="every article with an id up to this one has been read by this version"
    )
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Mention(Base):
    """An actor named in an article: characters [start_offset, end_offset) of title + blank line + text."""

    __tablename__ = "mentions"
    __table_args__ = (
        # one row per naming, however many extractions of the article ran at once
        UniqueConstraint(
            "article_id",
            "extractor_version",
            "actor",
            "start_offset",
            "end_offset",
            name="uq_mentions_identity",
        ),
        Index("ix_mentions_article_id", "article_id"),
        Index("ix_mentions_actor", "actor"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    article_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("articles.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(String(64), ForeignKey("actors.id", ondelete="CASCADE"))
    start_offset: Mapped[int]
    end_offset: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    extractor_version: Mapped[str] = mapped_column(String(32))


class Claim(Base):
    """One position an article attributes to one actor in one negotiation (codebook rule 7: one per
    negotiation, actor, issue and value per article)."""

    __tablename__ = "claims"
    __table_args__ = (
        *checks("claims"),
        ForeignKeyConstraint(
            ["negotiation", "issue"],
            ["issues.negotiation", "issues.key"],
            name="fk_claims_negotiation_issue_issues",
        ),
        UniqueConstraint(
            "article_id",
            "negotiation",
            "actor",
            "issue",
            "value",
            "extractor_version",
            name="uq_claims_identity",
        ),
        Index("ix_claims_negotiation_actor_issue", "negotiation", "actor", "issue"),
        # the claims the ledger has still to apply, and only those
        Index("ix_claims_not_in_ledger", "id", postgresql_where=text("NOT in_ledger")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    article_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("articles.id", ondelete="CASCADE"))
    negotiation: Mapped[str] = mapped_column(String(64), comment="negotiation key")
    actor: Mapped[str] = mapped_column(String(64), ForeignKey("actors.id"), comment="canonical actor id")
    issue: Mapped[str] = mapped_column(String(64), comment="issue key (of the negotiation)")
    value: Mapped[str] = mapped_column(Text, comment="normalised value as text: 60, all, yes, children,women")
    value_number: Mapped[float | None] = mapped_column(Numeric, comment="the value when it is a number")
    stance: Mapped[str] = mapped_column(String(16), comment="proposes | demands | accepts | rejects")
    evidence: Mapped[str] = mapped_column(Text, comment="the sentence the claim was read from")
    start_offset: Mapped[int]
    end_offset: Mapped[int]
    confidence: Mapped[float] = mapped_column(Float)
    extractor_version: Mapped[str] = mapped_column(
        String(32), comment="the extractor version that read it; analyst for a claim an analyst added"
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    in_ledger: Mapped[bool] = mapped_column(
        server_default=false(), comment="applied to the position ledger (see position_support)"
    )
