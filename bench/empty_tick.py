"""Benchmark: an hourly ``parley run`` with nothing new, and with 100 new articles, against history size.

    python bench/empty_tick.py                          # 10k and 200k databases (built by bench/scale.py)
    python bench/empty_tick.py --sizes 10000,200000 --repeat 5 --new 100 --profile

Needs the databases of ``bench/scale.py`` (built here with ``--reuse`` when missing, which takes a
while for 200k). The feeds of those databases are served on loopback by
``../shared/tools/feedreplay.py``, which replays the 2023 corpus (the stored history is its shifted
past) on a virtual clock and answers conditional GETs with 304 when a feed has not changed: the
realistic case of an hourly tick, where most feeds have nothing new.

1. **Empty tick.** Every feed is made due (``next_poll_at`` in the past, as an hour later) and every
   feed answers 304. Timed twice: in-process (:mod:`etl.stages`, the ``run_once`` sequence,
   on a warm engine) and as the CLI subprocess ``parley run`` (Python start-up, imports, engine,
   schema check included; ``parley --help`` is timed as the start-up floor). Target: < 2 s.
2. **Tick with new articles.** The replay clock moves on until ``--new`` more corpus items are
   published; each database then runs one tick (pages fetched from the loopback server, claims
   extracted with spaCy, ledger, alerts), every stage timed. Both sizes see the same items.

The sizes take turns (their order alternates every round) and the table shows medians, because the
machine is shared. With ``--profile`` the SQL statements of the empty tick are timed too (summed by
statement, top ones printed), which names the queries whose cost grows with the history.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.request
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import scale  # noqa: E402
from rich.console import Console  # noqa: E402
from sqlalchemy import create_engine, event, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from etl import stages  # noqa: E402

STAGES = ("ingest", "health", "extract", "diff", "alerts")
LIVE_FROM = "2023-10-01T00:00:00+00:00"  # the corpus; the stored history lies before it


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the loopback feeds --------------------------------------------------------------------------


@dataclass
class Replay:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_clock(self, moment: datetime) -> None:
        request = urllib.request.Request(f"{self.base}/clock?now={moment:%Y-%m-%dT%H:%M:%SZ}", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def stats(self) -> str:
        with urllib.request.urlopen(f"{self.base}/stats", timeout=10) as response:
            return response.read().decode()


@contextmanager
def replay(port: int, now: datetime) -> Iterator[Replay]:
    process = subprocess.Popen(
        [sys.executable, str(scale.FEEDREPLAY), str(scale.CORPUS), "--port", str(port),
         "--now", now.isoformat(), "--items", "50"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    server = Replay(port, process)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{server.base}/clock", timeout=5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"feedreplay did not start on port {port} (exit status {process.poll()})")
                time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)


def clock_steps(start: datetime, new: int, rounds: int) -> list[datetime]:
    """Replay clock values, each ``new`` corpus items after the previous one."""
    times = sorted(item.published for item in scale.load_corpus())
    steps = []
    index = bisect_right(times, start)
    for _ in range(rounds):
        index = min(index + new, len(times)) - 1
        steps.append(times[index])
        index += 1
    return steps


# --- one database --------------------------------------------------------------------------------


@dataclass
class Target:
    size: int
    url: str
    engine: Engine
    port: int
    empty_inproc: list[float] = field(default_factory=list)
    empty_stages: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    empty_cli: list[float] = field(default_factory=list)
    tick_stages: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    tick_total: list[float] = field(default_factory=list)
    tick_new: list[int] = field(default_factory=list)
    sql: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def counts(self) -> tuple[int, int]:
        with self.engine.connect() as conn:
            row = conn.execute(text("SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM claims)"))
            articles, claims = row.one()
        return int(articles), int(claims)

    def live_clock(self) -> datetime | None:
        with self.engine.connect() as conn:
            value = conn.scalar(
                text("SELECT max(published_at) FROM articles WHERE published_at >= :t"), {"t": LIVE_FROM}
            )
        return value

    def make_due(self) -> None:
        """As an hour later: every feed is due again."""
        with self.engine.begin() as conn:
            conn.execute(text("UPDATE feeds SET next_poll_at = now() - interval '1 second'"))


def settings_for(target: Target) -> Any:
    return scale.bench_settings(target.url)


def run_stages(target: Target, console: Console) -> tuple[dict[str, float], list[str]]:
    """The sequence of :func:`etl.stages.run_once`, each stage timed."""
    settings = settings_for(target)
    engine = target.engine
    calls: dict[str, Callable[[], Any]] = {
        "ingest": lambda: stages.ingest(engine, settings),
        "health": lambda: stages.check_health(engine, settings),
        "extract": lambda: stages.extract(engine, settings),
        "diff": lambda: stages.diff(engine, settings),
        "alerts": lambda: stages.deliver_alerts(engine, settings),
    }
    times: dict[str, float] = {}
    lines: list[str] = []
    for stage, call in calls.items():
        clock = time.perf_counter()
        with redirect_stdout(io.StringIO()):  # the console channel prints the alerts
            lines.append(call().line())
        times[stage] = time.perf_counter() - clock
    return times, lines


def cli_env(target: Target) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env.update(
        PARLEY_DATABASE_URL=target.url, PARLEY_ALLOWED_HOSTS="127.0.0.1", PARLEY_ALERT_URLS="console://"
    )
    return env


def run_cli(target: Target, *args: str) -> tuple[float, str]:
    parley = Path(sys.executable).with_name("parley")
    command = [str(parley)] if parley.exists() else [sys.executable, "-m", "etl.cli"]
    clock = time.perf_counter()
    done = subprocess.run(
        [*command, *args], env=cli_env(target), capture_output=True, text=True, cwd=ROOT, timeout=600
    )
    elapsed = time.perf_counter() - clock
    if done.returncode != 0:
        sys.exit(f"parley {' '.join(args)} failed on {target.size}: {done.stderr.strip()}")
    return elapsed, done.stdout


@contextmanager
def sql_profile(target: Target) -> Iterator[None]:
    """Sum the time of every SQL statement run on ``target.engine``, by statement text."""
    started: dict[int, float] = {}

    def before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        started[id(cursor)] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        elapsed = time.perf_counter() - started.pop(id(cursor), time.perf_counter())
        target.sql[" ".join(statement.split())[:160]].append(elapsed)

    event.listen(target.engine, "before_cursor_execute", before)
    event.listen(target.engine, "after_cursor_execute", after)
    try:
        yield
    finally:
        event.remove(target.engine, "before_cursor_execute", before)
        event.remove(target.engine, "after_cursor_execute", after)


# --- the benchmark -------------------------------------------------------------------------------


def median_ms(values: Sequence[float]) -> str:
    return f"{statistics.median(values) * 1000:,.0f}" if values else "—"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,200000", help="history sizes (databases of bench/scale.py)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds (each: both sizes, order alternating)")
    parser.add_argument("--new", type=int, default=100, help="new corpus items per tick")
    parser.add_argument("--skip-ticks", action="store_true", help="time the empty tick only")
    parser.add_argument("--no-cli", action="store_true", help="skip the `parley run` subprocess")
    parser.add_argument("--profile", action="store_true", help="time the empty tick's SQL statements")
    args = parser.parse_args()
    scale.require_shared()
    sizes = [int(s.strip().lower().replace("k", "000")) for s in args.sizes.split(",")]
    console = Console(stderr=True, quiet=True)
    targets: list[Target] = []
    for size in sizes:
        url = scale.build(size, reuse=True)
        engine = create_engine(url, pool_size=6, max_overflow=2)
        with engine.connect() as conn:
            feed = conn.scalar(text("SELECT url FROM feeds ORDER BY id LIMIT 1"))
        port_match = re.match(r"http://127\.0\.0\.1:(\d+)/", feed or "")
        if not port_match:
            sys.exit(f"{url}: its feeds are not bench/scale.py's loopback feeds")
        targets.append(Target(size, url, engine, int(port_match.group(1))))
    if len({t.port for t in targets}) != 1:
        sys.exit("the databases were built for different feed ports; rebuild one with --port")
    live = [t.live_clock() for t in targets]
    start = max([d for d in live if d is not None], default=datetime.fromisoformat(LIVE_FROM))
    with replay(targets[0].port, start) as server:
        say(f"feedreplay on {server.base}, clock {start.isoformat()}")
        for target in targets:  # catch up to the common clock and take every feed's ETag (not timed)
            target.make_due()
            _, lines = run_stages(target, console)
            say(f"  {target.size:,}: priming tick: {lines[0]}")
        floor = [run_cli(targets[0], "--help")[0] for _ in range(3)]
        say(f"  `parley --help` (start-up floor): {median_ms(floor)} ms")

        for round_ in range(args.repeat):
            order = targets if round_ % 2 == 0 else targets[::-1]
            for target in order:
                target.make_due()
                profile = sql_profile(target) if args.profile else _nothing()
                with profile:
                    clock = time.perf_counter()
                    times, lines = run_stages(target, console)
                    target.empty_inproc.append(time.perf_counter() - clock)
                for stage, seconds in times.items():
                    target.empty_stages[stage].append(seconds)
                if "0 new articles" not in lines[0] or "not modified" not in lines[0]:
                    say(f"  warning: {target.size:,}: the empty tick was not empty: {lines[0]}")
                elapsed = 0.0
                if not args.no_cli:
                    target.make_due()
                    elapsed, _out = run_cli(target, "run")
                    target.empty_cli.append(elapsed)
                say(
                    f"  round {round_ + 1}: {target.size:,} empty tick in-process "
                    f"{target.empty_inproc[-1] * 1000:,.0f} ms, CLI {elapsed * 1000:,.0f} ms"
                )

        if not args.skip_ticks:
            for round_, moment in enumerate(clock_steps(start, args.new, args.repeat)):
                server.set_clock(moment)
                order = targets if round_ % 2 == 0 else targets[::-1]
                for target in order:
                    target.make_due()
                    clock = time.perf_counter()
                    times, lines = run_stages(target, console)
                    target.tick_total.append(time.perf_counter() - clock)
                    for stage, seconds in times.items():
                        target.tick_stages[stage].append(seconds)
                    new = re.search(r"(\d+) new articles", lines[0])
                    target.tick_new.append(int(new.group(1)) if new else 0)
                    say(
                        f"  round {round_ + 1} (clock {moment:%Y-%m-%d %H:%M}): {target.size:,} tick "
                        f"{target.tick_total[-1]:.2f} s: " + "; ".join(lines)
                    )
    report(targets, floor, args)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def report(targets: Sequence[Target], floor: Sequence[float], args: argparse.Namespace) -> None:
    print("\n### Empty tick (every feed due, every feed answers 304), medians of", args.repeat, "rounds\n")
    print("| stored articles / claims | " + " | ".join(STAGES) + " | in-process total | `parley run` (CLI) |")
    print("|---|" + "---:|" * (len(STAGES) + 2))
    for t in targets:
        articles, claims = t.counts()
        cells = [median_ms(t.empty_stages[s]) for s in STAGES]
        print(
            f"| {articles:,} / {claims:,} | " + " | ".join(cells)
            + f" | **{median_ms(t.empty_inproc)}** | **{median_ms(t.empty_cli)}** |"
        )  # fmt: skip
    print(
        f"\nmilliseconds; `parley --help` (Python start-up and imports, no database): {median_ms(floor)} ms"
    )
    if not args.skip_ticks and any(t.tick_total for t in targets):
        print(f"\n### Tick with {args.new} new corpus items, medians of {args.repeat} rounds\n")
        print("| stored articles / claims | new articles | " + " | ".join(STAGES) + " | total |")
        print("|---|---:|" + "---:|" * (len(STAGES) + 1))
        for t in targets:
            articles, claims = t.counts()
            cells = [median_ms(t.tick_stages[s]) for s in STAGES]
            new = statistics.median(t.tick_new)
            print(
                f"| {articles:,} / {claims:,} | {new:.0f} | "
                + " | ".join(cells)
                + f" | **{median_ms(t.tick_total)}** |"
            )
        print("\nmilliseconds, in-process (a fresh spaCy model load is inside `extract`)")
    if args.profile:
        for t in targets:
            print(f"\n### SQL of the empty tick on {t.size:,}: top statements by median total per tick\n")
            print("| statement | calls per tick | ms per tick |")
            print("|---|---:|---:|")
            rounds = max(len(t.empty_inproc), 1)
            ranked = sorted(t.sql.items(), key=lambda kv: sum(kv[1]), reverse=True)[:8]
            for statement, times in ranked:
                print(f"| `{statement}` | {len(times) / rounds:.0f} | {sum(times) / rounds * 1000:,.1f} |")


if __name__ == "__main__":
    main()
