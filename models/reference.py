"""Reference data loaded from seeds/: the negotiations followed, their issues, and the actors."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base
from models.enums import checks


class Actor(Base):
    __tablename__ = "actors"
    __table_args__ = checks("actors")

    id: Mapped[str] = mapped_column(String(64), primary_key=True, comment="canonical actor id")
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16), comment="party | mediator | other")
    aliases: Mapped[list[str]] = mapped_column(JSONB, server_default="[]")


class Negotiation(Base):
    """A negotiation parley follows: one file of ``seeds/negotiations/``."""

    __tablename__ = "negotiations"

    key: Mapped[str] = mapped_column(String(64), primary_key=True, comment="negotiation key, e.g. gaza")
    label: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default="")


class Issue(Base):
    """An issue of one negotiation; the same key may exist in two negotiations with its own meaning."""

    __tablename__ = "issues"
    __table_args__ = checks("issues")

    negotiation: Mapped[str] = mapped_column(
        String(64), ForeignKey("negotiations.key"), primary_key=True, comment="negotiation key"
    )
    key: Mapped[str] = mapped_column(String(64), primary_key=True, comment="issue key")
    label: Mapped[str] = mapped_column(Text)
    value_type: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, server_default="")
    choices: Mapped[list[str]] = mapped_column(JSONB, server_default="[]")
