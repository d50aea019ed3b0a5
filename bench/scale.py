"""Build a scaled parley database from the 2023 news corpus, for the at-scale benchmarks (issue 7).

    python bench/scale.py 200000            # build parley_bench_scale_200000 (drops an old one first)
    python bench/scale.py 200000 --reuse    # reuse it when a previous build completed
    python bench/scale.py 200000 --drop     # drop it and exit

The database is a fresh PostgreSQL database of its own on ``--admin-url`` (default the local server,
user postgres), named ``parley_bench_scale_<size>``, migrated with :func:`etl.db.upgrade` (Alembic).

**History.** The corpus (46,396 items of 32 feeds, 1 Oct – 31 Dec 2023) is the *live* news the
benchmarks replay with ``feedreplay.py``; the stored history is made of shifted copies of it placed
*before* it: copy ``k`` (k = 1, 2, …) of an item is published ``k × 92`` days earlier and its GUID and
URL carry ``#k`` / ``copy=k`` (a fragment would be dropped by URL canonicalisation), so every copy is
a distinct article. The newest ``size`` of these copies are stored, in publication order, through
the product's write path (:func:`etl.ingest.store.store_feeds`, in batches, one feed at a time), as the
product stores an item of a feed polled with ``PARLEY_FETCH_ARTICLES=false``: content hash, search
vector (computed by the database), ``duplicate_of`` (copies repeat their original's text, so every
copy after the first is a content duplicate, as the de-duplication contract says), raw entry.

**Claims.** The extractor runs once over the corpus items that carry a negotiation cue word (about
4,000 items; cached under ``$TMPDIR/parley-bench-cache``), and the claims it finds — real evidence
sentences, values and stances — are the templates of ``claims`` synthetic claims (default: one per
two articles), spread over the negotiations of ``seeds/negotiations/`` (as often as the extractor
found claims of each, and at least once), their issues and the actors of ``seeds/actors.yaml`` (a
negotiation's parties most): each (negotiation, actor, issue) holds a position that changes now and
then (``--change`` per claim), so the ledger gets versions, changes and corroboration. Every
article is marked processed for the current ``EXTRACTOR_VERSION`` with
:func:`etl.extract.store.store_results` (the write path of ``parley extract``), then
:func:`etl.ledger.store.apply_claims` applies the claims chunk by chunk in publication order, and
the alerts it queues are marked delivered through the outbox.

**Polls.** Each feed gets an hourly poll history (``feed_fetches``) ending now, with the new items of
that hour of its history, so the feed-health check and view see a year of polls.

Progress goes to stderr; the last line of stdout is the database URL.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from etl import db  # noqa: E402
from etl.catalog import add_feeds, load_reference_data  # noqa: E402
from etl.extract.store import store_results  # noqa: E402
from etl.ingest.entries import ArticleDraft  # noqa: E402
from etl.ingest.store import store_feeds  # noqa: E402
from etl.ingest.urls import canonical_url  # noqa: E402
from etl.seeds import FeedSeed, NegotiationSeed, Reference, load_reference  # noqa: E402
from etl.settings import Settings  # noqa: E402
from etl.text import strip_tags  # noqa: E402
from models.enums import Stance  # noqa: E402

SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus" / "news_items_2023q4.jsonl"
FEEDREPLAY = SHARED / "tools" / "feedreplay.py"
ADMIN_URL = os.environ.get("PARLEY_BENCH_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
DEFAULT_PORT = 8796
SHIFT = timedelta(days=92)  # the corpus spans 1 Oct – 31 Dec 2023: copies tile the past without overlap
CUES = re.compile(
    r"truce|cease-?fire|hostage|captive|prisoner|pause|release|deal|withdraw|aid truck", re.IGNORECASE
)
CACHE = Path(tempfile.gettempdir()) / "parley-bench-cache"
MARKER = "parley bench scale: complete"
BENCH_TAG = "bench-scale"

# Who speaks how often in a negotiation's synthetic claims: its parties most, the actors that mark
# a text as about it next, any other actor now and then (as in the real coverage).
PARTY_WEIGHT, ABOUT_WEIGHT, OTHER_WEIGHT = 6, 3, 1
VALUES_BY_TYPE: dict[str, list[str]] = {
    "days": ["3", "4", "5", "6", "7", "10", "14", "30", "42", "45", "60", "90"],
    "days_or_flag": ["30", "yes"],
    "number": ["1", "2", "3"],
    "count_or_all": ["10", "13", "33", "50", "100", "150", "240", "300", "all"],
    "count": ["100", "200", "300", "500", "600"],
    "categories": ["children,women", "children,elderly,women", "women", "civilians", "soldiers"],
    "choice": ["full", "partial"],
    "flag": ["yes", "no"],
}
STANCES = ["proposes", "demands", "accepts", "rejects"]


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def require_shared() -> None:
    for path in (CORPUS, FEEDREPLAY):
        if not path.exists():
            sys.exit(f"{path} is missing: the benchmarks read ../shared/ beside the repository")


def feedreplay() -> ModuleType:
    """../shared/tools/feedreplay.py as a module (its slug and item ids are the ones it serves)."""
    spec = importlib.util.spec_from_file_location("feedreplay", FEEDREPLAY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Item:
    source: str
    title: str
    description: str
    link: str
    published: datetime
    language: str | None
    id: str  # feedreplay's item id


def load_corpus() -> list[Item]:
    items: list[Item] = []
    with CORPUS.open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            published = datetime.fromisoformat(row["date_published"].replace("Z", "+00:00")).astimezone(UTC)
            item_id = hashlib.sha1((row["link"] + row["date_published"]).encode()).hexdigest()[:16]
            items.append(
                Item(row["source"], row.get("title") or "", row.get("description") or "", row["link"],
                     published, row.get("language"), item_id)
            )  # fmt: skip
    return items


def feed_url(port: int, slug: str) -> str:
    return f"http://127.0.0.1:{port}/feed/{slug}.xml"


def database_name(size: int) -> str:
    return f"parley_bench_scale_{size}"


def database_url(size: int, admin_url: str = ADMIN_URL) -> str:
    return make_url(admin_url).set(database=database_name(size)).render_as_string(hide_password=False)


def bench_settings(url: str, **overrides: Any) -> Settings:
    """The settings the benchmarks run parley with: this database, loopback feeds allowed."""
    values: dict[str, Any] = {
        "database_url": url,
        "allowed_hosts": ["127.0.0.1"],
        "alert_urls": ["console://"],
        "data_dir": CACHE / "data",
    }
    values.update(overrides)
    return Settings(**values)


# --- articles ------------------------------------------------------------------------------------


def history(items: Sequence[Item], size: int) -> list[tuple[int, Item]]:
    """The newest ``size`` shifted copies (copy k = 1, 2, … of every item, k × SHIFT earlier), oldest
    first: the stored past of the live corpus."""
    newest_first = sorted(items, key=lambda i: i.published, reverse=True)
    chosen: list[tuple[int, Item]] = []
    k = 1
    while len(chosen) < size:
        chosen.extend((k, item) for item in newest_first[: size - len(chosen)])
        k += 1
    chosen.reverse()
    return chosen


def draft_of(k: int, item: Item) -> ArticleDraft:
    """The draft ingest makes of copy ``k`` of ``item`` (as feedreplay serves it, pages not fetched)."""
    published = item.published - k * SHIFT
    separator = "&" if "?" in item.link else "?"
    url = f"{item.link}{separator}copy={k}"
    guid = f"{item.link}#{k}"
    title = strip_tags(item.title)
    summary = strip_tags(item.description)
    stamp = published.strftime("%a, %d %b %Y %H:%M:%S +0000")
    language = (item.language or "").split("-")[0].lower() or None
    raw_entry = {  # the shape feedparser gives an RSS 2.0 item (the *_parsed keys dropped)
        "title": item.title,
        "title_detail": {"type": "text/plain", "language": None, "base": url, "value": item.title},
        "links": [{"rel": "alternate", "type": "text/html", "href": url}],
        "link": url,
        "id": guid,
        "guidislink": False,
        "published": stamp,
        "summary": item.description,
        "summary_detail": {"type": "text/html", "language": None, "base": url, "value": item.description},
    }
    return ArticleDraft(
        guid=guid, url=url, canonical_url=canonical_url(url), title=title, summary=summary,
        published_at=published, language=language, raw_entry=raw_entry, text=summary,
        text_source="summary" if summary else "title",
    )  # fmt: skip


def store_history(
    engine: Engine, chosen: Sequence[tuple[int, Item]], feed_ids: dict[str, int], batch: int
) -> int:
    stored = 0
    clock = time.monotonic()
    for start in range(0, len(chosen), batch):
        by_feed: dict[int, list[ArticleDraft]] = defaultdict(list)
        for k, item in chosen[start : start + batch]:
            by_feed[feed_ids[item.source]].append(draft_of(k, item))
        with Session(engine) as session, session.begin():
            for feed_id, drafts in by_feed.items():
                stored += store_feeds(session, [(feed_id, drafts)]).get(feed_id, 0)
        done = min(start + batch, len(chosen))
        rate = done / max(time.monotonic() - clock, 1e-9)
        say(f"  articles {done:>8,}/{len(chosen):,}  ({rate:,.0f}/s)")
    return stored


# --- claims --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    negotiation: str
    actor: str
    issue: str
    value: str
    stance: str
    evidence: str
    confidence: float


def claim_templates(items: Sequence[Item]) -> list[Template]:
    """The claims the extractor finds in the corpus items that carry a cue word (cached)."""
    from etl.extract.engine import EXTRACTOR_VERSION, Extractor
    from etl.extract.store import value_text

    cache = CACHE / f"templates-{EXTRACTOR_VERSION}-by-negotiation.json"
    if cache.exists():
        return [Template(**row) for row in json.loads(cache.read_text())]
    cued = [i for i in items if CUES.search(f"{i.title} {i.description}")]
    say(f"extracting claims from the {len(cued):,} corpus items with a cue word (once; cached in {cache})")
    seeds = ROOT / "seeds"
    extractor = Extractor.load(load_reference(seeds))
    clock = time.monotonic()
    templates = [
        Template(
            c.negotiation,
            c.actor,
            c.issue,
            value_text(c.value),
            c.stance,
            " ".join(c.evidence.split()),
            c.confidence,
        )
        for result in extractor.extract_many((strip_tags(i.title), strip_tags(i.description)) for i in cued)
        for c in result.claims
    ]
    say(f"  {len(templates)} claims in {time.monotonic() - clock:.0f} s")
    CACHE.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps([t.__dict__ for t in templates]))
    return templates


def actor_weight(negotiation: NegotiationSeed, actor: str) -> int:
    if actor in negotiation.parties:
        return PARTY_WEIGHT
    return ABOUT_WEIGHT if actor in negotiation.about.actors else OTHER_WEIGHT


class ClaimMaker:
    """Synthetic claims: each (negotiation, actor, issue) holds a position that changes with
    probability ``change`` per claim; evidence sentences, confidences and extra values come from the
    real templates of the same negotiation and issue."""

    def __init__(self, templates: Sequence[Template], reference: Reference, change: float, seed: int):
        self.random = random.Random(seed)
        self.change = change
        found = Counter(t.negotiation for t in templates)
        self.negotiations = [n.key for n in reference.negotiations]
        self.negotiation_weights = [found[key] + 1 for key in self.negotiations]
        self.issues: dict[str, list[str]] = {}
        self.actors: dict[str, tuple[list[str], list[int]]] = {}
        self.values: dict[tuple[str, str], list[str]] = {}
        for negotiation in reference.negotiations:
            key = negotiation.key
            self.issues[key] = sorted(i.key for i in negotiation.issues)
            actors = [a.id for a in reference.actors]
            self.actors[key] = (actors, [actor_weight(negotiation, actor) for actor in actors])
            for issue in negotiation.issues:
                stated = {t.value for t in templates if (t.negotiation, t.issue) == (key, issue.key)}
                self.values[(key, issue.key)] = sorted(
                    set(VALUES_BY_TYPE.get(issue.value_type, ["yes"])) | stated
                )
        self.evidence: dict[tuple[str, str], list[Template]] = defaultdict(list)
        for template in templates:
            self.evidence[(template.negotiation, template.issue)].append(template)
        self.state: dict[tuple[str, str, str], tuple[str, str]] = {}

    def next(self) -> tuple[str, str, str, str, str, str, float]:
        """(negotiation, actor, issue, value, stance, evidence, confidence) of the next claim in time
        order."""
        negotiation = self.random.choices(self.negotiations, self.negotiation_weights)[0]
        actors, weights = self.actors[negotiation]
        actor = self.random.choices(actors, weights)[0]
        issue = self.random.choice(self.issues[negotiation])
        key = (negotiation, actor, issue)
        current = self.state.get(key)
        if current is None or self.random.random() < self.change:
            while True:
                fresh = (self.random.choice(self.values[(negotiation, issue)]), self.random.choice(STANCES))
                if fresh != current:
                    break
            self.state[key] = current = fresh
        value, stance = current
        real = self.evidence.get((negotiation, issue))
        if real:
            template = self.random.choice(real)
            evidence, confidence = template.evidence, template.confidence
        else:
            evidence = f"{actor.replace('_', ' ').title()} {stance} {value} ({issue.replace('_', ' ')})."
            confidence = 0.8
        return negotiation, actor, issue, value, stance, evidence, confidence


def store_claims_and_ledger(
    engine: Engine, settings: Settings, size: int, claims: int, change: float, templates: Sequence[Template],
    chunk: int,
) -> None:  # fmt: skip
    """Mark every article processed with ``claims`` claims among them, and apply them to the ledger
    ``chunk`` articles at a time, in publication (= id) order."""
    from etl.alerts.outbox import deliver_pending
    from etl.extract.engine import EXTRACTOR_VERSION, ArticleResult, Claim, Mention
    from etl.ledger.store import apply_claims

    with engine.connect() as conn:
        article_ids = list(conn.scalars(text("SELECT id FROM articles ORDER BY published_at, id")))
        titles = dict(conn.execute(text("SELECT id, length(title) FROM articles")).all())
    maker = ClaimMaker(templates, load_reference(settings.seeds_dir), change, seed=size)
    chooser = random.Random(size + 1)
    share = claims / max(len(article_ids), 1)
    made = applied = 0
    write_time = ledger_time = 0.0
    for start in range(0, len(article_ids), chunk):
        ids = article_ids[start : start + chunk]
        clock = time.monotonic()
        for sub in range(0, len(ids), 2000):
            batch = ids[sub : sub + 2000]
            results = []
            for article_id in batch:
                if made >= claims or chooser.random() >= share:
                    results.append(ArticleResult())
                    continue
                made += 1
                negotiation, actor, issue, value, stance, evidence, confidence = maker.next()
                offset = titles[article_id] + 2
                end = offset + len(evidence)
                typed: int | str = int(value) if value.isdigit() else value  # as the extractor gives it
                results.append(
                    ArticleResult(
                        claims=[
                            Claim(
                                negotiation,
                                actor,
                                issue,
                                typed,
                                Stance(stance),
                                evidence,
                                offset,
                                end,
                                confidence,
                            )
                        ],
                        mentions=[Mention(actor, offset, offset + 5, evidence[:5])],
                    )
                )
            with Session(engine) as session, session.begin():
                store_results(session, batch, results, EXTRACTOR_VERSION)
        write_time += time.monotonic() - clock
        clock = time.monotonic()
        summary = apply_claims(engine, settings, ["console://"], version=EXTRACTOR_VERSION)
        ledger_time += time.monotonic() - clock
        applied += summary.claims
        say(
            f"  articles {start + len(ids):>8,}/{len(article_ids):,}: {made:,} claims written "
            f"({write_time:.0f} s), {applied:,} applied ({ledger_time:.0f} s, "
            f"{applied / max(ledger_time, 1e-9):,.0f} claims/s); last chunk: {summary.line()}"
        )
    clock = time.monotonic()
    delivered = deliver_pending(engine, settings, [_Delivered()])
    say(
        f"  {delivered.sent:,} historical alerts marked delivered through the outbox"
        f" ({time.monotonic() - clock:.0f} s)"
    )


class _Delivered:
    """The console channel, silent: the history's alerts count as delivered long ago."""

    name = "console://"

    def send(self, message: object) -> None:
        return None


