"""The ``parley`` command line, run as a subprocess against the test database and loopback feeds:
it does its work and exits 0 (also when some feeds fail), and when it cannot run (database down, bad
setting, bad URL, schema missing) it exits 1 with one clear line on stderr and no traceback."""

from __future__ import annotations

import re
import subprocess
import threading
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from models import Article, Feed, FeedFetch
from tests.conftest import ADMIN_URL, free_port, run_parley

SUMMARY = re.compile(
    r"(\d+) feeds polled: (\d+) ok, (\d+) partial, (\d+) not modified, (\d+) failed; (\d+) new articles"
)
DEAD_DATABASE = "postgresql+psycopg2://postgres@127.0.0.1:1/parley"


def wide(env: dict[str, str]) -> dict[str, str]:
    return {**env, "COLUMNS": "250"}  # rich tables would otherwise cut URLs at 80 columns


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single line a failed command printed on stderr (asserting there is exactly one)."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("parley: error:"), lines[0]
    return lines[0]


def summary_of(output: str) -> tuple[int, ...]:
    match = SUMMARY.search(output)
    assert match, output
    return tuple(int(n) for n in match.groups())


def count(engine: Engine, model: type[Feed] | type[Article] | type[FeedFetch]) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


# --- a loopback feed server ------------------------------------------------------------------------

