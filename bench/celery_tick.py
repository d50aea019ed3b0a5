"""Benchmark: the hourly ingest tick over 1,024 replayed feeds, three ways in one run: ``parley ingest``
alone, the ``parley_ingest`` DAG on Airflow's LocalExecutor, and the same DAG on the CeleryExecutor
with two workers.

Serves ``../shared/corpus/news_items_2023q4.jsonl`` with ``../shared/tools/feedreplay.py --split 32``
(the 32 sources as 1,024 feeds) at a fixed virtual clock, on a free loopback port, and creates a
parley database of its own (migrated with Alembic, dropped at the end). For each way, on emptied
tables with the 1,024 feeds registered:

* **tick 1**, the first fetch: every feed due, every item new (pages fetched, as by default);
* **tick 2**, the all-304 tick: every feed due again (``next_poll_at`` moved back), each answering
  304 to its conditional GET, ``--repeat`` times.

``parley ingest`` is the command itself, one process (``PARLEY_INGEST_WORKERS`` threads). The Airflow
ways run api-server, dag-processor and scheduler as processes (the helpers of
``tests/dags/test_scheduler.py``), with a metadata database of their own; ``parley_extract`` and
``parley_alerts`` stay paused, so that only ingestion is measured. Tick 1 is the hourly run that
unpausing ``parley_ingest`` starts, tick 2 a run triggered by hand. Their figure is the DAG run's span
(``dag_run.start_date`` to ``end_date``: planning, 52 mapped batches of 20 feeds, at most 8 at a time,
feed health), and beside it the batches' summed task time (worker-seconds) and what the scheduler adds
around them. Celery: Redis on 127.0.0.1:6379 as the broker (a free database of its 16), PostgreSQL as
the result backend, two ``airflow celery worker`` processes of ``--concurrency`` 4 each; the
LocalExecutor gets the same 8 slots (``[core] parallelism``).

    .venv/bin/python bench/celery_tick.py                 # tick 2 twice per way
    .venv/bin/python bench/celery_tick.py --ways cli,local --repeat 1

Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest_tick import (  # noqa: E402
    CORPUS,
    REPLAY_TOOL,
    free_port,
    fresh_database,
    get_text,
    make_validated_feeds_due,
    replay_server,
    say,
)
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402

from etl import db  # noqa: E402
from etl.catalog import add_feeds  # noqa: E402
from etl.seeds import FeedSeed  # noqa: E402
from etl.stages import FEEDS_PER_BATCH  # noqa: E402

WAYS = ("cli", "local", "celery")
LABELS = {
    "cli": "parley ingest (one process)",
    "local": "Airflow, LocalExecutor",
    "celery": "Airflow, Celery, 2 workers",
}
SLOTS = 8  # task slots of the Airflow ways: Celery 2 workers x 4, LocalExecutor parallelism 8
ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


@dataclass
class Tick:
    seconds: float
    feeds: int
    statuses: dict[str, int]
    new_articles: int
    task_seconds: float | None = None
    """the ingest batches' summed run time (Airflow ways)"""
    batches: int | None = None


@dataclass
class Way:
    name: str
    first: Tick | None = None
    second: list[Tick] = field(default_factory=list)


# --- the parley database ----------------------------------------------------------------------------


def reset_feeds(engine: Engine, urls: list[str]) -> None:
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE feeds, feed_fetches, articles RESTART IDENTITY CASCADE"))
    add_feeds(engine, [FeedSeed(url=url, tags=["replay"]) for url in urls])


