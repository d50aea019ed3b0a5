"""Reference data loaded from seeds/: the actors and issues a negotiation is tracked by."""

from __future__ import annotations

from sqlalchemy import String, Text
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


class Issue(Base):
    __tablename__ = "issues"
    __table_args__ = checks("issues")

    key: Mapped[str] = mapped_column(String(64), primary_key=True, comment="issue key")
    label: Mapped[str] = mapped_column(Text)
    value_type: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, server_default="")
    choices: Mapped[list[str]] = mapped_column(JSONB, server_default="[]")
