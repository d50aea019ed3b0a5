"""Shared fixtures: a real PostgreSQL database per test session, loopback feed servers, ../shared/.

The database is created fresh on the server at ``PARLEY_TEST_ADMIN_URL`` (default: the local
PostgreSQL, database ``test``), migrated with Alembic, and dropped at the end. Tests that write
through the stages (which commit per feed, from worker threads) get a clean database by truncation
rather than a rolled-back transaction.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from etl import db, stages
from etl.seeds import load_reference
from etl.settings import Settings

if TYPE_CHECKING:
    from etl.extract.engine import Extractor

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
ADMIN_URL = os.environ.get("PARLEY_TEST_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


def shared_path(*parts: str) -> Path:
    """A path under ../shared/; skips the test when it is absent, except in CI where it must exist."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing: CI must have ../shared/ beside the clone")
        pytest.skip(f"needs {path} (the team's shared material beside the repository)")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def extractor() -> Extractor:
    """The extractor built from the shipped seeds, loaded once per test session."""
    from etl.extract.engine import Extractor

    seeds = REPO / "seeds"
    return Extractor.load(load_reference(seeds))


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    name = f"parley_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no server: every database test fails loudly, never skips
        pytest.fail(f"cannot create a test database at {ADMIN_URL}: {exc}")
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    db.upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url, pool_size=8)
    yield engine
    engine.dispose()


@pytest.fixture
def clean_db(engine: Engine) -> Engine:
    """The session database with every table emptied (schema and alembic_version kept)."""
    with engine.begin() as conn:
        tables = conn.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).all()
        tables = [t for t in tables if t != "alembic_version"]
        if tables:
            conn.execute(
                text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
            )
    return engine


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings for tests: the test database, loopback allowed, short timeouts."""
    return Settings(
        database_url=database_url,  # type: ignore[arg-type]
        data_dir=tmp_path / ".parley",
        allowed_hosts=["127.0.0.1", "localhost"],
        total_timeout=3.0,
        connect_timeout=2.0,
    )


def cli_env_for(database_url: str, **extra: str) -> dict[str, str]:
    """Environment for the ``parley`` command: the test database, loopback allowed, short timeouts;
    ``extra`` adds PARLEY_<NAME> variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env.update(
        PARLEY_DATABASE_URL=database_url,
        PARLEY_ALLOWED_HOSTS="127.0.0.1,localhost",
        PARLEY_TOTAL_TIMEOUT="3",
    )
    env.update({f"PARLEY_{name}": value for name, value in extra.items()})
    return env


@pytest.fixture
def cli_env(database_url: str) -> dict[str, str]:
    """Environment for running the ``parley`` command as a subprocess against the test database."""
    return cli_env_for(database_url)


def run_parley(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "etl.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )


@dataclass
class Replay:
    """A running ../shared/tools/feedreplay.py: real news feeds on a virtual clock."""

    base: str
    process: subprocess.Popen[bytes]

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.base + path, timeout=10) as response:
            return bytes(response.read())

    def feeds(self) -> list[str]:
        return self.get("/feeds.txt").decode().split()

    def faults(self) -> dict[str, str]:
        lines = self.get("/faults.txt").decode().splitlines()
        return {line.split()[1]: line.split()[0] for line in lines if line.strip()}

    def set_clock(self, now: str) -> None:
        request = urllib.request.Request(f"{self.base}/clock?now={now}", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def run_pipeline(
        self, engine: Engine, settings: Settings, start: datetime, end: datetime, step: timedelta
    ) -> None:
        """One ``parley run`` (every feed polled) at each clock time from ``start`` to ``end``."""
        moment = start
        while moment <= end:
            self.set_clock(moment.isoformat().replace("+00:00", "Z"))
            stages.run_once(engine, settings, poll_all=True)
            moment += step


def start_replay(archive: Path, now: str, items: int = 50) -> Replay:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            str(shared_path("tools", "feedreplay.py")),
            str(archive),
            "--port",
            str(port),
            "--now",
            now,
            "--items",
            str(items),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    replay = Replay(base=f"http://127.0.0.1:{port}", process=process)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            replay.get("/clock")
            return replay
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"feedreplay exited with {process.returncode}") from None
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("feedreplay did not start within 120 s")


@pytest.fixture(scope="module")
def replay() -> Iterator[Replay]:
    """feedreplay over the 2023 news corpus, clock at 2023-11-20 (module-scoped: tests move the clock)."""
    archive = shared_path("corpus", "news_items_2023q4.jsonl")
    server = start_replay(archive, "2023-11-20T00:00:00Z")
    yield server
    server.process.terminate()
    server.process.wait(timeout=10)


# Linux: writing 5 to clear_refs resets the peak RSS (VmHWM), so the peak measures this ingest alone.
_INGEST_MEMORY_PROBE = textwrap.dedent(
    """
    import json, sys
    from etl import db
    from etl.ingest.poll import ingest
    from etl.settings import load_settings

    def kib(field):
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))

    settings = load_settings()
    engine = db.get_engine(settings)
    ingest(engine, settings, tag="no-such-tag")  # warm up imports and the pool
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    before = kib("VmRSS")
    summary = ingest(engine, settings, poll_all=True, tag=sys.argv[1] or None)
    after = kib("VmHWM")
    [outcome] = summary.outcomes or [None]
    print(json.dumps({"polled": len(summary.outcomes), "status": outcome and outcome.status,
                      "entries": outcome and outcome.entries, "stored": outcome and outcome.new_items,
                      "error": outcome and outcome.error, "growth_kib": after - before}))
    """
)


def ingest_memory(env: dict[str, str], tag: str | None = None, timeout: float = 600) -> dict[str, Any]:
    """One ``ingest --all`` (of ``tag``'s feeds) in a fresh process: its outcome and how far its peak
    RSS grew over the process's warm size (Linux only; the caller skips elsewhere)."""
    probe = subprocess.run(
        [sys.executable, "-c", _INGEST_MEMORY_PROBE, tag or ""],
        env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    return dict(json.loads(probe.stdout.strip().splitlines()[-1]))
