"""Benchmark: articles, claims and ledger writes through the product path versus a plain COPY.

In a PostgreSQL database of its own (``parley_bench_writes_<random>`` on ``--admin-url``, migrated
with :func:`etl.db.upgrade`, dropped at the end, also on error) it times three stages:

* **articles**: ``--articles`` items of ``../shared/corpus/news_items_2023q4.jsonl`` become drafts
  with :func:`etl.ingest.entries.draft_from_entry`, cut per source feed into polls of ``--batch`` items
  (a poll of the replay server brings up to 50), a feed of its own per poll: the polls of one tick.
  Each poll hands over what :func:`etl.ingest.poll.poll_feed` hands over once a feed is fetched and
  parsed (:func:`etl.ingest.store.unseen_drafts` picks the drafts not stored yet), and the product
  stores them: as a tick does (``ingest``'s loop, :func:`etl.ingest.poll.store_polls_as_they_end`: 4
  poll threads, the polls that end while others are stored are stored together, with their records,
  in one transaction), and then one poll per transaction
  (:func:`etl.ingest.poll.store_polls_with_news` for each poll in turn: a tick whose polls end one at
  a time);
* **claims**: synthetic extraction results (``--claims-per-article`` claims on the seeds' actors and
  the issues of each of the seeds' negotiations, a mention per claim; the real extractor finds 90
  claims in the whole corpus, too few to time) written by :func:`etl.extract.store.store_results`
  per batch of ``--extract-batch`` articles, as :func:`etl.extract.store.extract_articles` does;
* **ledger**: every claim applied by :func:`etl.ledger.store.apply_claims` in one run, then a run with
  nothing pending.

Each product run is compared with ``COPY ... FROM STDIN`` (psycopg2 ``copy_expert``) of exactly the
rows the product wrote (dumped with ``COPY ... TO STDOUT`` after the first product run) into the same
tables, truncated: same indexes, constraints and generated columns. The COPY buffers are built before
the clock starts, so the COPY figures are the server's load floor. COPY runs two ways:

* **COPY, one transaction**: every row in one COPY per table and one commit (issue 7's "a plain
  PostgreSQL COPY of the same rows"; the target, within 2x, is stated against this one);
* **COPY per batch**: the same rows cut into the product's transactions (the articles of the polls
  stored together, a store_results batch's claims, mentions and marks), one COPY per table and a
  commit each: what the product's unit of work costs the server when nothing else is done.

The product does more than COPY does: it reads (de-duplication, the first copy of a content hash,
conflicts) and writes each poll's record. Runs alternate (``--rounds`` times each, the order rotating
every round) because the machine is shared; the table gives medians and the ratios.

    python bench/writes.py --articles 20000 --claims-per-article 2 --rounds 3

Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from etl import db  # noqa: E402
from etl.catalog import load_reference_data  # noqa: E402
from etl.extract.engine import ArticleResult, Claim, Mention  # noqa: E402
from etl.extract.store import store_results  # noqa: E402
from etl.ingest import poll as poll_module  # noqa: E402
from etl.ingest.entries import ArticleDraft, draft_from_entry  # noqa: E402
from etl.ingest.poll import (  # noqa: E402
    DueFeed,
    FeedOutcome,
    PollResult,
    store_polls_as_they_end,
    store_polls_with_news,
)
from etl.ingest.store import store_feeds, unseen_drafts  # noqa: E402
from etl.ledger.store import apply_claims  # noqa: E402
from etl.seeds import load_reference  # noqa: E402
from etl.settings import Settings  # noqa: E402
from models import Article, Feed  # noqa: E402
from models.enums import PollStatus, Stance  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "news_items_2023q4.jsonl"
ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
VERSION = "bench-writes"

ARTICLE_TABLES = {"articles": "id"}
CLAIM_TABLES = {"claims": "id", "mentions": "id", "article_extractions": "article_id"}
LEDGER_TABLES = {
    "positions": "id",
    "position_changes": "id",
    "position_support": "claim_id",
    "alerts": "id",
}
# values a synthetic claim may state, by the issue's value type (seeds/negotiations/*.yaml)
VALUES: dict[str, list[int | str]] = {
    "days": [4, 5, 6, 7, 42, 45, 60, 90, 135],
    "days_or_flag": [30, "yes"],
    "number": [3, 10, 30],
    "count_or_all": [10, 13, 50, 100, 150, 300, "all"],
    "count": [100, 200, 300, 500],
    "categories": ["children,women", "children,elderly,women", "civilians", "soldiers"],
    "flag": ["yes", "no"],
    "choice": ["full", "partial"],
}
STANCES = ["proposes", "demands", "accepts", "rejects"]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the database --------------------------------------------------------------------------------


@contextmanager
def bench_database(admin_url: str) -> Iterator[Engine]:
    """A fresh, migrated database of this run's own; dropped on the way out, whatever happened."""
    name = f"parley_bench_writes_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name)
    engine = create_engine(url, pool_size=2)
    try:
        log(f"database {name}: migrating")
        db.upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        log(f"database {name} dropped")


