"""The analysts' role: it reads every table and view (the negotiations, and the views that start with
them, included), writes nothing, and a runaway query is cancelled.

Roles are cluster-wide, so each test module uses role names unique to the run and drops them at the end.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, InternalError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from etl import db, locks
from etl.analysts.role import AnalystRoleError, drop_analyst, grant_analyst
from etl.catalog import load_reference_data
from etl.ledger.store import apply_claims
from etl.settings import PROJECT_ROOT, Settings
from tests.conftest import ADMIN_URL, cli_env_for, run_parley
from tests.db.conftest import VERSION, VIEWS, day, state

PASSWORD = "s3cret-'quoted'-%s"


def unique_role() -> str:
    return f"parley_analyst_t{uuid.uuid4().hex[:10]}"


def connect_as(database_url: str, role: str, password: str = PASSWORD) -> Engine:
    url = make_url(database_url).set(username=role, password=password)
    return create_engine(url, poolclass=NullPool)


@pytest.fixture(scope="module")
def analyst(engine: Engine, database_url: str) -> Iterator[tuple[str, Engine]]:
    """A fresh analyst role with a 1 s statement timeout, and an engine logged in as it."""
    role = unique_role()
    grant_analyst(engine, PASSWORD, role=role, statement_timeout="1s", idle_in_transaction_timeout="10s")
    as_analyst = connect_as(database_url, role)
    yield role, as_analyst
    as_analyst.dispose()
    drop_analyst(engine, role)


def role_exists(engine: Engine, role: str) -> bool:
    with engine.connect() as conn:
        return bool(conn.scalar(text("SELECT count(*) FROM pg_roles WHERE rolname = :r"), {"r": role}))


def test_analyst_logs_in_read_only_with_both_timeouts(analyst: tuple[str, Engine]) -> None:
    role, as_analyst = analyst
    with as_analyst.connect() as conn:
        assert conn.scalar(text("SELECT current_user")) == role
        assert conn.scalar(text("SHOW default_transaction_read_only")) == "on"
        assert conn.scalar(text("SHOW statement_timeout")) == "1s"
        assert conn.scalar(text("SHOW idle_in_transaction_session_timeout")) == "10s"


@pytest.mark.parametrize("view", VIEWS)
def test_analyst_can_select_from_every_view(analyst: tuple[str, Engine], view: str) -> None:
    with analyst[1].connect() as conn:
        assert conn.execute(text(f"SELECT * FROM {view} LIMIT 5")).keys()


def test_analyst_can_select_from_every_base_table(engine: Engine, analyst: tuple[str, Engine]) -> None:
    with engine.connect() as conn:
        tables = conn.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).all()
    assert {"positions", "negotiations"} <= set(tables)
    with analyst[1].connect() as conn:
        for table in tables:
            conn.execute(text(f'SELECT count(*) FROM "{table}"'))


WRITES = {
    "insert": "INSERT INTO actors (id, name, kind) VALUES ('mallory', 'Mallory', 'other')",
    "update": "UPDATE feeds SET title = 'defaced'",
    "delete": "DELETE FROM positions",
    "create": "CREATE TABLE public.analyst_scratch (id int)",
    "insert-negotiation": "INSERT INTO negotiations (key, label) VALUES ('kashmir', 'Kashmir')",
    "update-negotiation": "UPDATE negotiations SET label = 'defaced'",
}


@pytest.mark.parametrize("statement", WRITES.values(), ids=WRITES.keys())
def test_analyst_cannot_write_in_its_default_read_only_session(
    analyst: tuple[str, Engine], statement: str
) -> None:
    with analyst[1].connect() as conn, pytest.raises(InternalError, match="read-only transaction"):
        conn.execute(text(statement))


@pytest.mark.parametrize("statement", WRITES.values(), ids=WRITES.keys())
def test_analyst_cannot_write_even_after_turning_read_only_off(
    analyst: tuple[str, Engine], statement: str
) -> None:
    """The read-only default is a convenience an analyst can switch off; the privileges are the wall."""
    with analyst[1].connect() as conn:
        conn.execute(text("SET default_transaction_read_only = off"))
        conn.commit()
        with pytest.raises(ProgrammingError, match="permission denied"):
            conn.execute(text(statement))


def test_analyst_reads_the_negotiations_and_the_views_by_negotiation(
    clean_db: Engine, analyst: tuple[str, Engine]
) -> None:
    load_reference_data(clean_db, PROJECT_ROOT / "seeds")
    with analyst[1].connect() as conn:
        assert conn.execute(text("SELECT key, label FROM negotiations ORDER BY key")).all() == [
            ("gaza", "Gaza captives and truce talks"),
            ("ukraine", "Russia–Ukraine talks"),
        ]
        assert conn.scalar(text("SELECT count(*) FROM issues WHERE negotiation = 'ukraine'"))
        for view in (v for v in VIEWS if v != "feed_health"):  # the ledger's views
            assert list(conn.execute(text(f"SELECT * FROM {view} LIMIT 0")).keys())[:2] == [
                "negotiation",
                "negotiation_label",
            ], view


def test_an_analyst_granted_before_negotiations_reads_them_after_the_upgrade(
    clean_db: Engine, database_url: str
) -> None:
    """Migration 0012 creates ``negotiations`` and rebuilds the views: the default privileges and the
    grants it gives back reach a role granted at 0011, with no grant-analyst again."""
    role = unique_role()
    head = db.current_revision(clean_db)
    db.downgrade(clean_db, "0011")
    try:
        grant_analyst(clean_db, PASSWORD, role=role)
        with connect_as(database_url, role).connect() as conn:
            assert conn.scalar(text("SELECT to_regclass('negotiations')")) is None
    finally:
        db.upgrade(clean_db)
    try:
        assert db.current_revision(clean_db) == head
        load_reference_data(clean_db, PROJECT_ROOT / "seeds")
        with connect_as(database_url, role).connect() as conn:
            assert conn.scalars(text("SELECT key FROM negotiations ORDER BY key")).all() == [
                "gaza",
                "ukraine",
            ]
            for view in VIEWS:
                conn.execute(text(f"SELECT * FROM {view} LIMIT 1"))
            conn.execute(text("SELECT negotiation, negotiation_label FROM current_positions"))
            conn.execute(text("SET default_transaction_read_only = off"))
            conn.commit()
            with pytest.raises(ProgrammingError, match="permission denied for table negotiations"):
                conn.execute(text("DELETE FROM negotiations"))
    finally:
        drop_analyst(clean_db, role)


def test_runaway_query_is_cancelled_by_the_statement_timeout(analyst: tuple[str, Engine]) -> None:
    started = time.monotonic()
    with analyst[1].connect() as conn, pytest.raises(OperationalError, match="statement timeout"):
        conn.execute(text("SELECT pg_sleep(10)"))
    assert time.monotonic() - started < 5


def test_granting_twice_changes_nothing_but_the_password(engine: Engine, database_url: str) -> None:
    role = unique_role()
    try:
        first = grant_analyst(engine, "first-password", role=role)
        snapshot = role_snapshot(engine, role)
        again = grant_analyst(engine, PASSWORD, role=role)
        assert (first.created, again.created) == (True, False)
        assert role_snapshot(engine, role) == snapshot
        assert sorted(snapshot["config"]) == [
            "default_transaction_read_only=on",
            "idle_in_transaction_session_timeout=5min",
            "statement_timeout=30s",
        ]
        with connect_as(database_url, role).connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM current_positions")) is not None
    finally:
        drop_analyst(engine, role)
    assert not role_exists(engine, role)


def role_snapshot(engine: Engine, role: str) -> dict[str, object]:
    with engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolconfig"
                " FROM pg_roles WHERE rolname = :r"
            ),
            {"r": role},
        ).one()
        grants = conn.scalars(
            text(
                "SELECT table_name || ':' || privilege_type FROM information_schema.role_table_grants"
                " WHERE grantee = :r ORDER BY 1"
            ),
            {"r": role},
        ).all()
        defaults = conn.scalars(
            text("SELECT defaclacl::text FROM pg_default_acl WHERE defaclacl::text LIKE :pattern"),
            {"pattern": f"%{role}=%"},
        ).all()
    assert found.rolcanlogin and not (found.rolsuper or found.rolcreatedb or found.rolcreaterole)
    assert grants and all(g.endswith(":SELECT") for g in grants)
    return {"config": found.rolconfig, "grants": grants, "defaults": defaults}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"role": "Robert'); DROP TABLE feeds;--"}, "role name"),
        ({"statement_timeout": "30s; DROP TABLE feeds"}, "not a duration"),
        ({"idle_in_transaction_timeout": "forever"}, "not a duration"),
        ({"connection_limit": 0}, "connection limit"),
    ],
)
def test_bad_role_names_and_timeouts_are_refused_before_anything_runs(
    engine: Engine, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(AnalystRoleError, match=message):
        grant_analyst(engine, PASSWORD, **kwargs)


def test_downgrade_base_then_upgrade_head_with_the_role_in_place(
    clean_db: Engine, analyst: tuple[str, Engine]
) -> None:
    """Dropping views and tables the role may read is not blocked by its grants, and the default
    privileges give it the rebuilt ones without granting again. (The database is emptied first: 0012
    refuses to go below itself while another negotiation than gaza is stored.)"""
    engine = clean_db
    head = db.current_revision(engine)
    db.downgrade(engine, "base")
    with engine.connect() as conn:
        assert not conn.scalar(
            text("SELECT count(*) FROM pg_views WHERE schemaname = 'public' AND viewname = ANY(:v)"),
            {"v": VIEWS},
        )
    db.upgrade(engine)
    assert db.current_revision(engine) == head
    with analyst[1].connect() as conn:
        for view in VIEWS:
            conn.execute(text(f"SELECT * FROM {view} LIMIT 1"))
        with pytest.raises(DBAPIError):
            conn.execute(text("DELETE FROM feeds"))


def test_cli_grants_the_role_and_says_so_each_time(engine: Engine, database_url: str) -> None:
    role = unique_role()
    env = cli_env_for(database_url) | {"ANALYST_PW": PASSWORD}
    try:
        first = run_parley("db", "grant-analyst", "--password-env", "ANALYST_PW", "--role", role, env=env)
        again = run_parley("db", "grant-analyst", "--password-env", "ANALYST_PW", "--role", role, env=env)
        assert first.returncode == 0, first.stderr
        assert f"role {role} created" in first.stdout
        assert again.returncode == 0, again.stderr
        assert f"role {role} updated" in again.stdout
        with connect_as(database_url, role).connect() as conn:
            assert conn.scalar(text("SHOW statement_timeout")) == "30s"
            assert conn.scalar(text("SELECT rolconnlimit FROM pg_roles WHERE rolname = current_user")) == 10
        limited = run_parley(
            "db", "grant-analyst", "--password-env", "ANALYST_PW", "--role", role, "--connection-limit", "3",
            env=env,
        )  # fmt: skip
        assert limited.returncode == 0, limited.stderr
        with connect_as(database_url, role).connect() as conn:
            assert conn.scalar(text("SELECT rolconnlimit FROM pg_roles WHERE rolname = current_user")) == 3
    finally:
        drop_analyst(engine, role)


def test_cli_without_the_password_variable_fails_in_one_line(engine: Engine, database_url: str) -> None:
    role = unique_role()
    env = cli_env_for(database_url)
    env.pop("NO_SUCH_PW", None)
    result = run_parley("db", "grant-analyst", "--password-env", "NO_SUCH_PW", "--role", role, env=env)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "NO_SUCH_PW" in result.stderr
    assert not role_exists(engine, role)


def test_the_cli_grants_then_revokes_the_role_and_a_second_revoke_says_it_is_gone(
    engine: Engine, database_url: str
) -> None:
    from tests.conftest import cli_env_for, run_parley

    role = unique_role()
    env = cli_env_for(database_url, ANALYST_PASSWORD=PASSWORD)
    granted = run_parley(
        "db", "grant-analyst", "--password-env", "PARLEY_ANALYST_PASSWORD", "--role", role, env=env
    )
    assert granted.returncode == 0, granted.stderr
    assert role_exists(engine, role)

    revoked = run_parley("db", "revoke-analyst", "--role", role, env=env)
    assert (revoked.returncode, revoked.stdout.strip()) == (0, f"role {role} dropped"), revoked.stderr
    assert not role_exists(engine, role)
    again = run_parley("db", "revoke-analyst", "--role", role, env=env)
    assert (again.returncode, again.stdout.strip()) == (0, f"role {role} did not exist")


# --- what the privileges stop, whatever the session's settings ------------------------------------

LARGE_OBJECTS = {
    "lo_from_bytea": "SELECT lo_from_bytea(0, 'x')",
    "lo_create": "SELECT lo_create(0)",
    "lo_creat": "SELECT lo_creat(-1)",
    "lo_put": "SELECT lo_put(1, 0, 'x')",
}


@pytest.mark.parametrize("read_only", ["on", "off"])
@pytest.mark.parametrize("statement", LARGE_OBJECTS.values(), ids=LARGE_OBJECTS.keys())
def test_analyst_cannot_create_or_write_large_objects(
    analyst: tuple[str, Engine], statement: str, read_only: str
) -> None:
    """Large objects are written even in a read-only transaction: EXECUTE on them is revoked."""
    with analyst[1].connect() as conn:
        conn.execute(text(f"SET default_transaction_read_only = {read_only}"))
        conn.commit()
        with pytest.raises(ProgrammingError, match="permission denied for function lo_"):
            conn.execute(text(statement))


@pytest.mark.parametrize(
    ("read_only", "refusal"),
    [("on", "read-only transaction"), ("off", "permission denied to create temporary tables")],
)
def test_analyst_cannot_create_temporary_tables(
    analyst: tuple[str, Engine], read_only: str, refusal: str
) -> None:
    with analyst[1].connect() as conn:
        conn.execute(text(f"SET default_transaction_read_only = {read_only}"))
        conn.commit()
        with pytest.raises(DBAPIError, match=refusal):
            conn.execute(text("CREATE TEMPORARY TABLE scratch (id int)"))


def test_the_pipeline_role_keeps_temporary_tables(engine: Engine, analyst: tuple[str, Engine]) -> None:
    with engine.connect() as conn:
        owner = conn.scalar(text("SELECT tableowner FROM pg_tables WHERE tablename = 'alembic_version'"))
        assert conn.scalar(
            text("SELECT has_database_privilege(:r, current_database(), 'TEMPORARY')"), {"r": owner}
        )
        assert not conn.scalar(
            text("SELECT has_database_privilege(:r, current_database(), 'TEMPORARY')"), {"r": analyst[0]}
        )


@pytest.mark.parametrize("mode", ["UPDATE", "NO KEY UPDATE", "SHARE", "KEY SHARE"])
def test_analyst_cannot_lock_the_pipeline_locks(
    engine: Engine, analyst: tuple[str, Engine], mode: str
) -> None:
    """Any row lock on them, even a shared one, would make the pipeline's FOR UPDATE wait."""
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO pipeline_locks VALUES ('ledger') ON CONFLICT DO NOTHING"))
    with analyst[1].connect() as conn:
        conn.execute(text("SET default_transaction_read_only = off"))
        conn.commit()
        assert conn.scalar(text("SELECT count(*) FROM pipeline_locks WHERE name = 'ledger'")) == 1
        with pytest.raises(ProgrammingError, match="permission denied for table pipeline_locks"):
            conn.execute(text(f"SELECT name FROM pipeline_locks WHERE name = 'ledger' FOR {mode}"))


