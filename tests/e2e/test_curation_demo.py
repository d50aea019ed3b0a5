"""Curation on the demo, with the real extractor, feeds served over loopback and ``parley`` itself:

* the story as it arrives: up to 12 January the ledger has Israel 42 → 60; the analyst rejects the
  claim behind 60, Israel is back on 42 in ``current_positions`` and one correction alert is queued;
  the rest of the story then moves Israel 42 → 4, and 60 is never announced again;
* ``parley claims add`` and ``list --added`` on the command line, malformed additions in one line;
* corrections outlive a re-read by a new extractor version (``parley extract --reprocess``, then
  ``parley diff``) and ``parley diff --rebuild``, and ``parley eval --corrections`` scores the
  extractor by them;
* a rejection made while ``parley run`` works on the rest of the story loses nothing and alerts
  nothing twice.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl import stages
from etl.catalog import add_feeds
from etl.demo import DEMO_TAG, demo_feeds, serve_directory
from etl.extract.engine import EXTRACTOR_VERSION
from etl.ledger.corrections import reject_claim
from etl.settings import Settings
from models import Alert, Article, Claim, Position, PositionSupport
from tests.conftest import REPO, cli_env_for, free_port, run_parley

DEMO = REPO / "seeds" / "demo"
SO_FAR = datetime(2025, 1, 12, tzinfo=UTC)  # Israel has just moved from 42 to 60 days
ISRAEL = (Position.negotiation == "gaza", Position.actor == "israel", Position.issue == "ceasefire_duration")
LABEL = "Gaza captives and truce talks: Israel — ceasefire_duration"


@pytest.fixture
def demo_settings(clean_db: Engine, tmp_path: Path) -> Settings:
    return Settings(
        database_url=clean_db.url.render_as_string(hide_password=False),  # type: ignore[arg-type]
        data_dir=tmp_path / ".parley",
        allowed_hosts=["127.0.0.1", "localhost"],
        alert_urls=[f"jsonl://{tmp_path / 'alerts.jsonl'}"],  # type: ignore[list-item]
    )


@contextmanager
def demo_served(engine: Engine, port: int, until: datetime | None = None) -> Iterator[str]:
    """The demo feeds on a fixed port (the feeds keep their URLs from one serving to the next)."""
    with serve_directory(DEMO, port, until) as base:
        add_feeds(engine, demo_feeds(DEMO, base))
        yield base


def israel_values(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return list(session.scalars(select(Position.value).where(*ISRAEL).order_by(Position.valid_from)))


def israel_now(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return conn.scalar(
            text(
                "SELECT value FROM current_positions"
                " WHERE negotiation = 'gaza' AND actor = 'israel' AND issue = 'ceasefire_duration'"
            )
        )


def claim_behind_sixty(engine: Engine) -> int:
    with Session(engine) as session:
        [claim_id] = session.scalars(
            select(PositionSupport.claim_id)
            .join(Position, Position.id == PositionSupport.position_id)
            .where(*ISRAEL, Position.value == "60")
        ).all()
    return int(claim_id)


def outbox(engine: Engine) -> list[tuple[str, str, str, str]]:
    with Session(engine) as session:
        rows = session.execute(
            select(Alert.alert_key, Alert.kind, Alert.status, Alert.subject).order_by(Alert.id)
        )
        return [(key, kind, status, subject) for key, kind, status, subject in rows]


def sent_ids(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [json.loads(line)["alert_id"] for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_story_as_it_arrives_a_rejected_move_goes_back_to_42_and_is_retracted_once(
    clean_db: Engine, demo_settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    with demo_served(clean_db, port, until=SO_FAR):
        stages.run_once(clean_db, demo_settings, poll_all=True, tag=DEMO_TAG)
    assert israel_values(clean_db) == ["42", "60"]
    told = outbox(clean_db)
    assert all(status == "sent" for _, _, status, _ in told)

    summary = reject_claim(clean_db, demo_settings, claim_behind_sixty(clean_db), "Hamas's figure", "ana")

    assert israel_now(clean_db) == "42"
    queued = [row for row in outbox(clean_db) if row[2] == "pending"]
    assert (len(summary.withdrawn), summary.created, summary.alerts) == (1, 0, 1)
    assert [(kind, subject) for _, kind, _, subject in queued] == [
        ("correction", f"retracted: {LABEL} 60 days, rejected by an analyst: Hamas's figure")
    ]

    with demo_served(clean_db, port):  # the rest of the story
        stages.run_once(clean_db, demo_settings, poll_all=True, tag=DEMO_TAG)
    assert israel_values(clean_db) == ["42", "4"]
    sent = sent_ids(tmp_path / "alerts.jsonl")
    assert len(sent) == len(set(sent))  # nothing delivered twice
    assert sent.count(queued[0][0]) == 1
    later = [
        subject for _, kind, _, subject in outbox(clean_db)[len(told) + 1 :] if kind == "position_change"
    ]
    assert [s for s in later if s.startswith(LABEL)] == [f"{LABEL}: 42 days → 4 days (proposes → accepts)"]


def test_claims_add_and_list_on_the_command_line(
    clean_db: Engine, demo_settings: Settings, database_url: str, tmp_path: Path
) -> None:
    with demo_served(clean_db, free_port(), until=SO_FAR):
        stages.run_once(clean_db, demo_settings, poll_all=True, tag=DEMO_TAG)
    env = cli_env_for(database_url, ALERT_URLS=f"jsonl://{tmp_path / 'alerts.jsonl'}")
    base = ["claims", "add", "--negotiation", "gaza", "--actor", "egypt", "--issue", "ceasefire_duration"]
    source = ["--url", "https://cairo-daily.example/egypt-truce", "--published-at", "2025-01-12T09:00:00Z"]

    added = run_parley(
        *base, "--value", "30", "--stance", "proposes", *source,
        "--evidence", "Egypt proposed a 30-day truce in Gaza [bold]today[/].", "--by", "ana", env=env,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("claim ") and "(new, analysts' sources)" in added.stdout
    assert (
        "ledger of gaza: egypt — ceasefire_duration rebuilt: 0 events withdrawn, 1 new; 1 alerts queued"
        in (added.stdout.replace("\n", " "))
    )
    listed = run_parley("claims", "list", "--added", env=env)
    [line] = listed.stdout.strip().splitlines()
    assert " gaza: egypt — ceasefire_duration 30 (proposes)  added " in line and line.endswith(" by ana")

    for args, message in (
        (["--value", "thirty", "--stance", "proposes"], "ceasefire_duration takes a number of days"),
        (["--value", "30", "--stance", "insists"], "unknown stance 'insists'"),
        (["--value", "30", "--stance", "proposes", "--published-at", "12/01/2025"], "not an ISO 8601 time"),
    ):
        wrong = run_parley(*base, *args, *source[:2], "--evidence", "x", env=env)
        assert wrong.returncode == 1 and wrong.stdout == "", wrong.stdout
        [error] = wrong.stderr.strip().splitlines()
        assert error.startswith("parley: error: ") and message in error
    neither = run_parley("claims", "list", env=env)
    assert neither.returncode == 1 and "--rejected or --added" in neither.stderr
    with Session(clean_db) as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Claim).where(Claim.extractor_version == "analyst")
            )
            == 1
        )


def test_corrections_outlive_a_new_extractor_version_and_a_rebuild_and_score_the_extractor(
    clean_db: Engine, demo_settings: Settings, database_url: str, tmp_path: Path
) -> None:
    with demo_served(clean_db, free_port()):
        stages.run_once(clean_db, demo_settings, poll_all=True, tag=DEMO_TAG)
    reject_claim(clean_db, demo_settings, claim_behind_sixty(clean_db), "Hamas's figure", "ana")
    env = cli_env_for(database_url, ALERT_URLS=f"jsonl://{tmp_path / 'alerts.jsonl'}")
    add = ["claims", "add", "--negotiation", "gaza", "--actor", "egypt", "--issue", "ceasefire_duration"]
    for value, evidence in (
        ("30", "Egypt proposed a 30-day truce in Gaza."),  # the extractor reads it too
        ("10", "Egypt's envoy hinted at some flexibility."),  # it cannot: a miss
    ):
        done = run_parley(
            *add, "--value", value, "--stance", "proposes", "--url", f"https://cairo-daily.example/{value}",
            "--evidence", evidence, env=env,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    assert run_parley("alerts", "send", env=env).returncode == 0
    before = (israel_values(clean_db), _egypt(clean_db), len(outbox(clean_db)))
    assert before[:2] == (["42", "4"], [("30", 1), ("10", 1)])

    # what the ledger held was read by an older version; this one reads every article again
    with clean_db.begin() as conn:
        for table in ("claims", "article_extractions", "mentions"):
            conn.execute(
                text(f"UPDATE {table} SET extractor_version = '0.0.1-old' WHERE extractor_version = :v"),
                {"v": EXTRACTOR_VERSION},
            )
        conn.execute(text("DELETE FROM extraction_progress"))
    extracted = run_parley("extract", "--reprocess", env=env)
    assert extracted.returncode == 0, extracted.stderr
    diffed = run_parley("diff", env=env)
    assert diffed.returncode == 0 and "ledger rebuilt, without alerts" in diffed.stdout, diffed.stdout
    # the rejection holds for the new version's reading; the additions stay, counted once
    assert (israel_values(clean_db), _egypt(clean_db), len(outbox(clean_db))) == before
    rebuilt = run_parley("diff", "--rebuild", env=env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert (israel_values(clean_db), _egypt(clean_db), len(outbox(clean_db))) == before

    scored = run_parley("eval", "--corrections", env=env, timeout=600)
    assert scored.returncode == 0, scored.stderr
    assert "rejected claims: 1, made again 1; added claims: 2, found 1" in scored.stdout
    overall = next(line for line in scored.stdout.splitlines() if line.startswith("OVERALL"))
    assert overall.split()[1:4] == ["1", "1", "1"]  # tp fp fn
    assert "egypt ceasefire_duration=10  (added by" in scored.stdout


def _egypt(engine: Engine) -> list[tuple[str, int]]:
    """Egypt's ceasefire_duration versions and how many claims hold each."""
    with Session(engine) as session:
        rows = session.execute(
            select(Position.value, Position.claims)
            .where(
                Position.negotiation == "gaza",
                Position.actor == "egypt",
                Position.issue == "ceasefire_duration",
            )
            .order_by(Position.valid_from, Position.id)
        )
        return [(value, claims) for value, claims in rows]