def truncate(engine: Engine, tables: dict[str, str]) -> None:
    """Empty the tables (and those referring to them) and checkpoint, so each timed run starts alike."""
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("CHECKPOINT"))


def dump(engine: Engine, tables: dict[str, str]) -> dict[str, tuple[str, bytes]]:
    """Every row of each table as COPY text, with the column list to load it back with."""
    dumped: dict[str, tuple[str, bytes]] = {}
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for table, order in tables.items():
            cursor.execute(
                "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute"
                " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''",
                (table,),
            )
            columns = str(cursor.fetchone()[0])  # type: ignore[index]
            out = io.BytesIO()
            cursor.copy_expert(f"COPY (SELECT {columns} FROM {table} ORDER BY {order}) TO STDOUT", out)
            dumped[table] = (columns, out.getvalue())
        raw.commit()
    finally:
        raw.close()
    return dumped


Dumped = dict[str, tuple[str, bytes]]


def copy_in(engine: Engine, dumped: Dumped) -> None:
    """Load the dumped rows with plain COPY, in one transaction."""
    copy_batches(engine, [dumped])


def copy_batches(engine: Engine, batches: list[Dumped]) -> None:
    """Load each batch of dumped rows with one COPY per table and a commit, on one connection."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for dumped in batches:
            for table, (columns, data) in dumped.items():
                if data:
                    cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", io.BytesIO(data))
            raw.commit()
    finally:
        raw.close()


def split_by_count(dumped: Dumped, table: str, counts: list[int]) -> list[Dumped]:
    """The table's dumped rows (in id order) cut into consecutive batches of ``counts`` rows."""
    columns, data = dumped[table]
    lines = data.splitlines(keepends=True)  # COPY text escapes newlines inside values
    assert sum(counts) == len(lines), (sum(counts), len(lines))
    batches: list[Dumped] = []
    start = 0
    for n in counts:
        batches.append({table: (columns, b"".join(lines[start : start + n]))})
        start += n
    return batches


def split_by_article(dumped: Dumped, batch_of: dict[int, int], batches: int) -> list[Dumped]:
    """Every table's dumped rows put in the batch of their ``article_id``, in the tables' order."""
    out: list[Dumped] = [{} for _ in range(batches)]
    for table, (columns, data) in dumped.items():
        position = [c.strip() for c in columns.split(",")].index("article_id")
        parts: list[list[bytes]] = [[] for _ in range(batches)]
        for line in data.splitlines(keepends=True):
            parts[batch_of[int(line.split(b"\t")[position])]].append(line)
        for number, lines in enumerate(parts):
            out[number][table] = (columns, b"".join(lines))
    return out


def count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


# --- the data ------------------------------------------------------------------------------------


