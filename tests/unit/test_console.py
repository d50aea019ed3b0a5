"""etl.console: what parley shows on a terminal prints outside text as it is."""

from __future__ import annotations

import io

from rich.console import Console

from etl.console import TerminalObserver


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
