"""Benchmark: one ingest tick over every replayed feed (the first fetch, then the tick where every
feed answers 304), against bare conditional GETs over the same network, in one run.

Serves ``../shared/corpus/news_items_2023q4.jsonl`` with ``../shared/tools/feedreplay.py`` on a free
loopback port at a fixed virtual clock, creates a PostgreSQL database of its own (dropped at the end,
also on error), migrates it, registers the replay's feeds with :func:`etl.catalog.add_feeds`, and
times the product's own :func:`etl.ingest.poll.ingest` (engine from :func:`etl.db.get_engine`, settings
from the ``PARLEY_*`` environment with ``PARLEY_ALLOWED_HOSTS=127.0.0.1``):

* tick 1, the first fetch, with article pages fetched (``PARLEY_FETCH_ARTICLES=true``, the default)
  and without (``false``), each on emptied tables, ``--first-repeat`` times per mode in turns (the
  median), then once more instrumented: feeds, items seen, articles stored, feeds/s, items/s, and
  the time and CPU of each part (HTTP, feedparser, trafilatura, database);
* tick 2, every feed due again and answering 304, taking turns ``--repeat`` times with the baseline:
  the same conditional GETs (same URLs and validators, same concurrency) from a bare ``httpx.Client``;
  medians, the ratio tick 2 / bare, and where tick 2's time goes (an extra instrumented run per turn).

Progress goes to stderr, the table to stdout. Once-per-process costs (trafilatura's import, the TLS
context) are paid before the clock starts.

    python bench/ingest_tick.py                 # tick 1 three times per mode, tick 2 fifteen turns
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import create_engine, event, text  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402

from etl import db  # noqa: E402
from etl.catalog import add_feeds  # noqa: E402
from etl.ingest import fetch as fetch_module  # noqa: E402
from etl.ingest import pages as pages_module  # noqa: E402
from etl.ingest import poll as poll_module  # noqa: E402
from etl.ingest.fetch import PAGE_ACCEPT, Fetcher, FetchPolicy  # noqa: E402
from etl.ingest.poll import IngestSummary, ingest  # noqa: E402
from etl.seeds import FeedSeed  # noqa: E402
from etl.settings import ConfigError, Settings, load_settings  # noqa: E402
from etl.text import extract_main_text  # noqa: E402
from models.enums import PollStatus  # noqa: E402

SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus" / "news_items_2023q4.jsonl"
REPLAY_TOOL = SHARED / "tools" / "feedreplay.py"
ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the replay server and the database -----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Replay:
    base: str
    pid: int


@contextmanager
def replay_server(port: int, now: str, items: int, split: int = 1) -> Iterator[Replay]:
    """feedreplay on 127.0.0.1:port, started as the tests start it (``split``: each source served as
    that many feeds)."""
    command = [sys.executable, str(REPLAY_TOOL), str(CORPUS), "--port", str(port), "--now", now]
    process = subprocess.Popen(
        [*command, "--items", str(items), "--split", str(split)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                get_text(base + "/clock")
                break
            except OSError:
                if process.poll() is not None:
                    code = process.returncode
                    raise SystemExit(f"feedreplay exited with {code} (port {port} taken?)") from None
                if time.monotonic() > deadline:
                    raise SystemExit("feedreplay did not start within 120 s") from None
                time.sleep(0.2)
        yield Replay(base=base, pid=process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def get_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return bytes(response.read()).decode()


@contextmanager
def fresh_database(admin_url: str, keep: bool) -> Iterator[str]:
    """A new, empty database on the admin URL's server; dropped on the way out unless ``keep``."""
    name = f"parley_bench_ingest_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        raise SystemExit(f"cannot create a database at {admin_url}: {str(exc).splitlines()[0]}") from None
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        if keep:
            say(f"kept database {name}")
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            say(f"dropped database {name}")
        admin.dispose()