def polls_since(engine: Engine, since_id: int) -> tuple[int, dict[str, int], int]:
    """Feeds polled, polls per status and new articles recorded after feed_fetches row ``since_id``."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT status, count(*), count(DISTINCT feed_id), sum(new_items) FROM feed_fetches"
                " WHERE id > :since GROUP BY status"
            ),
            {"since": since_id},
        ).all()
    statuses = {str(status): int(count) for status, count, _, _ in rows}
    return sum(int(feeds) for _, _, feeds, _ in rows), statuses, sum(int(new or 0) for *_, new in rows)


def last_poll_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(text("SELECT coalesce(max(id), 0) FROM feed_fetches")) or 0)


def check_tick(tick: Tick, feeds: int, all_304: bool) -> None:
    if tick.feeds != feeds:
        raise SystemExit(f"{feeds} feeds expected to be polled, {tick.feeds} were: {tick.statuses}")
    if all_304 and tick.statuses != {"not_modified": feeds}:
        raise SystemExit(f"tick 2 was not all-304: {tick.statuses}")


# --- parley ingest ---------------------------------------------------------------------------------


def cli_start_up(env: dict[str, str]) -> float:
    """Seconds ``parley --help`` takes: the command's start-up, part of each of its ticks."""
    started = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "parley"), "--help"], env=env, capture_output=True)
    return time.perf_counter() - started


def cli_tick(engine: Engine, env: dict[str, str]) -> Tick:
    since = last_poll_id(engine)
    started = time.perf_counter()
    done = subprocess.run(
        [str(Path(sys.executable).parent / "parley"), "ingest"], env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"parley ingest failed: {done.stderr[-2000:]}")
    feeds, statuses, new = polls_since(engine, since)
    return Tick(seconds, feeds, statuses, new)


# --- Airflow ----------------------------------------------------------------------------------------


@contextmanager
def airflow_cluster(way: str, parley_url: str, logs: Path) -> Iterator[tuple[dict[str, str], Engine, Any]]:
    """Airflow's components for ``way`` (local or celery), stopped on the way out; yields the
    environment, the metadata engine and a callable checking that every component is alive."""
    from tests.dags.conftest import airflow_metadata
    from tests.dags.processes import Component, cluster_environment, dags_parsed, start_airflow, wait_for

    with ExitStack() as stack:
        home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"parley-bench-{way}-")))
        metadata_env = stack.enter_context(airflow_metadata(home, parley_url))
        metadata_url = metadata_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        extra = {
            "AIRFLOW__CORE__PARALLELISM": str(SLOTS),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "PARLEY_TOTAL_TIMEOUT": "15",
        }
        if way == "celery":
            number = free_redis_database()
            stack.callback(flush_redis, number)
            results = (
                make_url(metadata_url).set(drivername="postgresql").render_as_string(hide_password=False)
            )
            extra |= {
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:6379/{number}",
                "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{results}",
            }
        api_port = free_port()
        env = cluster_environment(metadata_env, api_port, **extra)
        env["PARLEY_DATABASE_URL"] = parley_url  # as cluster_environment says, never read by a task
        metadata = create_engine(metadata_url)
        stack.callback(metadata.dispose)
        components = start_airflow(stack, env, logs, api_port)
        if way == "celery":
            for name, queues in (("worker-a", "default,extract"), ("worker-b", "default")):
                args = ["celery", "worker", "--celery-hostname", f"{name}@%h", "--queues", queues]
                worker = Component(name, [*args, "--concurrency", "4", "--skip-serve-logs"], env, logs)
                stack.callback(worker.stop)
                components.append(worker)
        wait_for("the dag-processor to parse the DAGs", lambda: dags_parsed(metadata), components, 300)

        def alive() -> None:
            for component in components:
                component.check_alive()

        yield env, metadata, alive


def free_redis_database() -> int:
    import redis

    try:
        redis.Redis("127.0.0.1", 6379, socket_timeout=5).ping()
    except redis.RedisError as exc:
        raise SystemExit(f"the Celery way needs Redis on 127.0.0.1:6379 (redis-server): {exc}") from None
    candidates = list(range(1, 16))
    random.shuffle(candidates)
    for number in candidates:
        if redis.Redis("127.0.0.1", 6379, db=number).dbsize() == 0:
            return number
    raise SystemExit("no empty Redis database among 1-15 for the broker")


def flush_redis(number: int) -> None:
    import redis

    redis.Redis("127.0.0.1", 6379, db=number).flushdb()


def airflow_cli(env: dict[str, str], *args: str) -> None:
    from tests.dags.processes import run_airflow

    run_airflow(env, *args)