# --- polls ---------------------------------------------------------------------------------------


POLL_HISTORY = """
INSERT INTO feed_fetches (feed_id, started_at, duration_ms, status, http_status, bytes, entries, new_items)
SELECT f.id, h.hour + (now() - :last_hour) + interval '1 minute', 150,
       CASE WHEN coalesce(n.items, 0) > 0 THEN 'ok' ELSE 'not_modified' END,
       CASE WHEN coalesce(n.items, 0) > 0 THEN 200 ELSE 304 END,
       CASE WHEN coalesce(n.items, 0) > 0 THEN 40000 ELSE 0 END,
       CASE WHEN coalesce(n.items, 0) > 0 THEN 50 ELSE 0 END,
       coalesce(n.items, 0)
  FROM feeds f
 CROSS JOIN generate_series(:first_hour, :last_hour, interval '1 hour') AS h(hour)
  LEFT JOIN (SELECT feed_id, date_trunc('hour', published_at) AS hour, count(*) AS items
               FROM articles GROUP BY 1, 2) n ON n.feed_id = f.id AND n.hour = h.hour
 ORDER BY h.hour, f.id
"""


def store_poll_history(engine: Engine) -> int:
    """An hourly poll per feed over the span of the history, shifted to end an hour ago."""
    with engine.begin() as conn:
        first, last = conn.execute(
            text(
                "SELECT date_trunc('hour', min(published_at)), date_trunc('hour', max(published_at))"
                " FROM articles"
            )
        ).one()
        inserted = conn.execute(text(POLL_HISTORY), {"first_hour": first, "last_hour": last}).rowcount
        conn.execute(
            text(
                "UPDATE feeds SET last_status = 'not_modified', last_http_status = 304,"
                " last_polled_at = now() - interval '1 hour', last_success_at = now() - interval '1 hour',"
                " next_poll_at = now() - interval '1 minute'"
            )
        )
    return int(inserted)


