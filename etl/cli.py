"""The ``parley`` command line: a thin caller of the etl stages, with progress and clear errors.

Errors a user can fix (bad config, bad input file, database down) end the command with one line on
stderr and exit status 1; nothing is half-written because every stage writes in transactions.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from etl import catalog, db
from etl.demo import DemoError
from etl.ingest import FeedOutcome, IngestSummary, ingest
from etl.seeds import FeedSeed, SeedError
from etl.settings import ConfigError, Settings, load_settings
from etl.urls import UrlError, check_feed_url

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="parley: who demands what, and when it moves."
)
db_app = typer.Typer(no_args_is_help=True, help="Schema migrations (Alembic).")
feeds_app = typer.Typer(no_args_is_help=True, help="The feeds parley polls.")
app.add_typer(db_app, name="db")
app.add_typer(feeds_app, name="feeds")

out = Console()
err = Console(stderr=True)

USER_ERRORS: tuple[type[Exception], ...] = (
    ConfigError,
    db.DatabaseUnavailable,
    SeedError,
    catalog.FeedListError,
    UrlError,
    DemoError,
)
F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str) -> typer.Exit:
    err.print(f"[bold red]parley: error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


def handles_errors(func: F) -> F:
    """Turn the errors a user can act on into one line and exit status 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except USER_ERRORS as exc:
            raise fail(str(exc)) from None
        except DBAPIError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            raise fail(f"database error: {reason}") from None

    return wrapper  # type: ignore[return-value]


@contextmanager
def database(settings: Settings, *, migrate: bool = False) -> Iterator[Engine]:
    engine = db.get_engine(settings)
    try:
        if migrate:
            db.upgrade(engine)
        else:
            db.require_schema(engine)
        yield engine
    finally:
        engine.dispose()


# --- db ------------------------------------------------------------------------------------------


@db_app.command("upgrade")
@handles_errors
def db_upgrade(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    engine = db.get_engine(load_settings())
    try:
        db.upgrade(engine, revision)
        out.print(f"schema at {db.current_revision(engine)}")
    finally:
        engine.dispose()


@db_app.command("downgrade")
@handles_errors
def db_downgrade(revision: Annotated[str, typer.Argument(help="target revision, e.g. base")]) -> None:
    """Revert migrations down to REVISION."""
    engine = db.get_engine(load_settings())
    try:
        db.downgrade(engine, revision)
        out.print(f"schema at {db.current_revision(engine) or 'base'}")
    finally:
        engine.dispose()


@db_app.command("current")
@handles_errors
def db_current() -> None:
    """Print the schema revision of the database."""
    engine = db.get_engine(load_settings())
    try:
        out.print(db.current_revision(engine) or "base (empty)")
    finally:
        engine.dispose()


# --- seeds and feeds -----------------------------------------------------------------------------


@app.command("seed")
@handles_errors
def seed(
    directory: Annotated[Path | None, typer.Option("--dir", help="seeds directory")] = None,
) -> None:
    """Load feeds, actors and issues from seeds/ (idempotent)."""
    settings = load_settings()
    with database(settings) as engine:
        counts = catalog.load_seeds(engine, directory or settings.seeds_dir)
    out.print(f"seeded {counts.feeds} feeds, {counts.actors} actors, {counts.issues} issues")


@feeds_app.command("add")
@handles_errors
def feeds_add(
    url: str,
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t", help="negotiation/topic tag")] = None,
    title: Annotated[str | None, typer.Option(help="display title")] = None,
) -> None:
    """Register a feed URL (again: merges tags)."""
    feed = FeedSeed(url=check_feed_url(url), title=title, tags=tag or [])
    with database(load_settings()) as engine:
        added = catalog.add_feeds(engine, [feed])
    out.print(f"{'added' if added else 'already registered (tags merged)'}: {feed.url}")


@feeds_app.command("import")
@handles_errors
def feeds_import(
    file: Annotated[Path, typer.Argument(help="OPML file, or one URL per line")],
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t")] = None,
) -> None:
    """Register every feed of an OPML file or URL list."""
    feeds = catalog.read_feed_list(file, tag or [])
    with database(load_settings()) as engine:
        added = catalog.add_feeds(engine, feeds)
    out.print(f"{len(feeds)} feeds read, {added} new, {len(feeds) - added} already registered")


@feeds_app.command("list")
@handles_errors
def feeds_list() -> None:
    """Show the feeds with their health."""
    with database(load_settings()) as engine:
        rows = catalog.list_feeds(engine)
    table = Table("id", "feed", "tags", "status", "fails", "articles", "last error")
    for row in rows:
        table.add_row(
            str(row.id),
            row.title or row.url,
            ",".join(row.tags),
            row.last_status or "never polled",
            str(row.consecutive_failures),
            str(row.articles),
            row.last_error or "",
        )
    out.print(table)


@feeds_app.command("export")
@handles_errors
def feeds_export(
    output: Annotated[Path | None, typer.Option("--out", "-o", help="file (default: stdout)")] = None,
) -> None:
    """Write the feed list as OPML."""
    with database(load_settings()) as engine:
        document = catalog.export_opml(engine)
    if output:
        output.write_text(document, encoding="utf-8")
        err.print(f"wrote {output}")
    else:
        sys.stdout.write(document)


# --- ingest --------------------------------------------------------------------------------------


def run_ingest(
    engine: Engine, settings: Settings, *, poll_all: bool = False, tag: str | None = None
) -> IngestSummary:
    """Ingest with a progress bar on a terminal, and a line per failed feed everywhere."""
    progress = Progress(
        TextColumn("polling feeds"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    task = progress.add_task("poll", total=None)

    def started(total: int) -> None:
        progress.update(task, total=total)

    def done(outcome: FeedOutcome) -> None:
        progress.advance(task)
        if outcome.status in ("failed", "partial"):
            progress.console.print(
                f"[yellow]{outcome.status}[/] {outcome.url}: {outcome.error}", highlight=False, soft_wrap=True
            )

    with progress:
        return ingest(engine, settings, poll_all=poll_all, tag=tag, on_start=started, on_feed=done)


@app.command("ingest")
@handles_errors
def ingest_command(
    poll_all: Annotated[bool, typer.Option("--all", help="poll every feed, due or not")] = False,
    tag: Annotated[str | None, typer.Option(help="only feeds with this tag")] = None,
) -> None:
    """Poll every due feed, store new articles (exit 0 even when some feeds failed)."""
    settings = load_settings()
    with database(settings) as engine:
        summary = run_ingest(engine, settings, poll_all=poll_all, tag=tag)
    out.print(summary.line())


@app.command("demo")
@handles_errors
def demo(port: Annotated[int, typer.Option(help="loopback port for the demo feeds")] = 8787) -> None:
    """One full pass of the pipeline over the demo feeds in seeds/demo/, on the embedded database."""
    from etl.demo import run_demo

    run_demo(load_settings(), port=port, console=out, run_ingest=run_ingest)


def main() -> None:  # pragma: no cover - console-script entry point
    app()


if __name__ == "__main__":
    main()
