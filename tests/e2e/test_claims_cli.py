"""``parley claims reject | restore | list --rejected`` against real PostgreSQL: Israel 42 → 60, the
claim behind 60 rejected, Israel back on 42 in current_positions, one retraction delivered once; and
the same rejection on the demo, where Israel's history becomes 42 → 4."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl import stages
from etl.catalog import add_feeds, load_reference_data
from etl.demo import DEMO_TAG, demo_feeds, serve_directory
from etl.extract.engine import EXTRACTOR_VERSION
from etl.ledger.corrections import reject_claim
from etl.settings import PROJECT_ROOT, Settings
from models import ClaimCorrection, Feed, Position, PositionSupport
from tests.conftest import REPO, cli_env_for, run_parley
from tests.db.conftest import day, state


@pytest.fixture
def ledger_db(clean_db: Engine) -> Engine:
    load_reference_data(clean_db, PROJECT_ROOT / "seeds")
    with clean_db.begin() as conn:
        conn.execute(insert(Feed), [{"url": "http://outlet1.example/rss", "title": "Outlet 1"}])
    return clean_db


def israel_now(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(
            conn.scalar(
                text(
                    "SELECT value FROM current_positions"
                    " WHERE negotiation = 'gaza' AND actor = 'israel' AND issue = 'ceasefire_duration'"
                )
            )
        )


def delivered(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [json.loads(line)["alert_id"] for line in path.read_text(encoding="utf-8").splitlines()]


def test_reject_and_restore_from_the_command_line(
    ledger_db: Engine, database_url: str, tmp_path: Path
) -> None:
    sink = tmp_path / "alerts.jsonl"
    env = cli_env_for(database_url, ALERT_URLS=f"jsonl://{sink}")
    state(ledger_db, "israel", "ceasefire_duration", "42", "proposes", day(2))
    sixty = state(ledger_db, "israel", "ceasefire_duration", "60", "proposes", day(9))
    with ledger_db.begin() as conn:  # read by the extractor parley runs, so that parley diff applies them
        conn.execute(text("UPDATE claims SET extractor_version = :v"), {"v": EXTRACTOR_VERSION})
    assert "1 changes" in run_parley("diff", env=env).stdout
    assert run_parley("alerts", "send", env=env).returncode == 0
    originals = delivered(sink)
    assert len(originals) == 2 and israel_now(ledger_db) == "60"

    rejected = run_parley(
        "claims",
        "reject",
        str(sixty),
        "--reason",
        "the 60 days were [bold]Hamas's[/]",
        "--by",
        "ana",
        env=env,
    )
    assert rejected.returncode == 0, rejected.stderr
    assert "1 events withdrawn, 0 new; 1 alerts queued" in rejected.stdout
    assert israel_now(ledger_db) == "42"

    for _ in range(2):  # delivered once, and never again
        assert run_parley("alerts", "send", env=env).returncode == 0
    retractions = delivered(sink)[len(originals) :]
    change_id = originals[1].removeprefix("parley-change-")
    assert retractions == [f"parley-retract-{change_id}"]
    last = json.loads(sink.read_text(encoding="utf-8").splitlines()[-1])
    assert last["subject"] == (
        "retracted: Gaza captives and truce talks: Israel — ceasefire_duration 60 days,"
        " rejected by an analyst: the 60 days were [bold]Hamas's[/]"
    )

    again = run_parley("claims", "reject", str(sixty), "--reason", "twice", env=env)
    assert again.returncode == 1 and again.stdout == ""
    assert again.stderr.strip().splitlines() == [f"parley: error: claim {sixty} is already rejected"]

    # the rejected claim stays out of the ledger: a diff, and a rebuild
    assert "0 claims applied" in run_parley("diff", env=env).stdout
    assert "rebuilt, without alerts: 1 claims applied" in run_parley("diff", "--rebuild", env=env).stdout
    assert israel_now(ledger_db) == "42"

    listed = run_parley("claims", "list", "--rejected", env=env)
    assert listed.returncode == 0, listed.stderr
    [line] = listed.stdout.strip().splitlines()
    assert line.startswith(f"{sixty}  gaza: israel — ceasefire_duration 60 (proposes)")
    assert line.endswith("by ana: the 60 days were [bold]Hamas's[/]")  # not read as markup

    restored = run_parley("claims", "restore", str(sixty), env=env)
    assert restored.returncode == 0, restored.stderr
    assert israel_now(ledger_db) == "60"
    assert run_parley("alerts", "send", env=env).returncode == 0
    [back] = delivered(sink)[len(originals) + 1 :]
    assert back.startswith("parley-change-") and back not in originals  # announced again, as new
    with Session(ledger_db) as session:
        who = session.scalars(select(ClaimCorrection.corrected_by).order_by(ClaimCorrection.id)).all()
    assert who == ["ana", getpass.getuser()]
    assert run_parley("claims", "list", "--rejected", env=env).stdout.strip() == "no claim is rejected"

    for args in (("claims", "restore", str(sixty)), ("claims", "reject", "999999", "--reason", "x")):
        wrong = run_parley(*args, env=env)
        assert wrong.returncode == 1 and len(wrong.stderr.strip().splitlines()) == 1, wrong.stderr


def test_on_the_demo_rejecting_israels_60_days_takes_its_move_out_of_the_history(
    clean_db: Engine, tmp_path: Path
) -> None:
    sink = tmp_path / "alerts.jsonl"
    settings = Settings(
        database_url=clean_db.url.render_as_string(hide_password=False),  # type: ignore[arg-type]
        data_dir=tmp_path / ".parley",
        allowed_hosts=["127.0.0.1", "localhost"],
        alert_urls=[f"jsonl://{sink}"],  # type: ignore[list-item]
    )
    demo = REPO / "seeds" / "demo"
    with serve_directory(demo) as base:
        add_feeds(clean_db, demo_feeds(demo, base))
        stages.run_once(clean_db, settings, poll_all=True, tag=DEMO_TAG)
    with Session(clean_db) as session:  # the run delivered what it queued
        assert session.scalar(text("SELECT count(*) FROM alerts WHERE status = 'pending'")) == 0
    israel = (
        Position.negotiation == "gaza",
        Position.actor == "israel",
        Position.issue == "ceasefire_duration",
    )
    with Session(clean_db) as session:
        sixty = session.scalars(
            select(PositionSupport.claim_id)
            .join(Position, Position.id == PositionSupport.position_id)
            .where(*israel, Position.value == "60")
        ).all()
    [claim_id] = sixty  # one article says Israel moved to 60 days

    summary = reject_claim(clean_db, settings, claim_id, "not Israel's", "ana")

    # 42 → 60 → 4 becomes 42 → 4: the deal of 01-17 stays where current_positions shows it
    assert (len(summary.withdrawn), summary.created, summary.alerts) == (2, 1, 3)
    with Session(clean_db) as session:
        values = session.scalars(select(Position.value).where(*israel).order_by(Position.valid_from)).all()
        now = session.scalar(
            text(
                "SELECT value FROM current_positions"
                " WHERE negotiation = 'gaza' AND actor = 'israel' AND issue = 'ceasefire_duration'"
            )
        )
        queued = session.execute(
            text("SELECT kind, subject FROM alerts WHERE status = 'pending' ORDER BY id")
        ).all()
    assert (values, now) == (["42", "4"], "4")
    label = "Gaza captives and truce talks: Israel — ceasefire_duration"
    assert [tuple(row) for row in queued] == [
        ("position_change", f"{label}: 42 days → 4 days (proposes → accepts)"),
        ("correction", f"retracted: {label} 60 days, rejected by an analyst: not Israel's"),
        ("correction", f"retracted: {label} 60 days → 4 days, rejected by an analyst: not Israel's"),
    ]