# --- the database --------------------------------------------------------------------------------


def admin_engine(admin_url: str) -> Engine:
    return create_engine(admin_url, isolation_level="AUTOCOMMIT")


def is_complete(admin: Engine, name: str) -> bool:
    with admin.connect() as conn:
        comment = conn.scalar(
            text("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = :n"),
            {"n": name},
        )
    # a build for another extractor version would make the next tick re-read the whole history
    return bool(comment and comment.startswith(_marker()))


def _marker() -> str:
    from etl.extract.engine import EXTRACTOR_VERSION

    return f"{MARKER} (extractor {EXTRACTOR_VERSION})"


def drop(admin: Engine, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def build(
    size: int,
    *,
    claims: int | None = None,
    port: int = DEFAULT_PORT,
    reuse: bool = False,
    batch: int = 5000,
    change: float = 0.01,
    ledger_chunk: int = 20000,
    admin_url: str = ADMIN_URL,
) -> str:
    """Build (or with ``reuse``, find) the scaled database; return its URL."""
    require_shared()
    name = database_name(size)
    url = database_url(size, admin_url)
    admin = admin_engine(admin_url)
    try:
        if reuse and is_complete(admin, name):
            say(f"reusing {name} (migrated to the latest revision)")
            engine = create_engine(url)
            db.upgrade(engine)
            engine.dispose()
            return url
        drop(admin, name)
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    claims = size // 2 if claims is None else claims
    began = time.monotonic()
    engine = create_engine(url, pool_size=4)
    settings = bench_settings(url)
    try:
        db.upgrade(engine)
        load_reference_data(engine, settings.seeds_dir)
        items = load_corpus()
        slug_of = feedreplay().slug_of
        sources = sorted({i.source for i in items})
        add_feeds(
            engine, [FeedSeed(url=feed_url(port, slug_of(s)), title=s, tags=[BENCH_TAG]) for s in sources]
        )
        with engine.connect() as conn:
            by_url = dict(conn.execute(text("SELECT url, id FROM feeds")).all())
        feed_ids = {s: by_url[feed_url(port, slug_of(s))] for s in sources}
        templates = claim_templates(items)

        say(f"storing {size:,} articles into {name} with etl.ingest.store.store_feeds")
        clock = time.monotonic()
        stored = store_history(engine, history(items, size), feed_ids, batch)
        article_seconds = time.monotonic() - clock
        say(f"  {stored:,} articles in {article_seconds:.0f} s ({stored / article_seconds:,.0f}/s)")

        say(f"writing {claims:,} claims with etl.extract.store.store_results, applying them with etl.ledger")
        clock = time.monotonic()
        store_claims_and_ledger(engine, settings, size, claims, change, templates, ledger_chunk)
        claim_seconds = time.monotonic() - clock

        clock = time.monotonic()
        polls = store_poll_history(engine)
        say(f"  {polls:,} polls of poll history ({time.monotonic() - clock:.0f} s)")
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
            counts = conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM claims),"
                    " (SELECT count(*) FROM positions), (SELECT count(*) FROM position_changes),"
                    " (SELECT count(*) FROM feed_fetches), pg_database_size(current_database())"
                )
            ).one()
            total = time.monotonic() - began
            note = (
                f"{_marker()} {datetime.now(UTC):%Y-%m-%dT%H:%MZ}; articles {counts[0]}, claims {counts[1]},"
                f" positions {counts[2]}, changes {counts[3]}, polls {counts[4]}; built in {total:.0f} s"
                f" (articles {article_seconds:.0f} s, claims+ledger {claim_seconds:.0f} s)"
            )
            conn.execute(text(f"COMMENT ON DATABASE \"{name}\" IS '{note}'"))
        say(note + f"; {counts[5] / 2**20:,.0f} MiB")
    finally:
        engine.dispose()
    return url


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("size", type=int, help="articles to store (e.g. 10000, 200000)")
    parser.add_argument("--claims", type=int, default=None, help="claims to store (default: size / 2)")
    parser.add_argument("--reuse", action="store_true", help="reuse the database if a build completed")
    parser.add_argument("--drop", action="store_true", help="drop the database and exit")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="loopback port of the replayed feeds")
    parser.add_argument("--batch", type=int, default=5000, help="articles per store transaction")
    parser.add_argument("--change", type=float, default=0.01, help="chance a claim moves its position")
    parser.add_argument("--ledger-chunk", type=int, default=20000, help="articles per apply_claims call")
    parser.add_argument("--admin-url", default=ADMIN_URL)
    args = parser.parse_args(argv)
    if args.drop:
        admin = admin_engine(args.admin_url)
        drop(admin, database_name(args.size))
        admin.dispose()
        say(f"dropped {database_name(args.size)}")
        return
    url = build(
        args.size, claims=args.claims, port=args.port, reuse=args.reuse, batch=args.batch,
        change=args.change, ledger_chunk=args.ledger_chunk, admin_url=args.admin_url,
    )  # fmt: skip
    print(url)


if __name__ == "__main__":
    main()
