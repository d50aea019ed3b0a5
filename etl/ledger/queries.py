"""What the ledger holds, read for people: the current positions, and the events since a moment."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from models import Position, PositionChange


def current_positions(engine: Engine) -> list[Position]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(Position).where(Position.valid_to.is_(None)).order_by(Position.actor, Position.issue)
            )
        )


def changes_since(engine: Engine, since: datetime) -> list[PositionChange]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(PositionChange)
                .where(PositionChange.detected_at >= since)
                .order_by(PositionChange.published_at, PositionChange.id)
            )
        )
