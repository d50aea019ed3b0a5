"""Benchmark: the analysts' queries of docs/queries.sql on the scaled database (issue 7: < 200 ms each).

    python bench/queries.py                  # on bench/scale.py's 200k database (built if missing)
    python bench/queries.py --size 10000 --runs 7

Each query runs once to warm the cache, then ``--runs`` times (median reported), in a read-only
transaction as the migrations left the database (their indexes, nothing added). ``EXPLAIN (ANALYZE,
BUFFERS)`` of each goes to ``bench/results/queries-explain.txt``. Prints a table of query / median
ms / rows / pass.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import scale  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

QUERIES = ROOT / "docs" / "queries.sql"
EXPLAIN_OUT = ROOT / "bench" / "results" / "queries-explain.txt"
MARKER = re.compile(r"^-- name: ([a-z0-9_]+)\s*$", re.MULTILINE)
TARGET_MS = 200.0


def example_queries() -> dict[str, str]:
    """The queries of docs/queries.sql by name (as tests/e2e/test_queries.py reads them)."""
    parts = MARKER.split(QUERIES.read_text(encoding="utf-8"))[1:]
    return {name: body.strip().rstrip(";") for name, body in zip(parts[::2], parts[1::2], strict=True)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=200000, help="the bench/scale.py database")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--explain", type=Path, default=EXPLAIN_OUT)
    args = parser.parse_args()
    url = scale.build(args.size, reuse=True)
    engine = create_engine(url)
    rows_out: list[tuple[str, float, int]] = []
    explains: list[str] = []
    with engine.connect() as conn:
        counts = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM claims),"
                " (SELECT count(*) FROM positions), (SELECT count(*) FROM position_changes),"
                " (SELECT count(*) FROM feed_fetches)"
            )
        ).one()
        conn.commit()
        header = (
            f"database {scale.database_name(args.size)}: {counts[0]:,} articles, {counts[1]:,} claims, "
            f"{counts[2]:,} positions, {counts[3]:,} position changes, {counts[4]:,} polls"
        )
        print(header, file=sys.stderr)
        for name, sql in example_queries().items():
            with conn.begin():
                conn.execute(text("SET TRANSACTION READ ONLY"))
                found = len(conn.execute(text(sql)).all())  # warm-up
                times = []
                for _ in range(args.runs):
                    clock = time.perf_counter()
                    found = len(conn.execute(text(sql)).all())
                    times.append((time.perf_counter() - clock) * 1000)
                plan = conn.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")).scalars().all()
            median = statistics.median(times)
            rows_out.append((name, median, found))
            explains.append(
                f"-- name: {name}   (median {median:.1f} ms over {args.runs} runs, {found} rows)\n"
            )
            explains.append(sql + ";\n\n" + "\n".join(plan) + "\n\n")
            print(f"  {name}: {median:.1f} ms, {found} rows", file=sys.stderr)
    engine.dispose()
    args.explain.parent.mkdir(parents=True, exist_ok=True)
    args.explain.write_text(f"-- {header}\n\n" + "".join(explains), encoding="utf-8")
    print(f"\n{header}; median of {args.runs} runs after one warm-up\n")
    print("| query | median ms | rows | < 200 ms |")
    print("|---|---:|---:|:---:|")
    for name, median, found in rows_out:
        print(f"| `{name}` | {median:.1f} | {found:,} | {'pass' if median < TARGET_MS else '**FAIL**'} |")
    print(f"\nEXPLAIN (ANALYZE, BUFFERS) of each: {args.explain}")


if __name__ == "__main__":
    main()
