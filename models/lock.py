"""The pipeline's locks: rows locked ``FOR UPDATE`` until commit, which needs UPDATE on the table, so
the read-only analyst role cannot take them (advisory locks are open to every role)."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class PipelineLock(Base):
    __tablename__ = "pipeline_locks"
    __table_args__ = (
        {"comment": "rows the pipeline locks FOR UPDATE to serialise article stores and ledger writes"},
    )

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