GOOD_FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Loopback News</title>
<item><title>Talks resume in Doha</title><link>{base}/a/1.html</link><guid>loopback-1</guid>
<description>Negotiators met again on Monday.</description></item>
<item><title>Truce extended by two days</title><link>{base}/a/2.html</link><guid>loopback-2</guid>
<description>The truce was extended by two days, mediators said.</description></item>
</channel></rss>"""
ARTICLE = "<html><body><article><h1>{title}</h1><p>{body}</p></article></body></html>"


class _Handler(BaseHTTPRequestHandler):
    base: ClassVar[str] = ""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/good.xml":
            self._send(200, GOOD_FEED.format(base=self.base).encode(), "application/rss+xml")
        elif self.path.startswith("/a/"):
            page = ARTICLE.format(title="Story", body="A paragraph of the story, long enough to keep. " * 8)
            self._send(200, page.encode(), "text/html; charset=utf-8")
        elif self.path == "/broken.xml":
            self._send(500, b"internal error", "text/plain")
        else:
            self._send(404, b"not found", "text/plain")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def feeds_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    _Handler.base = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield _Handler.base
    server.shutdown()
    server.server_close()


# --- feeds ---------------------------------------------------------------------------------------


def test_feeds_add_registers_once_and_merges_tags(clean_db: Engine, cli_env: dict[str, str]) -> None:
    url = "https://news.example.com/rss"
    first = run_parley("feeds", "add", url, "--tag", "gaza-talks", env=cli_env)
    assert first.returncode == 0, first.stderr
    assert f"added: {url}" in first.stdout
    again = run_parley("feeds", "add", url, "--tag", "world", env=cli_env)
    assert again.returncode == 0, again.stderr
    assert "already registered" in again.stdout
    with Session(clean_db) as session:
        assert [(f.url, f.tags) for f in session.scalars(select(Feed))] == [(url, ["gaza-talks", "world"])]


def test_outside_text_with_markup_brackets_is_printed_as_it_is(
    clean_db: Engine, cli_env: dict[str, str]
) -> None:
    url = "https://news.example.com/x[/]y[bold]"
    added = run_parley("feeds", "add", url, "--title", "Wire [/] [red]news", env=cli_env)
    assert added.returncode == 0, added.stderr
    assert url in added.stdout
    listed = run_parley("feeds", "list", env=wide(cli_env))
    assert listed.returncode == 0, listed.stderr
    assert "Wire [/] [red]news" in listed.stdout


def test_feeds_list_shows_each_feed_with_its_health(clean_db: Engine, cli_env: dict[str, str]) -> None:
    run_parley("feeds", "add", "https://news.example.com/rss", "--tag", "gaza-talks", env=cli_env)
    listed = run_parley("feeds", "list", env=wide(cli_env))
    assert listed.returncode == 0, listed.stderr
    assert "https://news.example.com/rss" in listed.stdout
    assert "gaza-talks" in listed.stdout
    assert "never polled" in listed.stdout


def test_feeds_import_twice_then_export_lists_the_same_feeds(
    clean_db: Engine, cli_env: dict[str, str], tmp_path: Path
) -> None:
    plain = tmp_path / "feeds.txt"
    plain.write_text("# two feeds\nhttps://a.example.com/rss\n\nhttp://b.example.org/atom.xml\n", "utf-8")
    first = run_parley("feeds", "import", str(plain), "--tag", "imported", env=cli_env)
    assert first.returncode == 0, first.stderr
    assert "2 feeds read, 2 new, 0 already registered" in first.stdout
    again = run_parley("feeds", "import", str(plain), env=cli_env)
    assert "2 feeds read, 0 new, 2 already registered" in again.stdout
    assert count(clean_db, Feed) == 2

    exported = run_parley("feeds", "export", env=cli_env)
    assert exported.returncode == 0, exported.stderr
    outlines = ET.fromstring(exported.stdout).iter("outline")
    assert sorted(o.get("xmlUrl") or "" for o in outlines) == [
        "http://b.example.org/atom.xml",
        "https://a.example.com/rss",
    ]


def test_feeds_import_of_a_bad_list_exits_1_naming_the_line(
    clean_db: Engine, cli_env: dict[str, str], tmp_path: Path
) -> None:
    plain = tmp_path / "feeds.txt"
    plain.write_text("https://a.example.com/rss\nftp://b.example.org/feed\n", "utf-8")
    line = error_line(run_parley("feeds", "import", str(plain), env=cli_env))
    assert "line 2" in line and "feeds.txt" in line
    assert count(clean_db, Feed) == 0  # nothing half-written: the good first line was not registered


def test_bad_feed_url_exits_1_with_one_line(clean_db: Engine, cli_env: dict[str, str]) -> None:
    line = error_line(run_parley("feeds", "add", "ftp://x", env=cli_env))
    assert "only http and https" in line and "ftp://x" in line
    assert count(clean_db, Feed) == 0


# --- ingest --------------------------------------------------------------------------------------


def test_ingest_prints_a_summary_and_exits_0_even_with_a_failing_feed(
    clean_db: Engine, cli_env: dict[str, str], feeds_server: str
) -> None:
    for name in ("good", "broken"):
        added = run_parley("feeds", "add", f"{feeds_server}/{name}.xml", env=cli_env)
        assert added.returncode == 0, added.stderr
    result = run_parley("ingest", env=cli_env)
    assert result.returncode == 0, result.stderr
    assert summary_of(result.stdout) == (2, 1, 0, 0, 1, 2)
    # the failing feed is reported in one line with its reason
    assert re.search(r"failed .*/broken\.xml: HTTP 500", result.stderr), result.stderr
    assert count(clean_db, Article) == 2
    with Session(clean_db) as session:
        pages = session.scalars(select(Article.text_source)).all()
    assert pages == ["page", "page"]

    # right after, nothing is due; --all polls again and stores nothing new
    not_due = run_parley("ingest", env=cli_env)
    assert not_due.returncode == 0, not_due.stderr
    assert summary_of(not_due.stdout) == (0, 0, 0, 0, 0, 0)
    again = run_parley("ingest", "--all", env=cli_env)
    assert again.returncode == 0, again.stderr
    assert summary_of(again.stdout)[1:] == (1, 0, 0, 1, 0)
    assert count(clean_db, Article) == 2
    assert count(clean_db, FeedFetch) == 4


def test_ingest_by_tag_polls_only_tagged_feeds(
    clean_db: Engine, cli_env: dict[str, str], feeds_server: str
) -> None:
    run_parley("feeds", "add", f"{feeds_server}/good.xml", "--tag", "talks", env=cli_env)
    run_parley("feeds", "add", f"{feeds_server}/broken.xml", env=cli_env)
    result = run_parley("ingest", "--all", "--tag", "talks", env=cli_env)
    assert result.returncode == 0, result.stderr
    assert summary_of(result.stdout) == (1, 1, 0, 0, 0, 2)


# --- when the command cannot run -------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ("feeds", "list"),
        ("ingest",),
        ("seed",),
        ("feeds", "add", "https://a.example.com/rss"),
        ("db", "upgrade"),
    ],
)
def test_database_down_exits_1_with_one_clear_line(cli_env: dict[str, str], command: tuple[str, ...]) -> None:
    env = {**cli_env, "PARLEY_DATABASE_URL": DEAD_DATABASE}
    line = error_line(run_parley(*command, env=env, timeout=60))
    assert "database unavailable" in line and "127.0.0.1:1" in line


def test_database_url_of_another_kind_exits_1_with_one_line(cli_env: dict[str, str]) -> None:
    env = {**cli_env, "PARLEY_DATABASE_URL": "sqlite:///parley.db"}
    assert "PostgreSQL" in error_line(run_parley("feeds", "list", env=env))


@pytest.mark.parametrize(
    ("url", "message_part"),
    [
        ("postgresql+psycopg2://postgres:s3cret@127.0.0.1:abc/parley", "port that is not a number"),
        ("postgresql+psycopg2://postgres:s3cret@127.0.0.1:70000/parley", "port 70000"),
        ("postgresql+nosuchdriver://postgres:s3cret@127.0.0.1/parley", "'postgresql+nosuchdriver'"),
        ("postgresql+asyncpg://postgres:s3cret@127.0.0.1/parley", "'postgresql+asyncpg'"),
    ],
)
def test_database_url_with_a_bad_port_or_driver_exits_1_with_one_line_hiding_the_password(
    cli_env: dict[str, str], url: str, message_part: str
) -> None:
    line = error_line(run_parley("feeds", "list", env={**cli_env, "PARLEY_DATABASE_URL": url}))
    assert "PARLEY_DATABASE_URL" in line and message_part in line
    assert "s3cret" not in line


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PARLEY_TOTAL_TIMEOUT", "abc"),
        ("PARLEY_TOTAL_TIMEOUT", "-1"),
        ("PARLEY_MAX_REDIRECTS", "many"),
        ("PARLEY_ALLOWED_HOSTS", "10.0.0.0/33"),
        ("PARLEY_INGEST_WORKERS", "0"),
        # non-finite and absurd numbers: inf overflowed every poll's deadline, a huge interval timedelta
        ("PARLEY_TOTAL_TIMEOUT", "inf"),
        ("PARLEY_CONNECT_TIMEOUT", "nan"),
        ("PARLEY_TOTAL_TIMEOUT", "1e400"),
        ("PARLEY_TOTAL_TIMEOUT", "86400000"),
        ("PARLEY_POLL_INTERVAL_SECONDS", "99999999999999999"),
        ("PARLEY_MAX_BACKOFF_SECONDS", "99999999999999999"),
        ("PARLEY_ALERT_RETRY_MAX_SECONDS", "inf"),
        ("PARLEY_FEED_SILENCE_FACTOR", "inf"),
    ],
)
def test_bad_setting_exits_1_with_one_line_naming_the_variable(
    clean_db: Engine, cli_env: dict[str, str], variable: str, value: str
) -> None:
    line = error_line(run_parley("ingest", env={**cli_env, variable: value}))
    assert variable in line


@pytest.mark.parametrize("command", [("alerts", "send"), ("run",)])
def test_an_infinite_alert_timeout_is_refused_before_any_command_runs(
    clean_db: Engine, cli_env: dict[str, str], command: tuple[str, ...]
) -> None:
    line = error_line(run_parley(*command, env={**cli_env, "PARLEY_ALERT_TIMEOUT": "inf"}))
    assert "PARLEY_ALERT_TIMEOUT" in line and "finite" in line


@pytest.fixture
def unmigrated_database_url() -> Iterator[str]:
    name = f"parley_empty_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_missing_schema_says_to_run_db_upgrade_and_db_upgrade_fixes_it(
    cli_env: dict[str, str], unmigrated_database_url: str
) -> None:
    env = {**cli_env, "PARLEY_DATABASE_URL": unmigrated_database_url}
    for command in (("feeds", "list"), ("ingest",)):
        assert "run 'parley db upgrade'" in error_line(run_parley(*command, env=env))
    upgraded = run_parley("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "schema at" in upgraded.stdout
    listed = run_parley("feeds", "list", env=env)
    assert listed.returncode == 0, listed.stderr


# --- the demo on the embedded PostgreSQL -----------------------------------------------------------


def test_demo_runs_on_embedded_postgres_and_a_second_run_stores_nothing_new(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    env = {k: v for k, v in cli_env.items() if k != "PARLEY_DATABASE_URL"}
    env["PARLEY_DATA_DIR"] = str(tmp_path / ".parley")
    port = str(free_port())
    first = run_parley("demo", "--port", port, env=env, timeout=240)
    assert first.returncode == 0, first.stderr
    assert "embedded PostgreSQL" in first.stdout
    polled, ok, partial, _, failed, new = summary_of(first.stdout)
    assert polled >= 3 and ok + partial == polled and failed == 0 and new > 0
    assert (tmp_path / ".parley" / "pgdata").is_dir()

    second = run_parley("demo", "--port", port, env=env, timeout=240)
    assert second.returncode == 0, second.stderr
    assert summary_of(second.stdout)[-1] == 0