def load_polls(path: Path, limit: int, batch: int) -> tuple[list[str], list[tuple[str, list[ArticleDraft]]]]:
    """The first ``limit`` corpus items as drafts, in polls of up to ``batch`` items of one feed each."""
    sources: list[str] = []
    pending: dict[str, list[ArticleDraft]] = {}
    polls: list[tuple[str, list[ArticleDraft]]] = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines):
            if number >= limit:
                break
            item = json.loads(line)
            when = item.get("date_published")
            entry = {
                "id": item.get("link"),
                "link": item.get("link"),
                "title": item.get("title") or "",
                "summary": item.get("description") or "",
                "published_parsed": datetime.fromisoformat(when).utctimetuple() if when else None,
                "source": item["source"],
            }
            draft = draft_from_entry(entry, (item.get("language") or "en")[:2])
            if draft is None:
                continue
            source = item["source"]
            if source not in pending:
                sources.append(source)
                pending[source] = []
            pending[source].append(draft)
            if len(pending[source]) == batch:
                polls.append((source, pending[source]))
                pending[source] = []
    polls.extend((source, drafts) for source, drafts in pending.items() if drafts)
    return sources, polls


def synthetic_results(
    engine: Engine, per_article: float, change_rate: float, seed: int
) -> tuple[list[int], list[ArticleResult]]:
    """Extraction results for every stored article: about ``per_article`` claims each, on random
    (negotiation, actor, issue) keys of the seeds whose stated value moves with probability
    ``change_rate`` per claim."""
    rng = random.Random(seed)
    reference = load_reference(ROOT / "seeds")
    value_types = {(n.key, i.key): i.value_type for n in reference.negotiations for i in n.issues}
    keys = [(negotiation, a.id, issue) for a in reference.actors for negotiation, issue in value_types]
    said: dict[tuple[str, str, str], tuple[int | str, str]] = {}
    ids: list[int] = []
    results: list[ArticleResult] = []
    # values move in publication order, the order the ledger applies them in
    published = func.coalesce(Article.published_at, Article.fetched_at)
    with Session(engine) as session:
        rows = session.execute(select(Article.id, Article.title).order_by(published, Article.id)).all()
    whole, fraction = int(per_article), per_article - int(per_article)
    for article_id, title in rows:
        n = whole + (rng.random() < fraction)
        claims: list[Claim] = []
        mentions: list[Mention] = []
        for key in rng.sample(keys, n):
            negotiation, actor, issue = key
            if key not in said or rng.random() < change_rate:
                said[key] = (rng.choice(VALUES[value_types[(negotiation, issue)]]), rng.choice(STANCES))
            value, stance = said[key]
            evidence = title or f"{actor} {stance} {issue} {value}"
            claims.append(
                Claim(negotiation, actor, issue, value, Stance(stance), evidence, 0, len(evidence), 0.8)
            )
            mentions.append(Mention(actor, 0, len(actor), actor))
        ids.append(article_id)
        results.append(ArticleResult(claims=claims, mentions=mentions))
    ordered = sorted(zip(ids, results, strict=True), key=lambda pair: pair[0])  # extraction goes by id
    return [i for i, _ in ordered], [r for _, r in ordered]


# --- the runs ------------------------------------------------------------------------------------


@dataclass
class Stage:
    name: str
    unit: str
    rows: int = 0
    product: list[float] = field(default_factory=list)
    copy: list[float] = field(default_factory=list)
    """COPY of every row in one transaction"""
    copy_batched: list[float] = field(default_factory=list)
    """COPY of the same rows in the product's transactions (empty when not measured)"""
    notes: list[str] = field(default_factory=list)