def test_an_analyst_holding_every_lock_it_can_does_not_stall_the_ledger(
    ledger_db: Engine, settings: Settings, analyst: tuple[str, Engine]
) -> None:
    """The old advisory key, a table lock and an open transaction reading the lock rows: diff goes on."""
    state(ledger_db, "israel", "ceasefire_duration", "42", "proposes", day(1))
    with Session(ledger_db) as session, session.begin():
        locks.hold(session, locks.LEDGER, timeout=5)  # the row exists (tests empty the tables)
    done: list[int] = []
    with analyst[1].connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(x'6C6564676572'::bigint)"))  # the former ledger key
        conn.execute(text("LOCK TABLE pipeline_locks IN ACCESS SHARE MODE"))
        conn.execute(text("SELECT * FROM pipeline_locks"))
        writer = threading.Thread(
            target=lambda: done.append(
                apply_claims(
                    ledger_db, settings.with_changes(lock_timeout_seconds=5), [], version=VERSION
                ).claims
            )
        )
        writer.start()
        writer.join(20)
        assert done == [1]


def test_analyst_cannot_connect_to_another_database(engine: Engine, database_url: str) -> None:
    other = f"parley_other_{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{other}"'))
    role = unique_role()
    closed: tuple[str, ...] = ()
    elsewhere = make_url(database_url).set(database=other).render_as_string(hide_password=False)
    try:
        left_open = grant_analyst(engine, PASSWORD, role=role)
        assert other in left_open.still_open and other in left_open.line() and not left_open.closed
        with connect_as(elsewhere, role).connect() as conn:  # the default touches no other database
            assert conn.scalar(text("SELECT current_database()")) == other

        grant = grant_analyst(engine, PASSWORD, role=role, close_other_databases=True)
        closed = grant.closed
        assert other in grant.closed and other in grant.line()
        with pytest.raises(OperationalError, match=f'permission denied for database "{other}"'):
            connect_as(elsewhere, role).connect()
        with connect_as(database_url, role).connect() as conn:
            assert conn.scalar(text("SELECT current_database()")) == make_url(database_url).database
    finally:
        drop_analyst(engine, role)
        with admin.connect() as conn:
            for name in closed:  # the cluster is shared: give back what the test took
                if name != other:
                    conn.execute(text(f'GRANT CONNECT ON DATABASE "{name}" TO PUBLIC'))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{other}" WITH (FORCE)'))
        admin.dispose()


def test_analyst_sessions_are_capped_by_a_limit_it_cannot_raise(engine: Engine, database_url: str) -> None:
    """The role may SET statement_timeout = 0 (PostgreSQL lets any role); what bounds its share of the
    server is its connection limit, which only an administrator can change."""
    role = unique_role()
    try:
        grant_analyst(engine, PASSWORD, role=role, connection_limit=2)
        as_role = connect_as(database_url, role)
        with as_role.connect() as first, as_role.connect():
            with pytest.raises(OperationalError, match="too many connections for role"):
                as_role.connect()
            first.execute(text("SET default_transaction_read_only = off"))
            first.commit()
            with pytest.raises(ProgrammingError, match="permission denied"):
                first.execute(text(f"ALTER ROLE {role} CONNECTION LIMIT -1"))
    finally:
        drop_analyst(engine, role)
