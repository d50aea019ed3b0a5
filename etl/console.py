"""What parley shows on a terminal: progress bars and warnings while a stage works, and the tables of
articles, claims, positions, changes, feeds and alerts.

Text from outside (titles, URLs, evidence, error messages) is data: it goes into ``rich.text.Text``
(progress labels too, shown with ``markup=False``), never into a string Rich would read as markup.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from etl.alerts.redact import scrub_secrets
from etl.catalog import FeedRow
from etl.ingest.urls import without_credentials
from etl.stages import Observer
from models import Alert, Position, PositionChange
from models.enums import AlertStatus


class _Bar:
    def __init__(self, progress: Progress, task: TaskID) -> None:
        self._progress = progress
        self._task = task

    def total(self, total: int) -> None:
        self._progress.update(self._task, total=total)

    def advance(self, done: int = 1) -> None:
        self._progress.advance(self._task, done)


class TerminalObserver(Observer):
    """Progress bars on ``console`` when it is a terminal (none when it is a pipe or a file), and each
    warning as one yellow line."""

    def __init__(self, console: Console) -> None:
        self.console = console

    @contextmanager
    def progress(self, label: str, total: int | None = None) -> Iterator[_Bar]:
        # the label is the task's description, never part of the column's format string ("{" or "[" in
        # it would be read as a field or as markup)
        bar = Progress(
            TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console, transient=True, disable=not self.console.is_terminal,
        )  # fmt: skip
        with bar:
            yield _Bar(bar, bar.add_task(label, total=total))

    def warn(self, message: str) -> None:
        self.console.print(Text(message, style="yellow"), highlight=False, soft_wrap=True)


def add_row(table: Table, *cells: str) -> None:
    """A row of plain text: brackets in a feed title or an error stay brackets."""
    table.add_row(*(Text(cell) for cell in cells))


def positions_table(positions: Sequence[Position], title: str = "current positions") -> Table:
    rows = Table(
        "negotiation", "actor", "issue", "value", "stance", "since", "outlets", "confirmed",
        title=Text(title),
    )  # fmt: skip
    for p in positions:
        add_row(
            rows, p.negotiation, p.actor, p.issue, p.value, p.stance, f"{p.valid_from:%Y-%m-%d}",
            str(p.outlets), "yes" if p.confirmed_at else "",
        )  # fmt: skip
    return rows


def changes_table(changes: Sequence[PositionChange], title: str) -> Table:
    rows = Table(
        "published", "negotiation", "actor", "issue", "old", "new", "outlet", "evidence", title=Text(title)
    )
    for c in changes:
        add_row(
            rows, f"{c.published_at:%Y-%m-%d}", c.negotiation, c.actor, c.issue,
            f"{c.old_value} ({c.old_stance})" if c.old_value is not None else "—",
            f"{c.new_value} ({c.new_stance})", c.outlet or "", c.new_evidence[:100],
        )  # fmt: skip
    return rows


def alerts_table(alerts: Sequence[Alert]) -> Table:
    """The outbox: for an alert given up, when instead of its next attempt; errors scrubbed of
    secrets again (rows stored before scrubbing may hold some)."""
    rows = Table("id", "channel", "status", "attempts", "next attempt", "subject", "last error")
    for a in alerts:
        when = (
            f"gave up {a.failed_at:%Y-%m-%d %H:%M}"
            if a.status == AlertStatus.FAILED and a.failed_at
            else f"{a.next_attempt_at:%Y-%m-%d %H:%M}"
        )
        add_row(
            rows, a.alert_key, a.channel, a.status, str(a.attempts), when, a.subject[:80],
            scrub_secrets(a.last_error or "", limit=120),
        )  # fmt: skip
    return rows


def feeds_table(feeds: Sequence[FeedRow]) -> Table:
    """The feeds with their health; a feed's URL (in the error too) without its password."""
    rows = Table("id", "feed", "tags", "status", "fails", "articles", "last error")
    for f in feeds:
        url = without_credentials(f.url)
        add_row(
            rows, str(f.id), f.title or url, ",".join(f.tags), f.last_status or "never polled",
            str(f.consecutive_failures), str(f.articles), (f.last_error or "").replace(f.url, url),
        )  # fmt: skip
    return rows