def alternate(
    stage: Stage,
    rounds: int,
    reset: Callable[[], None],
    product: Callable[[], object],
    copy: Callable[[], None],
    after_first: Callable[[], None],
    copy_batched: Callable[[], None] | None = None,
) -> None:
    """Product and COPY runs in turns, each on freshly truncated tables; the order rotates each round.

    The first run is a product run, and ``after_first`` dumps what it wrote for the COPY runs."""
    runs: list[tuple[str, Callable[[], None] | None, list[float]]] = [
        ("product", None, stage.product),
        ("COPY", copy, stage.copy),
    ]
    if copy_batched is not None:
        runs.append(("COPY per batch", copy_batched, stage.copy_batched))
    for number in range(rounds):
        shift = number % len(runs)  # round 1 starts with the product: the COPY runs need its rows
        for which, run, timings in runs[shift:] + runs[:shift]:
            reset()
            start = time.perf_counter()
            if run is None:
                product()
            else:
                run()
            seconds = time.perf_counter() - start
            timings.append(seconds)
            if run is None and len(timings) == 1:
                after_first()
            log(f"  {stage.name} round {number + 1}/{rounds} {which}: {seconds:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--admin-url", default=ADMIN_URL, help="where to create the bench database")
    parser.add_argument("--articles", type=int, default=20_000, help="corpus items to store")
    parser.add_argument("--batch", type=int, default=50, help="items per feed poll (feedreplay: 50)")
    parser.add_argument("--extract-batch", type=int, default=256, help="articles per store_results call")
    parser.add_argument("--claims-per-article", type=float, default=2.0)
    parser.add_argument("--change-rate", type=float, default=0.03, help="chance a claim states a new value")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each path per stage")
    parser.add_argument("--empty-runs", type=int, default=5, help="apply_claims runs with nothing pending")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    args.empty_timings = []
    if not args.corpus.exists():
        sys.exit(f"corpus not found: {args.corpus}")

    sources, polls = load_polls(args.corpus, args.articles, args.batch)
    drafts = sum(len(p) for _, p in polls)
    log(f"{drafts} drafts from {len(sources)} feeds in {len(polls)} polls")
    stages: list[Stage] = []
    with bench_database(args.admin_url) as engine:
        load_reference_data(engine, ROOT / "seeds")
        # a feed per poll: the polls of one tick, each feed polled once
        with Session(engine) as session, session.begin():
            feeds = [
                DueFeed(feed_id, url, None, None, 0, True)
                for number, (source, _) in enumerate(polls)
                for url in [f"{source}?poll={number}"]
                for feed_id in [
                    session.execute(
                        insert(Feed).values(url=url, title=source.split("/")[2]).returning(Feed.id)
                    ).scalar_one()
                ]
            ]
        stages.append(bench_articles(engine, polls, feeds, args.rounds, together=True))
        stages.append(bench_articles(engine, polls, feeds, args.rounds, together=False))
        stages.append(bench_claims(engine, args))
        stages.append(bench_ledger(engine, args))
    print_table(stages, args, drafts)


