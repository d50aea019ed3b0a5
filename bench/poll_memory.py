"""Benchmark: the memory and time of one poll of a huge feed (issue 16, item 8), against feedparser
parsing the same body bare.

Serves one RSS feed of ``--entries`` tiny entries (180,000 by default: 9.5 MiB, just under the
10 MiB body cap) on a free loopback port, creates a PostgreSQL database of its own (dropped at the
end), registers the feed and, each in a fresh process so that peak memory is its own:

* ``poll``: one :func:`etl.ingest.poll.ingest` of the feed as the product does it (settings from the
  ``PARLEY_*`` environment, ``PARLEY_FETCH_ARTICLES=false``): fetch, the newest
  ``PARLEY_MAX_ENTRIES_PER_POLL`` items cut from the bytes, feedparser, drafts, the store;
* ``parse``: ``feedparser.parse`` of the same body (fetched before the clock starts), which is
  what every poll cost at least before the cut;
* ``poll-uncapped`` (with ``--uncapped``): the poll with ``PARLEY_MAX_ENTRIES_PER_POLL=100000``, the
  setting's maximum: close to what a poll cost before the cap (about three minutes).

Each line: peak RSS growth over the process's RSS before the measured work (Linux ``VmHWM`` after
resetting it through ``/proc/self/clear_refs``), seconds, entries stored.

    python bench/poll_memory.py
    python bench/poll_memory.py --entries 180000 --uncapped
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def huge_feed(entries: int) -> bytes:
    items = "".join(f"<item><title>item {n}</title><guid>{n}</guid></item>" for n in range(entries))
    channel = f"<channel><title>Huge</title>{items}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


@contextmanager
def serve(body: bytes) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/huge.xml"
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextmanager
def fresh_database() -> Iterator[str]:
    name = f"parley_bench_poll_{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        raise SystemExit(f"cannot create a database at {ADMIN_URL}: {str(exc).splitlines()[0]}") from None
    try:
        yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --- the measured child --------------------------------------------------------------------------


def kib(field: str) -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))


def child(mode: str, url: str) -> None:
    """Runs in a fresh process: measures one poll or one bare parse, prints one JSON line."""
    import urllib.request

    import feedparser

    from etl import db
    from etl.ingest.poll import ingest
    from etl.settings import load_settings

    settings = load_settings()
    engine = db.get_engine(settings)
    ingest(engine, settings, tag="no-such-tag")  # imports, the pool: paid before the clock starts
    body = b""
    if mode == "parse":
        with urllib.request.urlopen(url, timeout=30) as response:
            body = response.read()
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # resets VmHWM: the peak below is this work's own
    before = kib("VmRSS")
    started = time.monotonic()
    stored, entries, note = 0, 0, None
    if mode == "parse":
        entries = len(feedparser.parse(body).entries)
    else:
        [outcome] = ingest(engine, settings, poll_all=True).outcomes
        stored, entries, note = outcome.new_items, outcome.entries, outcome.error
    seconds = time.monotonic() - started
    growth = kib("VmHWM") - before
    print(
        json.dumps(
            {"growth_kib": growth, "seconds": seconds, "stored": stored, "entries": entries, "note": note}
        )
    )


def measure(mode: str, url: str, database_url: str, extra: dict[str, str]) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env.update(
        PARLEY_DATABASE_URL=database_url,
        PARLEY_ALLOWED_HOSTS="127.0.0.1",
        PARLEY_FETCH_ARTICLES="false",
        PARLEY_TOTAL_TIMEOUT="60",
        **extra,
    )
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--url", url],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"{mode} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=180_000)
    parser.add_argument("--uncapped", action="store_true", help="also poll with the cap at its maximum")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.url)
        return
    if not Path("/proc/self/clear_refs").exists():
        raise SystemExit("measuring peak memory needs Linux /proc")

    from etl import db
    from etl.catalog import add_feeds
    from etl.seeds import FeedSeed
    from etl.settings import Settings

    body = huge_feed(args.entries)
    say(f"feed: {args.entries:,} entries, {len(body) / 2**20:.2f} MiB")
    modes: list[tuple[str, dict[str, str]]] = [("poll", {}), ("parse", {})]
    if args.uncapped:
        modes.append(("poll-uncapped", {"PARLEY_MAX_ENTRIES_PER_POLL": "100000"}))
    print(f"{'measure':<14} {'peak RSS growth':>16} {'seconds':>8} {'entries':>8} {'stored':>7}")
    with serve(body) as url:
        for mode, extra in modes:
            with fresh_database() as database_url:
                engine = create_engine(database_url)
                db.upgrade(engine)
                add_feeds(engine, [FeedSeed(url=url)])
                engine.dispose()
                say(f"measuring {mode} …")
                result = measure(mode, url, database_url, extra)
            growth = result["growth_kib"] / 1024
            print(
                f"{mode:<14} {growth:>12,.0f} MiB {result['seconds']:>8.1f}"
                f" {result['entries']:>8,} {result['stored']:>7,}",
                flush=True,
            )
            if result["note"]:
                say(f"  {mode}: {result['note']}")
    say(f"default cap: PARLEY_MAX_ENTRIES_PER_POLL={Settings().max_entries_per_poll}")


if __name__ == "__main__":
    main()
