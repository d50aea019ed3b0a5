"""The errors a user can cause, and how any error becomes one line of text.

Every exception a user can fix (bad settings, bad seeds, a bad URL or input file, the database down)
derives from :class:`UserError`; the CLI turns each into one line on stderr and exit status 1, in one
place (``etl.cli.handles_errors``).
"""

from __future__ import annotations


class UserError(Exception):
    """An error the user can act on: its message is the one line the CLI prints."""


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first line of ``exc``'s message (cut to ``limit`` characters), or its type's name."""
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else type(exc).__name__


def one_line(text: str) -> str:
    """``text`` with every run of whitespace, newlines included, made one space."""
    return " ".join(text.split())