def empty_tables(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE feeds, feed_fetches, articles RESTART IDENTITY CASCADE"))


def make_validated_feeds_due(engine: Engine) -> int:
    """Every feed that holds a validator (so will be answered 304) becomes due now; the others
    (fault feeds, backed off) stay where they are. Returns how many are due."""
    with engine.begin() as conn:
        return conn.execute(
            text(
                "UPDATE feeds SET next_poll_at = now() - interval '1 minute' "
                "WHERE etag IS NOT NULL OR last_modified IS NOT NULL"
            )
        ).rowcount


def validators(engine: Engine) -> list[tuple[str, str | None, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT url, etag, last_modified FROM feeds "
                "WHERE etag IS NOT NULL OR last_modified IS NOT NULL ORDER BY id"
            )
        ).all()
    return [(url, etag, modified) for url, etag, modified in rows]


# --- tick 1 ---------------------------------------------------------------------------------------


@dataclass
class FirstTick:
    mode: str
    feeds: int
    failed: int
    items: int
    stored: int
    from_pages: int
    seconds: float
    breakdown: Breakdown | None = None


def first_tick(
    engine: Engine, settings: Settings, mode: str, feeds: list[FeedSeed], server_pid: int | None = None
) -> FirstTick:
    """Tick 1 on emptied tables; instrumented (and then not counted in the medians) with a server pid."""
    empty_tables(engine)
    add_feeds(engine, feeds)
    breakdown = None
    if server_pid is None:
        started = time.perf_counter()
        summary = ingest(engine, settings)
        seconds = time.perf_counter() - started
    else:
        breakdown, summary = instrumented_run(engine, server_pid, lambda: ingest(engine, settings))
        seconds = breakdown.wall
    with engine.connect() as conn:
        from_pages = conn.scalar(text("SELECT count(*) FROM articles WHERE text_source = 'page'")) or 0
    return FirstTick(
        mode=mode,
        feeds=len(summary.outcomes),
        failed=summary.count(PollStatus.FAILED),
        items=sum(o.entries for o in summary.outcomes),
        stored=summary.new_articles,
        from_pages=int(from_pages),
        seconds=seconds,
        breakdown=breakdown,
    )


# --- tick 2 and its baseline ----------------------------------------------------------------------


def all_304_tick(engine: Engine, settings: Settings, expected: int) -> float:
    make_validated_feeds_due(engine)
    started = time.perf_counter()
    summary = ingest(engine, settings)
    seconds = time.perf_counter() - started
    check_all_not_modified(summary, expected)
    return seconds


def check_all_not_modified(summary: IngestSummary, expected: int) -> None:
    answered = summary.count(PollStatus.NOT_MODIFIED)
    if len(summary.outcomes) != expected or answered != expected:
        raise SystemExit(
            f"tick 2 was not all-304: {expected} feeds expected, {summary.line()}; "
            "is another process moving the replay's clock?"
        )


def bare_round_trips(
    targets: list[tuple[str, str | None, str | None]], workers: int, user_agent: str
) -> tuple[float, float, list[tuple[float, float]]]:
    """The same conditional GETs from a bare httpx client, ``workers`` at a time. A new client each
    run, so it opens its connections as the tick's new Fetcher does; built before the clock starts
    (its TLS context is set-up, not network)."""
    client = httpx.Client(headers={"User-Agent": user_agent}, trust_env=False, follow_redirects=False)
    each: list[tuple[float, float]] = []

    def one(target: tuple[str, str | None, str | None]) -> int:
        url, etag, modified = target
        headers = {"Accept-Encoding": "gzip, deflate"}
        if etag:
            headers["If-None-Match"] = etag
        if modified:
            headers["If-Modified-Since"] = modified
        started, cpu = time.perf_counter(), time.thread_time()
        status = client.get(url, headers=headers).status_code
        each.append((time.perf_counter() - started, time.thread_time() - cpu))
        return status

    try:
        started, cpu = time.perf_counter(), time.process_time()
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bare") as pool:
            statuses = list(pool.map(one, targets))
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        client.close()
    if any(status != 304 for status in statuses):
        raise SystemExit(f"baseline was not all-304: {sorted(set(statuses))}")
    return seconds, cpu, each


# --- where the time goes -------------------------------------------------------------------------


@dataclass
class Breakdown:
    """One instrumented tick: seconds per part, summed over the threads that ran it, elapsed and on
    the CPU (``time.thread_time``: elapsed but not CPU is waiting, for the network, the database or
    the GIL); the span from the first poll's start to the last one's end; statements and commits
    sent; CPU seconds used by this process and by the replay server."""

    wall: float = 0.0
    parts: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    parts_cpu: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    polls: list[tuple[float, float]] = field(default_factory=list)
    statements: int = 0
    commits: int = 0
    cpu: float = 0.0
    server_cpu: float | None = None

    @property
    def polling(self) -> float:
        return max(end for _, end in self.polls) - min(start for start, _ in self.polls)


DUE, CLIENT, RECORD, POLL = "select due", "build client", "record polls", "poll"
FEED_GET, PAGE_GET, PARSE, UNSEEN = "feed GET", "page GET", "parse", "unseen"
PAGES, MAIN_TEXT, STORE = "pages", "main text", "store"

# The product's ingest path, timed part by part: (owner, attribute, part). Names a version lacks are
# skipped, so the same script measures the code before and after a change to it.
TIMED_PARTS: tuple[tuple[Any, str, str], ...] = (
    (poll_module, "due_feeds", DUE),
    (fetch_module.Fetcher, "__init__", CLIENT),
    (poll_module, "record_polls_without_news", RECORD),
    (poll_module, "poll_feed", POLL),  # the function the pool runs per feed
    (fetch_module.Fetcher, "get", FEED_GET),  # PAGE_GET when it asks for HTML
    (poll_module, "parse_feed", PARSE),
    (poll_module, "unseen_drafts", UNSEEN),
    (poll_module, "fill_from_page", PAGES),
    (pages_module, "extract_main_text", MAIN_TEXT),
    (poll_module, "store_polls_with_news", STORE),  # the main thread stores the polls that ended
)


@contextmanager
def instrumented(engine: Engine, into: Breakdown, server_pid: int) -> Iterator[None]:
    """Wrap the product's functions with timers for one tick, then put them back."""
    lock = threading.Lock()
    originals: list[tuple[Any, str, Any]] = []
    for owner, name, part in TIMED_PARTS:
        if hasattr(owner, name):
            original = getattr(owner, name)
            originals.append((owner, name, original))
            setattr(owner, name, _timer(original, part, into, lock))

    def statement(*_args: Any) -> None:
        with lock:
            into.statements += 1

    def commit(*_args: Any) -> None:
        with lock:
            into.commits += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    cpu, server_cpu = time.process_time(), process_cpu(server_pid)
    try:
        yield
    finally:
        into.cpu = time.process_time() - cpu
        server_after = process_cpu(server_pid)
        if server_cpu is not None and server_after is not None:
            into.server_cpu = server_after - server_cpu
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)
        for owner, name, original in reversed(originals):
            setattr(owner, name, original)


