"""Bad input given to the ``parley`` command line (item and gold files, seeds, feed URLs) ends the
command with one line on stderr naming what is wrong, exit status 1, no traceback and nothing
half-written."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from models import Feed, Issue
from tests.conftest import REPO, run_parley


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single line a failed command printed on stderr (asserting there is exactly one)."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("parley: error:"), lines[0]
    return lines[0]


def count(engine: Engine, model: type[Feed] | type[Issue]) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


# --- seeds ---------------------------------------------------------------------------------------


def test_seed_with_a_bad_issue_pattern_exits_1_naming_file_entry_and_field(
    clean_db: Engine, cli_env: dict[str, str], tmp_path: Path
) -> None:
    shutil.copy(REPO / "seeds" / "actors.yaml", tmp_path / "actors.yaml")
    issues = (REPO / "seeds" / "issues.yaml").read_text(encoding="utf-8")
    first_pattern = "    patterns:\n"
    assert first_pattern in issues
    (tmp_path / "issues.yaml").write_text(
        issues.replace(first_pattern, first_pattern + "      - '*bad('\n", 1), encoding="utf-8"
    )
    line = error_line(run_parley("seed", "--dir", str(tmp_path), env=cli_env))
    assert f"{tmp_path / 'issues.yaml'}: entry #1" in line
    assert "field 'patterns' item #1: not a valid regex: nothing to repeat" in line
    assert count(clean_db, Issue) == 0  # refused before anything was written