def wait_for_run(metadata: Engine, alive: Any, run_id: str | None, known: set[str]) -> tuple[str, float]:
    """The next parley_ingest run (``run_id``, or the first one not in ``known``) once it has
    finished: its id and span in seconds."""
    deadline = time.monotonic() + 3600
    while time.monotonic() < deadline:
        alive()
        with metadata.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT run_id, state, extract(epoch FROM end_date - start_date) AS span FROM dag_run"
                    " WHERE dag_id = 'parley_ingest' ORDER BY id"
                )
            ).all()
        for row in rows:
            if (run_id is None and row.run_id not in known) or row.run_id == run_id:
                if row.state == "failed":
                    raise SystemExit(f"parley_ingest run {row.run_id} failed")
                if row.state == "success":
                    return str(row.run_id), float(row.span)
        time.sleep(1)
    raise SystemExit("parley_ingest did not finish within an hour")


def batch_time(metadata: Engine, run_id: str) -> tuple[float, int]:
    with metadata.connect() as conn:
        seconds, batches = conn.execute(
            text(
                "SELECT coalesce(sum(extract(epoch FROM end_date - start_date)), 0), count(*)"
                " FROM task_instance WHERE dag_id = 'parley_ingest' AND run_id = :run"
                " AND task_id = 'ingest_batch' AND state = 'success'"
            ),
            {"run": run_id},
        ).one()
    return float(seconds), int(batches)


def airflow_way(way: str, engine: Engine, parley_url: str, urls: list[str], repeat: int, logs: Path) -> Way:
    result = Way(way)
    with airflow_cluster(way, parley_url, logs) as (env, metadata, alive):
        reset_feeds(engine, urls)
        since = last_poll_id(engine)
        say(f"{way}: tick 1 (the hourly run unpausing parley_ingest starts) ...")
        airflow_cli(env, "dags", "unpause", "parley_ingest")
        run_id, span = wait_for_run(metadata, alive, None, set())
        known = {run_id}
        result.first = airflow_tick(engine, metadata, run_id, span, since)
        say(f"  {span:.1f} s")
        for turn in range(repeat):
            make_validated_feeds_due(engine)
            since = last_poll_id(engine)
            run_id = f"tick2-{turn}"
            say(f"{way}: tick 2, {turn + 1}/{repeat} (triggered by hand) ...")
            airflow_cli(env, "dags", "trigger", "parley_ingest", "--run-id", run_id)
            run_id, span = wait_for_run(metadata, alive, run_id, known)
            known.add(run_id)
            result.second.append(airflow_tick(engine, metadata, run_id, span, since))
            say(f"  {span:.1f} s")
        airflow_cli(env, "dags", "pause", "parley_ingest")
    return result


def airflow_tick(engine: Engine, metadata: Engine, run_id: str, span: float, since: int) -> Tick:
    feeds, statuses, new = polls_since(engine, since)
    task_seconds, batches = batch_time(metadata, run_id)
    return Tick(span, feeds, statuses, new, task_seconds, batches)