def test_a_rejection_while_parley_run_works_loses_nothing_and_alerts_nothing_twice(
    clean_db: Engine, demo_settings: Settings, database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    with demo_served(clean_db, port, until=SO_FAR):
        stages.run_once(clean_db, demo_settings, poll_all=True, tag=DEMO_TAG)
    sixty = claim_behind_sixty(clean_db)
    with Session(clean_db) as session:
        articles = session.scalar(select(func.count()).select_from(Article))
    env = cli_env_for(database_url, ALERT_URLS=f"jsonl://{tmp_path / 'alerts.jsonl'}")

    with demo_served(clean_db, port):
        run = subprocess.Popen(
            [sys.executable, "-m", "etl.cli", "run", "--all"],
            env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and run.poll() is None:  # the run has stored the news
                with Session(clean_db) as session:
                    if session.scalar(select(func.count()).select_from(Article)) > articles:
                        break
                time.sleep(0.05)
            summary = reject_claim(clean_db, demo_settings, sixty, "Hamas's figure", "ana")
            out, err = run.communicate(timeout=300)
        finally:
            if run.poll() is None:
                run.kill()
    assert run.returncode == 0, err
    assert "claims applied" in out

    assert israel_values(clean_db) == ["42", "4"]
    assert run_parley("diff", env=env).stdout.startswith("0 claims applied")
    assert run_parley("alerts", "send", env=env).returncode == 0
    keys = [(key, status) for key, _, status, _ in outbox(clean_db)]
    assert all(status == "sent" for _, status in keys)
    sent = sent_ids(tmp_path / "alerts.jsonl")
    assert len(sent) == len(set(sent)) == len(keys)  # every alert delivered, once
    retractions = [key for key, kind, _, _ in outbox(clean_db) if kind == "correction"]
    assert len(retractions) == len(summary.withdrawn) >= 1
    assert any("60 days" in subject for _, kind, _, subject in outbox(clean_db) if kind == "correction")
