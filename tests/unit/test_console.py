"""etl.console: what parley shows on a terminal prints outside text as it is, and the ledger's tables
say which negotiation each row belongs to."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table

from etl.console import TerminalObserver, changes_table, positions_table
from models import Position, PositionChange

WHEN = datetime(2025, 8, 17, 9, 0, tzinfo=UTC)


def shown(table: Table) -> str:
    screen = io.StringIO()
    Console(file=screen, width=250, color_system=None).print(table)
    return screen.getvalue()


def cells(table: Table) -> dict[str, list[str]]:
    return {str(column.header): [str(cell) for cell in column.cells] for column in table.columns}


def position(negotiation: str, actor: str, issue: str, value: str, stance: str) -> Position:
    return Position(
        negotiation=negotiation, actor=actor, issue=issue, value=value, stance=stance, valid_from=WHEN,
        outlets=2, confirmed_at=WHEN,
    )  # fmt: skip


def change(negotiation: str, actor: str, issue: str, evidence: str) -> PositionChange:
    return PositionChange(
        negotiation=negotiation, actor=actor, issue=issue, kind="new", old_value=None, old_stance=None,
        new_value="yes", new_stance="rejects", new_evidence=evidence, outlet="[b]Wire[/b]", published_at=WHEN,
    )  # fmt: skip


def test_a_progress_label_is_shown_as_it_is_never_read_as_markup_or_a_format_field() -> None:
    screen = io.StringIO()
    observer = TerminalObserver(Console(file=screen, force_terminal=True, width=120, color_system=None))
    label = "feed {title} [/] [bold]x"
    with observer.progress(label, total=2) as bar:
        bar.advance()
        observer.console.print("between")  # a live progress redraws its line around each print
    assert label in screen.getvalue()


def test_a_warning_is_printed_as_it_is() -> None:
    screen = io.StringIO()
    observer = TerminalObserver(Console(file=screen, width=200, color_system=None))
    observer.warn("failed x: HTTP 500 [/bogus] oops")
    assert "failed x: HTTP 500 [/bogus] oops" in screen.getvalue()


def test_the_positions_table_names_each_rows_negotiation_first() -> None:
    table = positions_table(
        [
            position("gaza", "israel", "ceasefire_duration", "42", "proposes"),
            position("ukraine", "russia", "ceasefire_duration", "30", "accepts"),
        ]
    )
    columns = cells(table)
    assert list(columns)[:3] == ["negotiation", "actor", "issue"]
    assert columns["negotiation"] == ["gaza", "ukraine"]
    assert columns["issue"] == ["ceasefire_duration", "ceasefire_duration"]
    assert columns["confirmed"] == ["yes", "yes"] and columns["since"] == ["2025-08-17", "2025-08-17"]
    assert "current positions" in shown(table)


def test_the_changes_table_names_each_rows_negotiation_and_prints_outside_text_as_it_is() -> None:
    evidence = "Zelensky [red]rejects[/red] ceding land {0}"
    table = changes_table(
        [change("ukraine", "ukraine", "territorial_concessions", evidence)],
        title="changes since 7d: Russia–Ukraine talks [/]",
    )
    columns = cells(table)
    assert list(columns)[:3] == ["published", "negotiation", "actor"]
    assert columns["negotiation"] == ["ukraine"] and columns["old"] == ["—"]
    assert columns["new"] == ["yes (rejects)"]
    screen = shown(table)
    assert evidence in screen and "[b]Wire[/b]" in screen
    assert "changes since 7d: Russia–Ukraine talks [/]" in screen  # a title from outside stays text