# --- the run ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--now", default="2023-10-02T00:00:00Z", help="the replay's virtual clock")
    parser.add_argument("--split", type=int, default=32, help="feeds per corpus source (32: 1,024 feeds)")
    parser.add_argument("--repeat", type=int, default=2, help="all-304 ticks per way")
    parser.add_argument("--ways", default=",".join(WAYS), help="comma-separated: cli, local, celery")
    parser.add_argument("--database-url", default=ADMIN_URL, help="admin URL of the PostgreSQL server")
    args = parser.parse_args()
    for needed in (CORPUS, REPLAY_TOOL):
        if not needed.exists():
            sys.exit(f"needs {needed} (the team's shared material beside the repository)")
    ways = list(dict.fromkeys(w.strip() for w in args.ways.split(",") if w.strip()))
    if not ways or set(ways) - set(WAYS):
        sys.exit(f"--ways: some of {', '.join(WAYS)}, not {args.ways!r}")
    os.environ.setdefault(
        "PARLEY_TEST_ADMIN_URL",
        make_url(args.database_url).set(database="postgres").render_as_string(hide_password=False),
    )

    port = free_port()
    results: list[Way] = []
    with (
        replay_server(port, args.now, 50, args.split) as replay,
        fresh_database(args.database_url, keep=False) as url,
        tempfile.TemporaryDirectory(prefix="parley-bench-logs-") as logs,
    ):
        urls = get_text(replay.base + "/feeds.txt").split()
        say(f"replay {replay.base}: {len(urls)} feeds, clock {args.now}")
        engine = create_engine(url)
        try:
            db.upgrade(engine)
            env = {
                **os.environ,
                "PARLEY_DATABASE_URL": url,
                "PARLEY_ALLOWED_HOSTS": "127.0.0.1",
                "PARLEY_TOTAL_TIMEOUT": "15",
            }
            for way in ways:
                if way == "cli":
                    done = Way("cli")
                    start_up = cli_start_up(env)
                    say(f"cli: parley's start-up {start_up:.1f} s")
                    reset_feeds(engine, urls)
                    say("cli: tick 1 ...")
                    done.first = cli_tick(engine, env)
                    say(f"  {done.first.seconds:.1f} s")
                    for turn in range(args.repeat):
                        make_validated_feeds_due(engine)
                        say(f"cli: tick 2, {turn + 1}/{args.repeat} ...")
                        done.second.append(cli_tick(engine, env))
                        say(f"  {done.second[-1].seconds:.1f} s")
                else:
                    done = airflow_way(way, engine, url, urls, args.repeat, Path(logs))
                assert done.first is not None
                check_tick(done.first, len(urls), all_304=False)
                for tick in done.second:
                    check_tick(tick, len(urls), all_304=True)
                results.append(done)
        finally:
            engine.dispose()
    report(results, args, len(urls))


def report(results: list[Way], args: argparse.Namespace, feeds: int) -> None:
    print(
        f"feedreplay --split {args.split}: {feeds} feeds, clock {args.now}; batches of {FEEDS_PER_BATCH}"
        f" feeds, {SLOTS} Airflow task slots; tick 2 median of {args.repeat}; {os.cpu_count()} cores"
    )
    base = {way.name: way for way in results}.get("cli")
    header = ("way", "tick", "seconds", "x cli", "ms/feed", "batch s", "batches", "around")
    print("{:<30} {:<6} {:>8} {:>6} {:>8} {:>8} {:>8} {:>8}".format(*header))
    for way in results:
        assert way.first is not None
        rows = [("1", way.first, base.first if base else None)]
        if way.second:
            rows.append(("2 (304)", median_tick(way.second), median_tick(base.second) if base else None))
        for label, tick, reference in rows:
            ratio = f"{tick.seconds / reference.seconds:.2f}" if reference else "-"
            batch = f"{tick.task_seconds:.1f}" if tick.task_seconds is not None else "-"
            # what the scheduler and task start-up add: the span beyond the batches run 8 at a time
            around = (
                f"{tick.seconds - tick.task_seconds / SLOTS:.1f}" if tick.task_seconds is not None else "-"
            )
            print(
                f"{LABELS[way.name]:<30} {label:<6} {tick.seconds:>8.1f} {ratio:>6} "
                f"{tick.seconds / feeds * 1000:>8.2f} {batch:>8} {tick.batches or '-':>8} {around:>8}"
            )
    print()
    for way in results:
        assert way.first is not None
        print(f"{LABELS[way.name]}: tick 1 stored {way.first.new_articles} articles; {way.first.statuses}")


def median_tick(ticks: list[Tick]) -> Tick:
    ordered = sorted(ticks, key=lambda tick: tick.seconds)
    middle = ordered[len(ordered) // 2]
    if len(ordered) % 2 == 0:
        low = ordered[len(ordered) // 2 - 1]
        seconds = statistics.median(tick.seconds for tick in ordered)
        task = (
            None
            if middle.task_seconds is None or low.task_seconds is None
            else ((middle.task_seconds + low.task_seconds) / 2)
        )
        return Tick(seconds, middle.feeds, middle.statuses, middle.new_articles, task, middle.batches)
    return middle


if __name__ == "__main__":
    main()
