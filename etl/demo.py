"""``parley demo``: the whole pipeline, as far as it exists, over the team's demo feeds.

The demo feeds and article pages in ``seeds/demo/`` are served on loopback by a small HTTP server
(``{{BASE}}`` in them becomes the server's address), so the demo exercises the same fetch, safety,
parse and store path as production; only 127.0.0.1 is added to the allowed hosts, for this run.
The stories cover more than one negotiation; each negotiation's ledger is shown under its label.

``parley demo --until 2025-01-12`` serves the feeds as they stood then (the items published after
are left out), so the story can be followed as it arrives: a run up to a date, a correction, the
rest of the story.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from lxml import etree
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, aliased

from etl import catalog, db, stages
from etl.console import TerminalObserver, add_row, changes_table, positions_table
from etl.errors import UserError
from etl.ledger import queries as ledger
from etl.seeds import FeedSeed
from etl.settings import Settings
from models import Article, Claim, Feed, Negotiation
from models.enums import ChangeKind

DEMO_TAG = "demo"
EVER = datetime(1970, 1, 1, tzinfo=UTC)  # the ledger's whole history, not only this run's
CONTENT_TYPES = {".xml": "application/xml; charset=utf-8", ".html": "text/html; charset=utf-8"}
ATOM = "{http://www.w3.org/2005/Atom}"


class DemoError(UserError):
    pass


def demo_dir(settings: Settings) -> Path:
    return settings.seeds_dir / "demo"


@contextmanager
def serve_directory(root: Path, port: int = 0, until: datetime | None = None) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1:port (0 = any free port), yielding the base URL; with ``until``,
    the feeds without the items published after it."""
    root = root.resolve()
    base_holder: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # the demo prints its own summary
            pass

        def do_GET(self) -> None:
            target = (root / self.path.split("?", 1)[0].lstrip("/")).resolve()
            if root not in target.parents or not target.is_file() or target.suffix not in CONTENT_TYPES:
                self.send_error(404)
                return
            body = target.read_text(encoding="utf-8").replace("{{BASE}}", base_holder["base"]).encode()
            if until is not None and target.parent.name == "feeds":
                body = feed_until(body, until)
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPES[target.suffix])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    except OSError as exc:
        raise DemoError(f"cannot serve the demo feeds on 127.0.0.1:{port}: {exc.strerror}") from exc
    base_holder["base"] = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="demo-feeds", daemon=True)
    thread.start()
    try:
        yield base_holder["base"]
    finally:
        server.shutdown()
        server.server_close()


def feed_until(feed: bytes, until: datetime) -> bytes:
    """The RSS or Atom document ``feed`` without its items published after ``until`` (the team's own
    demo feeds: each item has a date)."""
    tree = etree.fromstring(feed)
    for item in [*tree.iter("item"), *tree.iter(f"{ATOM}entry")]:
        stamp = item.findtext("pubDate") or item.findtext(f"{ATOM}published") or ""
        published = (
            parsedate_to_datetime(stamp) if item.tag == "item" else datetime.fromisoformat(stamp.strip())
        )
        if published > until:
            parent = item.getparent()
            assert parent is not None
            parent.remove(item)
    return bytes(etree.tostring(tree, xml_declaration=True, encoding="utf-8"))


def demo_feeds(root: Path, base: str) -> list[FeedSeed]:
    feeds = sorted((root / "feeds").glob("*.xml"))
    if not feeds:
        raise DemoError(f"no demo feeds in {root / 'feeds'}")
    return [FeedSeed(url=f"{base}/feeds/{path.name}", tags=[DEMO_TAG]) for path in feeds]


def run_demo(
    settings: Settings,
    *,
    port: int,
    console: Console,
    progress: Console,
    until: datetime | None = None,
) -> None:
    root = demo_dir(settings)
    settings = settings.with_changes(allowed_hosts=[*settings.allowed_hosts, "127.0.0.1"])
    where = (
        "embedded PostgreSQL in " + str(settings.data_dir) if settings.database_url is None else "database"
    )
    console.print(Text.assemble(("parley demo", "bold"), f" — {where}"))
    observer = TerminalObserver(progress)
    engine = db.get_engine(settings)
    try:
        db.upgrade(engine)
        counts = catalog.load_seeds(engine, settings.seeds_dir, with_feeds=False)
        console.print(
            f"schema at {db.current_revision(engine)}; {counts.actors} actors, {counts.negotiations}"
            f" negotiations, {counts.issues} issues"
        )
        with serve_directory(root, port, until) as base:
            catalog.add_feeds(engine, demo_feeds(root, base))
            summary = stages.ingest(engine, settings, observer, poll_all=True, tag=DEMO_TAG)
        console.print(summary.line())
        console.print(articles_table(engine))
        console.print(stages.extract(engine, settings, observer).line())
        console.print(stages.diff(engine, settings).line())
        for key, label in negotiations(engine):
            console.rule(Text(f"{label} ({key})"))
            show_ledger(console, engine, key)
        console.rule("alerts")
        console.print(stages.deliver_alerts(engine, settings, observer).line())
    finally:
        engine.dispose()


def negotiations(engine: Engine) -> list[tuple[str, str]]:
    """(key, label) of every negotiation of the seeds, by key."""
    with Session(engine) as session:
        return [(n.key, n.label) for n in session.scalars(select(Negotiation).order_by(Negotiation.key))]


def show_ledger(console: Console, engine: Engine, negotiation: str) -> None:
    """One negotiation's claims from the demo feeds, its current positions and the changes between them
    (first sightings are in the positions table already)."""
    console.print(claims_table(engine, negotiation))
    console.print(positions_table(ledger.current_positions(engine, negotiation)))
    changes = [c for c in ledger.changes_since(engine, EVER, negotiation) if c.kind == ChangeKind.CHANGE]
    if changes:
        console.print(changes_table(changes, "position changes"))
    else:
        console.print("no position changed")


def articles_table(engine: Engine, limit: int = 40) -> Table:
    original = aliased(Article)
    query = (
        select(Article, Feed.title, original.title)
        .join(Feed, Feed.id == Article.feed_id)
        .outerjoin(original, original.id == Article.duplicate_of)
        .where(Feed.tags.contains([DEMO_TAG]))
        .order_by(Article.published_at, Article.id)
        .limit(limit)
    )
    table = Table("published", "outlet", "title", "text from", "words", "note", title="demo articles")
    with Session(engine) as session:
        for article, outlet, original_title in session.execute(query):
            note = f"copy of: {original_title[:40]}" if original_title else (article.page_status or "")
            add_row(
                table,
                f"{article.published_at:%Y-%m-%d}" if article.published_at else "?",
                outlet or "",
                article.title[:70],
                article.text_source,
                str(len(article.text.split())),
                note[:60],
            )
    return table


def claims_table(engine: Engine, negotiation: str, limit: int = 60) -> Table:
    query = (
        select(Article.published_at, Feed.title, Claim)
        .join(Article, Article.id == Claim.article_id)
        .join(Feed, Feed.id == Article.feed_id)
        .where(Feed.tags.contains([DEMO_TAG]), Claim.negotiation == negotiation)
        .order_by(Article.published_at, Claim.id)
        .limit(limit)
    )
    table = Table("published", "outlet", "actor", "issue", "value", "stance", "evidence", title="claims")
    with Session(engine) as session:
        for published, outlet, claim in session.execute(query):
            add_row(
                table,
                f"{published:%Y-%m-%d}" if published else "?",
                outlet or "",
                claim.actor,
                claim.issue,
                claim.value,
                claim.stance,
                " ".join(claim.evidence.split())[:90],
            )
    return table