def _timer(
    original: Callable[..., Any], part: str, into: Breakdown, lock: threading.Lock
) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            ended, cpu = time.perf_counter(), time.thread_time() - cpu
            label = PAGE_GET if part == FEED_GET and kwargs.get("accept") == PAGE_ACCEPT else part
            with lock:
                into.parts[label] += ended - started
                into.parts_cpu[label] += cpu
                if part == POLL:
                    into.polls.append((started, ended))

    return wrapper


def process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) a process has used so far; None where /proc is absent."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def instrumented_run(
    engine: Engine, server_pid: int, tick: Callable[[], IngestSummary]
) -> tuple[Breakdown, IngestSummary]:
    breakdown = Breakdown()
    with instrumented(engine, breakdown, server_pid):
        started = time.perf_counter()
        summary = tick()
        breakdown.wall = time.perf_counter() - started
    return breakdown, summary


# --- the run --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=None, help="replay port (default: a free one)")
    parser.add_argument("--now", default="2023-11-20T00:00:00Z", help="the replay's virtual clock")
    parser.add_argument("--items", type=int, default=50, help="items per replayed feed")
    parser.add_argument("--repeat", type=int, default=15, help="tick-2 / baseline turns (medians)")
    parser.add_argument("--first-repeat", type=int, default=3, help="tick-1 runs per mode (median)")
    parser.add_argument("--database-url", default=ADMIN_URL, help="admin URL of the PostgreSQL server")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the benchmark database")
    parser.add_argument(
        "--faults",
        action="store_true",
        help="register the replay's fault feeds too (tick 1 then waits out the 'slow' one)",
    )
    parser.add_argument(
        "--modes",
        default="pages,feed-only",
        help="tick-1 modes, comma-separated: pages (PARLEY_FETCH_ARTICLES=true), feed-only (false)",
    )
    args = parser.parse_args()
    for needed in (CORPUS, REPLAY_TOOL):
        if not needed.exists():
            sys.exit(f"needs {needed} (the team's shared material beside the repository)")
    modes = list(dict.fromkeys(m.strip() for m in args.modes.split(",") if m.strip()))
    if not modes or set(modes) - {"pages", "feed-only"}:
        sys.exit(f"--modes: pages and/or feed-only, not {args.modes!r}")
    if args.repeat < 1 or args.first_repeat < 1:
        sys.exit("--repeat and --first-repeat must be at least 1")

    port = args.port or free_port()
    with (
        replay_server(port, args.now, args.items) as replay,
        fresh_database(args.database_url, args.keep_db) as url,
    ):
        good = get_text(replay.base + "/feeds.txt").split()
        faults = [
            line.split()[0] for line in get_text(replay.base + "/faults.txt").splitlines() if line.strip()
        ]
        feeds = [FeedSeed(url=u, tags=["replay"]) for u in good]
        if args.faults:
            feeds += [FeedSeed(url=u, tags=["fault"]) for u in faults]
        faulty = f"{len(faults)} fault feeds {'in' if args.faults else 'left out'}"
        say(f"replay {replay.base}: {len(good)} feeds, {faulty}")

        # the product's settings, from the environment as for `parley ingest`, with loopback allowed
        os.environ.update(PARLEY_DATABASE_URL=url, PARLEY_ALLOWED_HOSTS="127.0.0.1")
        try:
            settings = load_settings()
            engine = db.get_engine(settings)
        except (ConfigError, db.DatabaseUnavailable) as exc:
            raise SystemExit(str(exc)) from None
        try:
            db.upgrade(engine)
            results = run(engine, settings, replay.pid, feeds, modes, args.first_repeat, args.repeat)
        finally:
            engine.dispose()
    report(results, settings, args, len(good))


