"""What the ledger holds, read for people: the current positions, and the events since a moment, of
every negotiation or of one."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl.errors import UserError
from models import Position, PositionChange


class UnknownNegotiationError(UserError):
    """A negotiation key that is not in ``negotiations``; the message names the known ones."""


def known_negotiation(labels: Mapping[str, str], key: str) -> str:
    """``key`` when it is one of the negotiations ``labels`` lists (by key), else an error naming them."""
    if key in labels:
        return key
    known = ", ".join(sorted(labels)) or "none (run parley seed)"
    raise UnknownNegotiationError(f"no negotiation {key!r}: the known negotiations are {known}")


def current_positions(engine: Engine, negotiation: str | None = None) -> list[Position]:
    """The version each actor holds now on each issue, of ``negotiation`` or of every negotiation."""
    query = select(Position).where(Position.valid_to.is_(None))
    if negotiation is not None:
        query = query.where(Position.negotiation == negotiation)
    with Session(engine) as session:
        return list(session.scalars(query.order_by(Position.negotiation, Position.actor, Position.issue)))


def changes_since(engine: Engine, since: datetime, negotiation: str | None = None) -> list[PositionChange]:
    """The position events detected since ``since``, of ``negotiation`` or of every negotiation, in
    publication order."""
    query = select(PositionChange).where(PositionChange.detected_at >= since)
    if negotiation is not None:
        query = query.where(PositionChange.negotiation == negotiation)
    with Session(engine) as session:
        return list(session.scalars(query.order_by(PositionChange.published_at, PositionChange.id)))
