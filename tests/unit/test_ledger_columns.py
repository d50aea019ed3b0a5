"""The ledger store's one mapping between the rule's versions and events and their tables."""

from __future__ import annotations

from datetime import UTC, datetime

from etl.ledger.rule import Event, Version
from etl.ledger.store import CHANGES, POSITIONS, _change_row, _position_row
from models.enums import ChangeKind, Stance

WHEN = datetime(2025, 1, 2, tzinfo=UTC)


def test_every_column_the_database_does_not_fill_is_written() -> None:
    old = Version("gaza", "israel", "ceasefire_duration", "42", 42.0, Stance.PROPOSES, WHEN, None, 1, id=7)
    new = Version(
        "gaza", "israel", "ceasefire_duration", "60", 60.0, Stance.PROPOSES, WHEN, None, 2, feeds={1, 3}
    )
    new.id = 8
    event = Event(
        "gaza", "israel", "ceasefire_duration", ChangeKind.CHANGE, old, new, "42", Stance.PROPOSES, "60",
        Stance.PROPOSES, "before", None, "after", "http://outlet1.example/2", "Outlet 1", WHEN,
    )  # fmt: skip

    position, change = _position_row(new), _change_row(event)

    assert set(position) == {c.name for c in POSITIONS.c} - {"id", "created_at"}
    assert set(change) == {c.name for c in CHANGES.c} - {"id", "detected_at"}
    assert (position["value"], position["outlets"], position["opened_by_claim_id"]) == ("60", 2, 2)
    assert (change["old_position_id"], change["new_position_id"], change["kind"]) == (7, 8, "change")
    assert position["negotiation"] == change["negotiation"] == "gaza"