@dataclass
class Results:
    first: list[FirstTick] = field(default_factory=list)
    first_breakdowns: dict[str, Breakdown] = field(default_factory=dict)
    due: int = 0
    ticks: list[float] = field(default_factory=list)
    bares: list[float] = field(default_factory=list)
    bare_each: list[tuple[float, float]] = field(default_factory=list)
    """elapsed and CPU seconds of each bare GET"""
    bare_cpu: list[float] = field(default_factory=list)
    breakdowns: list[Breakdown] = field(default_factory=list)


def warm_up(settings: Settings) -> None:
    """Once-per-process costs are not throughput: trafilatura's import (~0.2-0.5 s, on the first
    article page) and, since it is cached, the TLS context of the first Fetcher."""
    extract_main_text("<html><body><article><p>A warm-up paragraph.</p></article></body></html>")
    Fetcher(FetchPolicy.from_settings(settings)).close()


def run(
    engine: Engine,
    settings: Settings,
    server_pid: int,
    feeds: list[FeedSeed],
    modes: list[str],
    first_repeat: int,
    repeat: int,
) -> Results:
    warm_up(settings)
    results = Results()
    for turn in range(first_repeat + 1):
        for mode in modes if turn % 2 == 0 else modes[::-1]:
            # the last turn is instrumented: where the time goes, kept out of the medians
            last = turn == first_repeat
            mode_settings = settings.with_changes(fetch_articles=(mode == "pages"))
            say(f"tick 1 ({mode}, {'instrumented' if last else f'{turn + 1}/{first_repeat}'}) ...")
            done = first_tick(engine, mode_settings, mode, feeds, server_pid if last else None)
            say(f"  {done.seconds:.2f} s: {done.items} items, {done.stored} stored, {done.failed} failed")
            if done.breakdown is not None:
                results.first_breakdowns[mode] = done.breakdown
            else:
                results.first.append(done)

    results.due = due = make_validated_feeds_due(engine)
    if due == 0:
        raise SystemExit("no feed holds a validator after tick 1: nothing would answer 304")
    # one untimed turn of each: first-call costs (the server's 304 path, SQL compilation) are not ticks
    all_304_tick(engine, settings, due)
    bare_round_trips(validators(engine), settings.ingest_workers, settings.user_agent)

    def tick() -> None:
        results.ticks.append(all_304_tick(engine, settings, due))

    def bare() -> None:
        seconds, cpu, each = bare_round_trips(
            validators(engine), settings.ingest_workers, settings.user_agent
        )
        results.bares.append(seconds)
        results.bare_cpu.append(cpu)
        results.bare_each.extend(each)

    for turn in range(repeat):
        # take turns, first one then the other going first, so that load from anything else on this
        # shared machine slows both alike; the instrumented tick is extra and stays out of the ratio
        for step in (tick, bare) if turn % 2 == 0 else (bare, tick):
            step()
        make_validated_feeds_due(engine)
        breakdown, summary = instrumented_run(engine, server_pid, lambda: ingest(engine, settings))
        check_all_not_modified(summary, due)
        results.breakdowns.append(breakdown)
        say(
            f"turn {turn + 1}/{repeat}: tick 2 {results.ticks[-1] * 1000:.1f} ms, "
            f"bare {results.bares[-1] * 1000:.1f} ms, ratio {results.ticks[-1] / results.bares[-1]:.2f}"
        )
    return results


