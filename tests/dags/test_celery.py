"""The DAGs on Airflow's CeleryExecutor with real workers: Redis as the broker, PostgreSQL as the result
backend and Airflow's metadata database, api-server, dag-processor and scheduler, and two ``airflow
celery worker`` processes with distinct host names, ``worker-a`` on the default and ``extract``
queues, ``worker-b`` on the default queue only.

``parley_ingest`` runs once (its hourly run, started by unpausing it) over 1,024 replayed feeds
(``feedreplay.py --split 32``, the clock twelve hours into the corpus, so that about a hundred items
are new), the demo feeds (``seeds/demo``: their story moves positions, so alerts follow) and the
replay's ``slow`` feed (it answers after 20 s), registered first so that it is in the first mapped
batch. While that batch runs, its polls with news already stored and the slow one still waiting, the
worker running it is killed with SIGKILL, every process it started with it, and started again, as a
supervisor restarts a lost machine's service. The scheduler finds the batch without a heartbeat and
retries it.

Then: the batches ran on both workers and the extract tasks on ``worker-a`` only; ``parley_extract``
and ``parley_alerts`` followed from the Asset events; every item the replay serves is one article,
every feed has exactly one poll record, every article was read by the extractor and every claim
applied, and every alert was delivered once.

Slow (several minutes): 52 mapped batches on two workers, a heartbeat timeout and the language model.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine, make_url

from etl import catalog, stages
from etl.demo import demo_feeds
from etl.seeds import FeedSeed
from etl.settings import Settings
from models import Alert, Article, ArticleExtraction, Claim, FeedFetch
from tests.conftest import REPO, Replay, free_port, shared_path
from tests.dags.conftest import DAG_IDS, DEMO, airflow_metadata
from tests.dags.processes import (
    Component,
    asset_extras,
    cluster_environment,
    dags_parsed,
    finished_chain,
    run_airflow,
    start_airflow,
    wait_for,
)

pytestmark = pytest.mark.slow

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
CLOCK = "2023-10-01T12:00:00Z"  # twelve hours into the corpus: about a hundred items
SPLIT = 32
FEEDS_PER_BATCH = stages.FEEDS_PER_BATCH
HEARTBEAT_TIMEOUT = 20  # seconds without a heartbeat before the scheduler fails (and retries) a task
DEADLINE = 1200.0  # seconds for the whole chain; about five minutes on an idle 2-core machine
WORKERS = {"worker-a": "default,extract", "worker-b": "default"}


def free_redis_database() -> int:
    """An empty Redis database on 127.0.0.1:6379 for this test's broker (so that nobody else's Celery
    takes its tasks); a skip when Redis does not answer, a failure in CI (.ci/run starts it)."""
    try:
        redis.Redis(REDIS_HOST, REDIS_PORT, socket_timeout=5).ping()
    except redis.RedisError as exc:
        message = f"needs Redis on {REDIS_HOST}:{REDIS_PORT} (redis-server): {exc}"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must start it")
        pytest.skip(message)
    candidates = list(range(1, 16))
    random.shuffle(candidates)
    for number in candidates:
        if redis.Redis(REDIS_HOST, REDIS_PORT, db=number).dbsize() == 0:
            return number
    pytest.skip("no empty Redis database among 1-15 for the broker")


@pytest.fixture
def broker() -> Iterator[str]:
    number = free_redis_database()
    yield f"redis://{REDIS_HOST}:{REDIS_PORT}/{number}"
    redis.Redis(REDIS_HOST, REDIS_PORT, db=number).flushdb()


@pytest.fixture
def split_replay() -> Iterator[Replay]:
    """feedreplay over the 2023 corpus, each of its 32 sources served as 32 feeds."""
    archive = shared_path("corpus", "news_items_2023q4.jsonl")
    tool = shared_path("tools", "feedreplay.py")
    port = free_port()
    options = ["--split", str(SPLIT)]
    process = subprocess.Popen(
        [sys.executable, str(tool), str(archive), "--port", str(port), "--now", CLOCK, *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    replay = Replay(base=f"http://127.0.0.1:{port}", process=process)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                replay.get("/clock")
                break
            except OSError:
                assert process.poll() is None, f"feedreplay exited with {process.returncode}"
                assert time.monotonic() < deadline, "feedreplay did not start within 120 s"
                time.sleep(0.2)
        yield replay
    finally:
        process.terminate()
        process.wait(timeout=10)


def served_items(replay: Replay, feeds: list[str]) -> set[str]:
    """The article links of every item the replayed feeds show at the clock."""
    links: set[str] = set()
    for url in feeds:
        with urllib.request.urlopen(url, timeout=10) as response:
            links.update(
                re.findall(r"<link>([^<]*/article/[0-9a-f]+\.html)</link>", response.read().decode())
            )
    return links


def worker(name: str, env: dict[str, str], logs: Path) -> Component:
    """``airflow celery worker`` named ``name`` (its Celery node and the host name its tasks record)."""
    worker_env = {
        **env,
        "PARLEY_TEST_WORKER_HOSTNAME": name,
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.dags.worker_hostname.worker_hostname",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
    }
    args = ["celery", "worker", "--celery-hostname", f"{name}@%h", "--queues", WORKERS[name]]
    # two workers on one machine: the log server's port would clash (the logs are on a shared disk)
    return Component(name, [*args, "--concurrency", "3", "--skip-serve-logs"], worker_env, logs)


def task_hosts(metadata: Engine, dag_id: str, task_id: str) -> dict[int, list[tuple[int, str, str]]]:
    """Per map index, (try_number, hostname, state) of every try of a task that ran, the earlier ones
    from Airflow's task instance history (a row of try 0 never ran: e.g. the placeholder of a mapped
    task, map index -1, which Airflow may leave behind as skipped)."""
    query = text(
        "SELECT map_index, try_number, hostname, state FROM task_instance"
        " WHERE dag_id = :dag AND task_id = :task AND try_number > 0"
        " UNION ALL SELECT map_index, try_number, hostname, state FROM task_instance_history"
        " WHERE dag_id = :dag AND task_id = :task AND try_number > 0 ORDER BY 1, 2"
    )
    tries: dict[int, list[tuple[int, str, str]]] = {}
    with metadata.connect() as conn:
        for row in conn.execute(query, {"dag": dag_id, "task": task_id}):
            tries.setdefault(row.map_index, []).append((row.try_number, row.hostname or "", row.state or ""))
    return tries


def test_celery_workers_share_the_batches_and_a_killed_batch_is_retried_exactly_once(
    database_url: str,
    clean_db: Engine,
    settings: Settings,
    split_replay: Replay,
    demo_feeds_served: str,
    broker: str,
    tmp_path: Path,
) -> None:
    feeds = split_replay.feeds()
    assert len(feeds) == 1024
    slow = split_replay.faults()["slow"]
    with clean_db.begin() as conn:  # the demo feeds were registered first: the slow one goes first
        conn.execute(text("TRUNCATE feeds RESTART IDENTITY CASCADE"))
    catalog.add_feeds(clean_db, [FeedSeed(url=slow, tags=["fault"])])  # the lowest id: the first batch
    catalog.add_feeds(clean_db, [FeedSeed(url=url, tags=["replay"]) for url in feeds])
    catalog.add_feeds(clean_db, demo_feeds(DEMO, demo_feeds_served))
    with clean_db.connect() as conn:
        feed_ids = list(conn.scalars(text("SELECT id FROM feeds ORDER BY id")))
        slow_id = conn.scalar(text("SELECT id FROM feeds WHERE url = :url"), {"url": slow})
    first_batch = feed_ids[:FEEDS_PER_BATCH]
    assert slow_id == first_batch[0]

    alerts_file = tmp_path / "alerts.jsonl"
    with ExitStack() as stack:
        metadata_env = stack.enter_context(airflow_metadata(tmp_path / "airflow_home", database_url))
        metadata_url = metadata_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        api_port = free_port()
        env = cluster_environment(
            metadata_env,
            api_port,
            AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
            AIRFLOW__CORE__PARALLELISM="8",
            AIRFLOW__CELERY__BROKER_URL=broker,
            AIRFLOW__CELERY__RESULT_BACKEND="db+"
            + make_url(metadata_url).set(drivername="postgresql").render_as_string(hide_password=False),
            AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT=str(HEARTBEAT_TIMEOUT),
            AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL="2",
            PARLEY_TASK_RETRY_DELAY_SECONDS="1",
            PARLEY_TOTAL_TIMEOUT="40",  # the slow feed answers after 20 s
            PARLEY_ALERT_URLS=f"jsonl://{alerts_file}",
        )
        metadata = create_engine(metadata_url)
        stack.callback(metadata.dispose)
        logs = tmp_path / "logs"
        logs.mkdir()
        components = start_airflow(stack, env, logs, api_port)
        workers: dict[str, Component] = {}
        for name in WORKERS:
            workers[name] = worker(name, env, logs)
            stack.callback(lambda name=name: workers[name].stop())  # type: ignore[misc]

        def everyone() -> list[Component]:
            return [*components, *workers.values()]

        wait_for("the dag-processor to parse the DAGs", lambda: dags_parsed(metadata), everyone(), 180)
        # parley_ingest last: unpausing it starts its hourly run at once (catchup=False: the last hour
        # only), the one run of this test; the consumers must be unpaused before it emits
        for dag_id in ("parley_extract", "parley_alerts", "parley_ingest"):
            run_airflow(env, "dags", "unpause", dag_id)

        def first_batch_in_the_middle() -> str | None:
            """The worker running the first batch, once some of its polls are stored and the slow one
            is still waiting for its answer."""
            with metadata.connect() as conn:
                row = conn.execute(
                    text(
                        "SELECT hostname, state FROM task_instance WHERE dag_id = 'parley_ingest'"
                        " AND task_id = 'ingest_batch' AND map_index = 0"
                    )
                ).one_or_none()
            if row is None or row.state != "running" or row.hostname not in WORKERS:
                return None
            with clean_db.connect() as conn:
                stored = dict(
                    conn.execute(
                        select(FeedFetch.feed_id, func.count())
                        .where(FeedFetch.feed_id.in_(first_batch))
                        .group_by(FeedFetch.feed_id)
                    ).all()
                )
            return str(row.hostname) if stored and slow_id not in stored else None

        victim = wait_for("the first batch to be half done", first_batch_in_the_middle, everyone(), 600)
        with clean_db.connect() as conn:
            before_kill = int(conn.scalar(select(func.count()).select_from(FeedFetch)) or 0)
        workers[victim].kill()
        workers[victim] = worker(victim, env, logs)  # the machine comes back

        done = wait_for(
            "extract and alerts runs from Asset events",
            lambda: finished_chain(metadata, components[-1], "scheduled"),
            everyone(),
            DEADLINE,
        )
        with metadata.connect() as conn:
            events = {name: asset_extras(conn, name) for name in ("parley_new_articles", "parley_positions")}
        batches = task_hosts(metadata, "parley_ingest", "ingest_batch")
        extract_hosts = {
            host
            for task in ("extract_claims", "apply_claims")
            for tries in task_hosts(metadata, "parley_extract", task).values()
            for _, host, _ in tries
        }

    # the batches: every one succeeded, the killed one on a later try, and both workers ran some
    assert sorted(batches) == list(range(-(-len(feed_ids) // FEEDS_PER_BATCH))) and len(batches) == 52
    assert all(tries[-1][2] == "success" for tries in batches.values()), batches
    killed = batches[0]
    assert (killed[0][1], killed[-1][2]) == (victim, "success") and killed[-1][0] > killed[0][0], killed
    assert {tries[-1][1] for tries in batches.values()} == set(WORKERS), batches
    # the extract queue: only the worker consuming it ran parley_extract
    assert extract_hosts == {"worker-a"}

    by_dag = {dag: [(run_type, state) for d, _, run_type, state in done if d == dag] for dag in DAG_IDS}
    assert by_dag["parley_ingest"] == [("scheduled", "success")]
    assert by_dag["parley_extract"] and set(by_dag["parley_extract"]) == {("asset_triggered", "success")}
    assert ("asset_triggered", "success") in by_dag["parley_alerts"]
    assert len(events["parley_new_articles"]) == 1 and len(events["parley_positions"]) == 1

    # exactly once: every item served is one article, every feed one poll record
    with clean_db.connect() as conn:
        articles = int(conn.scalar(select(func.count()).select_from(Article)) or 0)
        polls = dict(conn.execute(select(FeedFetch.feed_id, func.count()).group_by(FeedFetch.feed_id)).all())
        read = conn.scalar(select(func.count()).select_from(ArticleExtraction))
        claims = conn.scalar(select(func.count()).select_from(Claim))
        unapplied = conn.scalar(select(func.count()).select_from(Claim).where(Claim.in_ledger.is_(False)))
        alerts = dict(conn.execute(select(Alert.status, func.count()).group_by(Alert.status)).all())
    with clean_db.connect() as conn:
        replayed = conn.scalar(
            select(func.count()).select_from(Article).where(Article.url.startswith(split_replay.base))
        )
    assert replayed == len(served_items(split_replay, feeds)) > 50
    assert articles > replayed  # and the demo's
    assert 0 < before_kill < len(feed_ids)
    assert polls == dict.fromkeys(feed_ids, 1)
    assert read == articles and claims and unapplied == 0
    # nothing left for a later run: every article read, every claim applied
    assert stages.extract(clean_db, settings).articles == 0
    assert stages.diff(clean_db, settings).claims == 0
    delivered = [json.loads(line) for line in alerts_file.read_text().splitlines()]
    assert alerts == {"sent": events["parley_positions"][0]["alerts"]}
    assert len(delivered) == len({line["alert_id"] for line in delivered}) == alerts["sent"]