def bench_articles(
    engine: Engine,
    polls: list[tuple[str, list[ArticleDraft]]],
    feeds: list[DueFeed],
    rounds: int,
    *,
    together: bool,
) -> Stage:
    """The articles of every poll stored by the product: as a tick stores them (``together``: the
    polls that end while others are stored are stored together), or one poll per transaction (as
    when polls end one at a time)."""
    stage = Stage("articles" if together else "articles, a poll per transaction", "articles")
    settings = Settings(database_url=engine.url.render_as_string(hide_password=False), alert_rules=None)  # type: ignore[arg-type]
    drafts_of = {feed.id: drafts for feed, (_, drafts) in zip(feeds, polls, strict=True)}
    transactions: list[int] = []  # articles stored by each store_feeds call (one per transaction)
    polls_per_transaction: list[int] = []

    def poll(feed: DueFeed) -> PollResult:
        """What etl.ingest.poll.poll_feed hands over once the feed is fetched and parsed: the drafts not
        stored yet (``unseen_drafts``); fetching and parsing are not timed here (see bench/ingest_tick.py)."""
        started_at = datetime.now(UTC)
        drafts = drafts_of[feed.id]
        with Session(engine) as session:
            fresh = unseen_drafts(session, feed.id, drafts)
        outcome = FeedOutcome(feed.id, feed.url, PollStatus.OK, http_status=200, entries=len(drafts))
        return PollResult(feed, outcome, started_at, None, None, fresh)

    def counted(
        session: Session, batches: list[tuple[int, list[ArticleDraft]]], **options: Any
    ) -> dict[int, int]:
        stored = store_feeds(session, batches, **options)
        transactions.append(sum(stored.values()))
        polls_per_transaction.append(len(batches))
        return stored

    def product() -> None:
        transactions.clear()
        polls_per_transaction.clear()
        if together:
            with ThreadPoolExecutor(settings.ingest_workers, thread_name_prefix="poll") as pool:
                running = {pool.submit(poll, feed) for feed in feeds}
                outcomes = store_polls_as_they_end(engine, settings, running)
        else:
            outcomes = []
            for feed in feeds:
                polled = poll(feed)
                if polled.fresh:
                    store_polls_with_news(engine, settings, [polled])
                outcomes.append(polled.outcome)
        assert all(o.status == "ok" for o in outcomes), [o.error for o in outcomes if o.status != "ok"]

    dumped: Dumped = {}
    per_transaction: list[Dumped] = []

    def keep() -> None:
        dumped.update(dump(engine, ARTICLE_TABLES))
        stage.rows = count(engine, "articles")
        # a transaction's rows are consecutive ids (the store lock): cut the dump by what each stored
        per_transaction.extend(split_by_count(dumped, "articles", [n for n in transactions if n]))

    def reset() -> None:
        truncate(engine, ARTICLE_TABLES)
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE feed_fetches"))
            # the polls were read from feeds never polled: a poll is recorded only while its feed's
            # last recorded poll is the one it saw (etl.ingest.records.lock_unrecorded)
            conn.execute(text("UPDATE feeds SET last_polled_at = NULL"))

    with patched(poll_module, "store_feeds", counted):
        alternate(
            stage,
            rounds,
            reset,
            product,
            lambda: copy_in(engine, dumped),
            keep,
            lambda: copy_batches(engine, per_transaction),
        )
    assert count(engine, "articles") == stage.rows
    workers = f", {settings.ingest_workers} at a time" if together else ", one at a time"
    stage.notes.append(
        f"{len(feeds)} polls{workers}, stored in {len(per_transaction)} transactions (last product run: "
        f"{statistics.mean(polls_per_transaction):.1f} polls and {statistics.mean(transactions):.0f} "
        f"articles each, at most {max(polls_per_transaction)} polls); the product also writes each "
        "poll's record (a feed_fetches row, the feed's state), which COPY does not"
    )
    return stage


@contextmanager
def patched(module: Any, name: str, replacement: Any) -> Iterator[None]:
    original = getattr(module, name)
    setattr(module, name, replacement)
    try:
        yield
    finally:
        setattr(module, name, original)


def bench_claims(engine: Engine, args: argparse.Namespace) -> Stage:
    stage = Stage("claims", "claims")
    ids, results = synthetic_results(engine, args.claims_per_article, args.change_rate, args.seed)
    batches = [
        (ids[i : i + args.extract_batch], results[i : i + args.extract_batch])
        for i in range(0, len(ids), args.extract_batch)
    ]

    def product() -> float:
        start = time.perf_counter()
        for batch_ids, batch_results in batches:
            with Session(engine) as session, session.begin():
                store_results(session, batch_ids, batch_results, VERSION)
        return time.perf_counter() - start

    dumped: Dumped = {}
    per_batch: list[Dumped] = []
    batch_of = {
        article_id: number for number, (batch_ids, _) in enumerate(batches) for article_id in batch_ids
    }

    def keep() -> None:
        dumped.update(dump(engine, CLAIM_TABLES))
        stage.rows = count(engine, "claims")
        per_batch.extend(split_by_article(dumped, batch_of, len(batches)))

    def reset() -> None:
        truncate(engine, CLAIM_TABLES)

    log(f"claims: {len(ids)} articles' results in {len(batches)} batches")
    alternate(
        stage,
        args.rounds,
        reset,
        product,
        lambda: copy_in(engine, dumped),
        keep,
        lambda: copy_batches(engine, per_batch),
    )
    stage.notes.append(
        f"{count(engine, 'mentions')} mentions and {count(engine, 'article_extractions')} processed marks "
        "are written (and COPYed) too"
    )
    return stage