def report(results: Results, settings: Settings, args: argparse.Namespace, good: int) -> None:
    print(
        f"feedreplay: {good} feeds{' + the fault feeds' if args.faults else ''}, {args.items} items each, "
        f"clock {args.now}; PARLEY_INGEST_WORKERS={settings.ingest_workers}, "
        f"PARLEY_PAGE_WORKERS={settings.page_workers}; {os.cpu_count()} cores"
    )
    print()
    report_first(results, args)
    print()
    report_second(results, settings, args)


def report_first(results: Results, args: argparse.Namespace) -> None:
    print(f"tick 1: first fetch, empty tables; median of {args.first_repeat} per mode")
    header = (
        "mode",
        "feeds",
        "failed",
        "items",
        "stored",
        "pages",
        "seconds",
        "range s",
        "feeds/s",
        "items/s",
    )
    print("{:<34} {:>5} {:>6} {:>6} {:>6} {:>6} {:>8} {:>11} {:>8} {:>8}".format(*header))
    modes = list(dict.fromkeys(r.mode for r in results.first))
    for mode in modes:
        runs = [r for r in results.first if r.mode == mode]
        r, seconds = runs[0], median([x.seconds for x in runs])
        if any((x.feeds, x.items, x.stored) != (r.feeds, r.items, r.stored) for x in runs):
            say(f"warning: the {mode} runs of tick 1 did not all see and store the same items")
        label = f"{mode} (FETCH_ARTICLES={'true' if mode == 'pages' else 'false'})"
        span = f"{min(x.seconds for x in runs):.2f}–{max(x.seconds for x in runs):.2f}"
        print(
            f"{label:<34} {r.feeds:>5} {r.failed:>6} {r.items:>6} {r.stored:>6} {r.from_pages:>6} "
            f"{seconds:>8.2f} {span:>11} {r.feeds / seconds:>8.1f} {r.items / seconds:>8.0f}"
        )
    print()
    print("tick 1, where the time goes: one more, instrumented run per mode. Seconds summed over the threads")
    print("that ran each part (4 feed threads, each with up to 4 page threads: sums exceed the wall time);")
    print("'CPU' is the same threads' CPU time: elapsed but not CPU is waiting (network, database, GIL)")
    b = results.first_breakdowns
    print(f"{'part':<52}" + "".join(f" {mode + ' s':>10} {'CPU':>6}" for mode in modes))
    rows: list[tuple[str, tuple[str, ...]]] = [
        ("feed polls, summed over the feed threads", (POLL,)),
        ("  GET the feed (etl.ingest.fetch)", (FEED_GET,)),
        ("  parse it (feedparser, in parse_feed)", (PARSE,)),
        ("  select the unseen items (unseen_drafts)", (UNSEEN,)),
        ("  article pages, summed over the page threads", (PAGES,)),
        ("    GET the page (etl.ingest.fetch)", (PAGE_GET,)),
        ("    main text (trafilatura, in extract_main_text)", (MAIN_TEXT,)),
        ("store articles with their polls' records", (STORE,)),
        ("record the polls that stored nothing", (RECORD,)),
    ]
    for label, parts in rows:
        cells = ""
        for mode in modes:
            x = b.get(mode)
            if x is None:
                cells += f" {'-':>10} {'-':>6}"
            else:
                spent, cpu = sum(x.parts[p] for p in parts), sum(x.parts_cpu[p] for p in parts)
                cells += f" {spent:>10.2f} {cpu:>6.2f}"
        print(f"{label:<52}{cells}")
    for label, value in (
        ("wall, and this process's CPU (all its threads)", lambda x: (x.wall, x.cpu)),
        ("the replay server's CPU", lambda x: (None, x.server_cpu)),
    ):
        cells = ""
        for mode in modes:
            x = b.get(mode)
            first, second = value(x) if x is not None else (None, None)
            cells += f" {figure(first, ''):>10} {figure(second, '-'):>6}"
        print(f"{label:<52}{cells}")


