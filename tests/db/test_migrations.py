"""Alembic is the only way the schema changes: it builds, tears down and rebuilds the schema."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from etl import db
from models import Base


def test_upgrade_head_creates_every_model_table(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert db.current_revision(engine) is not None


def test_downgrade_base_then_upgrade_head_round_trips(clean_db: Engine) -> None:
    # (emptied: a downgrade below 0012 refuses while another negotiation's rows exist, see
    # test_migration_negotiations.py)
    engine = clean_db
    head = db.current_revision(engine)
    db.downgrade(engine, "base")
    assert db.current_revision(engine) is None
    assert not set(Base.metadata.tables) & set(inspect(engine).get_table_names())
    db.upgrade(engine)
    assert db.current_revision(engine) == head
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())


def test_the_schema_head_the_code_expects_is_alembics_head(engine: Engine) -> None:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(db.alembic_config(str(engine.url)))
    assert scripts.get_current_head() == db.SCHEMA_HEAD
    assert db.current_revision(engine) == db.SCHEMA_HEAD
    db.require_schema(engine)  # does not raise


def test_a_schema_behind_the_code_is_a_one_line_error(clean_db: Engine) -> None:
    engine = clean_db
    db.downgrade(engine, "-1")
    try:
        with pytest.raises(
            db.DatabaseUnavailable,
            match=r"^database schema is at \d+, code expects \d+: run 'parley db upgrade'$",
        ):
            db.require_schema(engine)
    finally:
        db.upgrade(engine)
    assert db.current_revision(engine) == db.SCHEMA_HEAD


def test_models_match_migrations(engine: Engine) -> None:
    """Autogenerate finds nothing to do: the models and the migrations describe the same schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_every_closed_set_is_checked_by_the_database_as_the_models_declare(engine: Engine) -> None:
    from sqlalchemy import text

    from models.enums import CHECKED_COLUMNS

    with engine.connect() as conn:
        stored = dict(
            conn.execute(
                text(
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE contype = 'c' AND connamespace = 'public'::regnamespace"
                )
            ).all()
        )
    for table, column, values, nullable in CHECKED_COLUMNS:
        definition = stored[f"ck_{table}_{column}"]
        for member in values:
            assert f"'{member.value}'" in definition, (table, column, member)
        assert ("IS NULL" in definition) == nullable, (table, column, definition)


def test_the_database_refuses_a_stance_outside_the_codebook(engine: Engine) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    with engine.connect() as conn, pytest.raises(IntegrityError, match="ck_positions_stance"):
        conn.execute(
            text(
                "INSERT INTO positions (negotiation, actor, issue, value, stance, valid_from) "
                "VALUES ('gaza', 'x', 'y', '1', 'insists', now())"
            )
        )