def bench_ledger(engine: Engine, args: argparse.Namespace) -> Stage:
    settings = Settings(database_url=engine.url.render_as_string(hide_password=False), alert_rules=None)  # type: ignore[arg-type]
    stage = Stage("ledger", "claims")
    summaries: list[str] = []
    empty = args.empty_timings

    def product() -> float:
        start = time.perf_counter()
        summary = apply_claims(engine, settings, ["console://"], version=VERSION)
        seconds = time.perf_counter() - start
        summaries.append(summary.line())
        return seconds

    dumped: dict[str, tuple[str, bytes]] = {}

    def keep() -> None:
        dumped.update(dump(engine, LEDGER_TABLES))
        stage.rows = count(engine, "position_support")

    def reset() -> None:
        # apply_claims also marks the claims it applied (claims.in_ledger): every run starts from none
        with engine.begin() as conn:
            conn.execute(text("UPDATE claims SET in_ledger = false WHERE in_ledger"))
        truncate(engine, LEDGER_TABLES)

    log(f"ledger: apply_claims over {count(engine, 'claims')} claims")
    alternate(stage, args.rounds, reset, product, lambda: copy_in(engine, dumped), keep)
    stage.notes.append(f"one run: {summaries[0]}")

    # every claim is applied now (by the last run, product or COPY: the marks are what a product run
    # leaves): the cost of a run with nothing to do
    with engine.begin() as conn:
        conn.execute(text("UPDATE claims SET in_ledger = true WHERE NOT in_ledger"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    for number in range(args.empty_runs):
        empty.append(product())
        log(f"  empty run {number + 1}/{args.empty_runs}: {empty[-1] * 1000:.1f} ms")
    return stage


def print_table(stages: list[Stage], args: argparse.Namespace, drafts: int) -> None:
    width = max(len(stage.name) for stage in stages)
    print(
        f"{args.articles} corpus items ({drafts} drafts), polls of {args.batch}, "
        f"{args.claims_per_article} claims per article, store_results batches of {args.extract_batch}, "
        f"{args.rounds} rounds; medians. COPY: one transaction; per batch: in the product's transactions"
    )
    print(
        f"{'stage':<{width}} {'unit':<8} {'rows':>7} {'product s':>9} {'rows/s':>7}"
        f" {'COPY s':>7} {'rows/s':>7} {'ratio':>5} {'per batch s':>11} {'rows/s':>7} {'ratio':>5}"
    )
    for stage in stages:
        product, copy = statistics.median(stage.product), statistics.median(stage.copy)
        line = (
            f"{stage.name:<{width}} {stage.unit:<8} {stage.rows:>7} {product:>9.2f}"
            f" {stage.rows / product:>7.0f}"
            f" {copy:>7.2f} {stage.rows / copy:>7.0f} {product / copy:>5.2f}"
        )
        if stage.copy_batched:
            batched = statistics.median(stage.copy_batched)
            line += f" {batched:>11.2f} {stage.rows / batched:>7.0f} {product / batched:>5.2f}"
        print(line)
    empty = args.empty_timings
    print(
        f"apply_claims with nothing pending ({stages[-1].rows} claims applied): median "
        f"{statistics.median(empty) * 1000:.1f} ms ({min(empty) * 1000:.1f}–{max(empty) * 1000:.1f}) "
        f"over {len(empty)} runs"
    )
    for stage in stages:
        spread = f"product {min(stage.product):.2f}–{max(stage.product):.2f} s"
        spread += f", COPY {min(stage.copy):.2f}–{max(stage.copy):.2f} s"
        if stage.copy_batched:
            spread += f", per batch {min(stage.copy_batched):.2f}–{max(stage.copy_batched):.2f} s"
        print(f"  {stage.name}: {spread}; " + "; ".join(stage.notes))


if __name__ == "__main__":
    main()