def report_second(results: Results, settings: Settings, args: argparse.Namespace) -> None:
    n = results.due
    tick, bare = median(results.ticks), median(results.bares)
    ratios = [t / b for t, b in zip(results.ticks, results.bares, strict=True)]
    print(f"tick 2: all {n} feeds answer 304, {settings.ingest_workers} at a time; median of {args.repeat}")
    print(f"{'run':<34} {'ms':>8} {'range ms':>12} {'feeds/s':>8}")
    for label, seconds, values in (
        ("parley ingest (the all-304 tick)", tick, results.ticks),
        ("bare httpx, same conditional GETs", bare, results.bares),
    ):
        print(f"{label:<34} {seconds * 1000:>8.1f} {spread(values):>12} {n / seconds:>8.0f}")
    print(
        f"ratio tick 2 / bare round trips, median of the turns' ratios: {median(ratios):.2f} "
        f"({min(ratios):.2f}–{max(ratios):.2f}; ratio of the medians {tick / bare:.2f}); "
        f"one bare GET: {median([e for e, _ in results.bare_each]) * 1000:.2f} ms"
    )
    print()

    b = results.breakdowns
    wall = ms(x.wall for x in b)
    print(f"tick 2, where the time goes: median of {len(b)} more, instrumented ticks (wall {wall} ms);")
    print("per feed: means. Elapsed but not CPU is waiting (network, database, GIL)")
    print(f"{'part':<62} {'elapsed ms':>10} {'CPU ms':>8}")
    polls, workers = n * len(b), settings.ingest_workers

    def per_feed(part: str, table: str = "parts") -> float:
        return sum(getattr(x, table)[part] for x in b) / polls

    serial = (DUE, CLIENT, RECORD)
    bare_get = statistics.mean(e for e, _ in results.bare_each)
    bare_get_cpu = statistics.mean(c for _, c in results.bare_each)
    rows: list[tuple[str, str, str]] = [
        (
            "per tick, main thread: select the due feeds",
            ms(x.parts[DUE] for x in b),
            ms(x.parts_cpu[DUE] for x in b),
        ),
        ("per tick, main thread: build the HTTP client", ms(x.parts[CLIENT] for x in b), ""),
        (f"per tick: polling, {workers} threads (first start to last end)", ms(x.polling for x in b), ""),
        ("per feed: its poll", f"{per_feed(POLL) * 1000:.2f}", f"{per_feed(POLL, 'parts_cpu') * 1000:.2f}"),
        (
            "per feed:   of which the HTTP GET (etl.ingest.fetch.Fetcher.get)",
            f"{per_feed(FEED_GET) * 1000:.2f}",
            f"{per_feed(FEED_GET, 'parts_cpu') * 1000:.2f}",
        ),
        (
            "per feed, bare baseline: the GET (httpx.Client.get)",
            f"{bare_get * 1000:.2f}",
            f"{bare_get_cpu * 1000:.2f}",
        ),
        (
            "per tick, main thread: record the polls (one transaction)",
            ms(x.parts[RECORD] for x in b),
            ms(x.parts_cpu[RECORD] for x in b),
        ),
        (
            "per tick: the rest (thread pool, summary)",
            ms(x.wall - x.polling - sum(x.parts[part] for part in serial) for x in b),
            "",
        ),
        ("per tick: CPU of this process, all threads", "", ms(x.cpu for x in b)),
        ("per tick, bare baseline: CPU of the process", "", ms(results.bare_cpu)),
        ("per tick: CPU of the replay server", "", ms(x.server_cpu or 0.0 for x in b)),
    ]
    for label, elapsed, cpu in rows:
        print(f"{label:<62} {elapsed:>10} {cpu:>8}")
    statements = median([float(x.statements) for x in b])
    commits = median([float(x.commits) for x in b])
    print(f"SQL per tick: {statements:.0f} statements, {commits:.0f} COMMIT{'' if commits == 1 else 's'}")


def figure(value: float | None, missing: str) -> str:
    return missing if value is None else f"{value:.2f}"


def median(values: list[float]) -> float:
    return statistics.median(values)


def ms(values: Iterable[float]) -> str:
    return f"{statistics.median(list(values)) * 1000:.2f}"


def spread(values: list[float]) -> str:
    return f"{min(values) * 1000:.0f}–{max(values) * 1000:.0f}"


if __name__ == "__main__":
    main()
