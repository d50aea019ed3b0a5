"""`parley positions` and `parley changes` show every negotiation, each row naming its own, and
--negotiation KEY keeps one; an unknown key is one line naming the known ones, and exit status 1."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from etl.catalog import load_reference_data
from etl.ledger.store import apply_claims
from etl.settings import PROJECT_ROOT, Settings
from models import Feed
from tests.conftest import run_parley
from tests.db.conftest import VERSION, day, state
from tests.e2e.test_cli import error_line

KNOWN = "the known negotiations are gaza, ukraine"


@pytest.fixture
def two_ledgers(clean_db: Engine, settings: Settings) -> Engine:
    """The US on a truce's length in both negotiations (the same issue key), and one party of each."""
    load_reference_data(clean_db, PROJECT_ROOT / "seeds")
    with clean_db.begin() as conn:
        conn.execute(insert(Feed), [{"url": "http://outlet1.example/rss", "title": "Outlet 1"}])
    state(clean_db, "united_states", "ceasefire_duration", "60", "proposes", day(2), negotiation="gaza")
    state(clean_db, "hamas", "hostages_released", "all", "rejects", day(3), negotiation="gaza")
    state(clean_db, "united_states", "ceasefire_duration", "30", "proposes", day(4), negotiation="ukraine")
    state(clean_db, "russia", "ceasefire", "yes", "rejects", day(5), negotiation="ukraine")
    apply_claims(clean_db, settings, [], version=VERSION)
    return clean_db


def table_rows(stdout: str) -> list[list[str]]:
    """The body rows of a Rich table as cells (its box-drawing borders dropped)."""
    return [
        [cell.strip() for cell in line.strip("│ ").split("│")] for line in stdout.splitlines() if "│" in line
    ]


def test_positions_show_every_negotiation_each_row_naming_its_own(
    two_ledgers: Engine, cli_env: dict[str, str]
) -> None:
    result = run_parley("positions", env=cli_env | {"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert "current positions" in result.stdout
    assert [row[:4] for row in table_rows(result.stdout)] == [
        ["gaza", "hamas", "hostages_released", "all"],
        ["gaza", "united_states", "ceasefire_duration", "60"],
        ["ukraine", "russia", "ceasefire", "yes"],
        ["ukraine", "united_states", "ceasefire_duration", "30"],
    ]


def test_positions_of_one_negotiation(two_ledgers: Engine, cli_env: dict[str, str]) -> None:
    result = run_parley("positions", "--negotiation", "ukraine", env=cli_env | {"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert "current positions: Russia–Ukraine talks" in result.stdout
    assert [row[:4] for row in table_rows(result.stdout)] == [
        ["ukraine", "russia", "ceasefire", "yes"],
        ["ukraine", "united_states", "ceasefire_duration", "30"],
    ]


def test_changes_of_one_negotiation_as_json_carry_its_key_and_label(
    two_ledgers: Engine, cli_env: dict[str, str]
) -> None:
    every = run_parley("changes", "--since", "2024-12-01", "--json", env=cli_env)
    gaza = run_parley("changes", "--since", "2024-12-01", "--json", "--negotiation", "gaza", env=cli_env)
    assert every.returncode == 0 and gaza.returncode == 0, every.stderr + gaza.stderr
    payloads = [json.loads(line) for line in gaza.stdout.splitlines()]
    assert [(p["negotiation"], p["negotiation_label"], p["actor"], p["issue"]) for p in payloads] == [
        ("gaza", "Gaza captives and truce talks", "united_states", "ceasefire_duration"),
        ("gaza", "Gaza captives and truce talks", "hamas", "hostages_released"),
    ]
    assert [json.loads(line)["negotiation"] for line in every.stdout.splitlines()] == [
        "gaza", "gaza", "ukraine", "ukraine"
    ]  # fmt: skip


def test_changes_table_names_each_rows_negotiation(two_ledgers: Engine, cli_env: dict[str, str]) -> None:
    result = run_parley(
        "changes", "--since", "2024-12-01", "--negotiation", "ukraine", env=cli_env | {"COLUMNS": "200"}
    )
    assert result.returncode == 0, result.stderr
    assert "changes since 2024-12-01: Russia–Ukraine talks" in result.stdout
    assert [row[1:4] for row in table_rows(result.stdout)] == [
        ["ukraine", "united_states", "ceasefire_duration"],
        ["ukraine", "russia", "ceasefire"],
    ]


@pytest.mark.parametrize("command", [["positions"], ["changes", "--json"]])
def test_an_unknown_negotiation_is_one_line_naming_the_known_ones(
    two_ledgers: Engine, cli_env: dict[str, str], command: list[str]
) -> None:
    result = run_parley(*command, "--negotiation", "Gaza", env=cli_env)
    assert error_line(result) == f"parley: error: no negotiation 'Gaza': {KNOWN}"
    assert result.stdout == ""
