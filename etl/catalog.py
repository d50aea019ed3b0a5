"""The feed list and reference data: adding, importing and exporting feeds, loading seeds/ (actors,
negotiations and their issues).

Feed lists come the way feed readers exchange them: OPML, or one URL per line.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, literal_column, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from etl.errors import UserError
from etl.ingest.urls import UrlError, check_feed_url, without_credentials
from etl.seeds import FeedSeed, load_feeds, load_reference
from models import Actor, Article, Feed, Issue, Negotiation


class FeedListError(UserError):
    """A feed list file that cannot be read; one line naming the file and the problem."""


def add_feeds(engine: Engine, feeds: Iterable[FeedSeed]) -> int:
    """Register feeds (URL is the identity); existing ones gain new tags and a title. Returns new count."""
    merged: dict[str, dict[str, Any]] = {}
    for feed in feeds:  # one row per URL: a list may name a feed twice (two OPML folders)
        row = merged.setdefault(feed.url, {"url": feed.url, "title": feed.title, "tags": set()})
        row["title"] = row["title"] or feed.title
        row["tags"].update(feed.tags)
    rows = [{**row, "tags": sorted(row["tags"])} for row in merged.values()]
    if not rows:
        return 0
    stmt = pg_insert(Feed).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=[Feed.url],
        set_={
            "title": func.coalesce(stmt.excluded.title, Feed.title),
            "tags": literal_column(
                "ARRAY(SELECT DISTINCT t FROM unnest(feeds.tags || excluded.tags) AS t ORDER BY t)"
            ),
        },
    )
    # xmax is 0 on a freshly inserted row version and non-zero on one an upsert updated
    with Session(engine) as session, session.begin():
        inserted: list[bool] = list(session.scalars(stmt.returning(literal_column("xmax = 0"))))
    return sum(inserted)


def read_feed_list(path: Path, tags: Sequence[str] = ()) -> list[FeedSeed]:
    """Feeds from an OPML file or a plain list (one URL per line, ``#`` comments)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FeedListError(f"{path}: cannot read: {exc.strerror}") from exc
    head = raw.lstrip()[:512].lower()
    if head.startswith(b"<?xml") or b"<opml" in head:
        return _read_opml(path, raw, tags)
    feeds = []
    for number, line in enumerate(raw.decode("utf-8", "replace").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            feeds.append(FeedSeed(url=check_feed_url(line.split()[0]), tags=list(tags)))
        except UrlError as exc:
            raise FeedListError(f"{path}: line {number}: {exc}") from exc
    return feeds


def _read_opml(path: Path, raw: bytes, tags: Sequence[str]) -> list[FeedSeed]:
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise FeedListError(f"{path}: not valid OPML: {exc}") from exc
    feeds = []
    for outline in root.iter("outline"):
        url = outline.get("xmlUrl")
        if not url:
            continue
        try:
            url = check_feed_url(url)
        except UrlError as exc:
            name = outline.get("text") or without_credentials(url)
            raise FeedListError(f"{path}: outline {name!r}: {exc}") from exc
        text = outline.get("text")
        title = outline.get("title") or (text if text and text != url else None)
        category = [c.strip() for c in (outline.get("category") or "").split(",") if c.strip()]
        feeds.append(FeedSeed(url=url, title=title, tags=sorted({*tags, *category})))
    return feeds


ANALYSTS_FEED = "parley:analysts"  # the sources analysts read outside parley's feeds (parley claims add)
ANALYSTS_FEED_TITLE = "analysts' sources"


def ensure_analysts_feed(conn: Connection | Session) -> int:
    """The id of the analysts' feed: inactive, so never polled. Made when missing, by the pipeline's
    role or by ``grant-editor`` (an editor may not insert feeds)."""
    find = select(Feed.id).where(Feed.url == ANALYSTS_FEED)
    feed_id = conn.scalar(find)
    if feed_id is None:
        conn.execute(
            pg_insert(Feed)
            .values(url=ANALYSTS_FEED, title=ANALYSTS_FEED_TITLE, tags=["analysts"], active=False)
            .on_conflict_do_nothing(index_elements=["url"])
        )
        feed_id = conn.scalar(find)
    assert feed_id is not None
    return int(feed_id)


def export_opml(engine: Engine) -> str:
    root = ET.Element("opml", version="2.0")
    ET.SubElement(ET.SubElement(root, "head"), "title").text = "parley feeds"
    body = ET.SubElement(root, "body")
    with Session(engine) as session:
        for feed in session.scalars(select(Feed).where(Feed.url != ANALYSTS_FEED).order_by(Feed.id)):
            attrs = {"type": "rss", "text": feed.title or feed.url, "xmlUrl": feed.url}
            if feed.title:
                attrs["title"] = feed.title
            if feed.tags:
                attrs["category"] = ",".join(feed.tags)
            ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


@dataclass(frozen=True)
class FeedRow:
    id: int
    url: str
    title: str | None
    tags: list[str]
    last_status: str | None
    last_error: str | None
    consecutive_failures: int
    articles: int


def list_feeds(engine: Engine) -> list[FeedRow]:
    counts = select(Article.feed_id, func.count().label("n")).group_by(Article.feed_id).subquery("counts")
    query = (
        select(Feed, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.feed_id == Feed.id)
        .order_by(Feed.id)
    )
    with Session(engine) as session:
        return [
            FeedRow(
                f.id, f.url, f.title, list(f.tags), f.last_status, f.last_error, f.consecutive_failures, n
            )
            for f, n in session.execute(query)
        ]


@dataclass(frozen=True)
class SeedCounts:
    feeds: int
    actors: int
    negotiations: int
    issues: int


def load_seeds(engine: Engine, seeds_dir: Path, *, with_feeds: bool = True) -> SeedCounts:
    """Load feeds.yaml, actors.yaml and negotiations/*.yaml; all validated before anything is written."""
    feeds_file = seeds_dir / "feeds.yaml"
    feeds = load_feeds(feeds_file) if with_feeds and feeds_file.exists() else []
    counts = load_reference_data(engine, seeds_dir)
    add_feeds(engine, feeds)
    return SeedCounts(len(feeds), *counts)


def load_reference_data(engine: Engine, seeds_dir: Path) -> tuple[int, int, int]:
    """Upsert the seeds' actors, negotiations and their issues; returns their counts. Nothing is
    deleted: an issue or a negotiation dropped from the seeds keeps the rows the ledger refers to."""
    reference = load_reference(seeds_dir)
    actor_rows = [
        {"id": a.id, "name": a.name, "kind": a.kind, "aliases": a.aliases} for a in reference.actors
    ]
    negotiation_rows = [
        {"key": n.key, "label": n.label, "description": n.description} for n in reference.negotiations
    ]
    issue_rows = [
        {
            "negotiation": n.key,
            "key": i.key,
            "label": i.label,
            "value_type": i.value_type,
            "description": i.description,
            "choices": i.choices,
        }
        for n in reference.negotiations
        for i in n.issues
    ]
    with Session(engine) as session, session.begin():
        _upsert(session, Actor, actor_rows, ["id"])
        _upsert(session, Negotiation, negotiation_rows, ["key"])
        _upsert(session, Issue, issue_rows, ["negotiation", "key"])
    return len(actor_rows), len(negotiation_rows), len(issue_rows)


def negotiation_labels(engine: Engine) -> dict[str, str]:
    """Each negotiation's label, by key."""
    with Session(engine) as session:
        return {key: label for key, label in session.execute(select(Negotiation.key, Negotiation.label))}


def _upsert(
    session: Session,
    model: type[Actor] | type[Issue] | type[Negotiation],
    rows: list[dict[str, Any]],
    keys: list[str],
) -> None:
    stmt = pg_insert(model).values(rows)
    updates = {column: stmt.excluded[column] for column in rows[0] if column not in keys}
    session.execute(stmt.on_conflict_do_update(index_elements=keys, set_=updates))
