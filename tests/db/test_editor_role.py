"""The editor role: logged in as it, ``parley claims reject | restore | add`` work and the ledger
follows; it cannot rewrite the audit nor do any other write of the pipeline; the read-only analyst
still cannot correct. Granting is idempotent, refuses bad input before anything runs, and the
command says what it did in one line.

Roles are cluster-wide, so the module uses role names unique to the run and drops them at the end.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, ProgrammingError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from etl.analysts.role import (
    ANALYST_ROLE,
    AnalystRoleError,
    drop_analyst,
    grant_analyst,
    grant_editor,
)
from etl.ledger.additions import ClaimText, add_claim
from etl.ledger.corrections import reject_claim, restore_claim
from etl.ledger.store import ANALYST, apply_claims
from etl.settings import Settings
from models import Alert, Article, Claim, ClaimCorrection, Feed
from tests.conftest import cli_env_for, run_parley
from tests.db.conftest import VERSION, day, state
from tests.db.test_ledger import history

PASSWORD = "3d1tor-'quoted'-%s"
CHANNELS = ["console://", "jsonl:///tmp/parley-test-unused.jsonl"]
KEY = ("israel", "ceasefire_duration")
ANALYSTS_FEED = "parley:analysts"  # the feed of the sources parley had not archived
# every write the editor holds, written out here rather than read from EDITOR_WRITES: a privilege
# added there by mistake fails this test
EDITOR_TABLE_WRITES = sorted(
    [
        "alerts:INSERT",
        "alerts_id_seq:USAGE",
        "articles:INSERT",
        "articles_id_seq:USAGE",
        "claim_corrections:INSERT",
        "claim_corrections_id_seq:USAGE",
        "claims:INSERT",
        "claims_id_seq:USAGE",
        "position_changes:DELETE",
        "position_changes:INSERT",
        "position_changes:UPDATE",
        "position_changes_id_seq:USAGE",
        "position_support:DELETE",
        "position_support:INSERT",
        "positions:DELETE",
        "positions:INSERT",
        "positions:UPDATE",
        "positions_id_seq:USAGE",
    ]
)
EDITOR_COLUMN_WRITES = ["claims.in_ledger:UPDATE", "pipeline_locks.name:UPDATE"]


def unique_role(kind: str = "editor") -> str:
    return f"parley_{kind}_t{uuid.uuid4().hex[:10]}"


def connect_as(database_url: str, role: str, **connect_args: Any) -> Engine:
    url = make_url(database_url).set(username=role, password=PASSWORD)
    return create_engine(url, poolclass=NullPool, connect_args=connect_args)


def role_exists(engine: Engine, role: str) -> bool:
    with engine.connect() as conn:
        return bool(conn.scalar(text("SELECT count(*) FROM pg_roles WHERE rolname = :r"), {"r": role}))


@pytest.fixture(scope="module")
def editor(engine: Engine, database_url: str) -> Iterator[tuple[str, Engine]]:
    """A fresh editor role, and an engine logged in as it."""
    role = unique_role()
    grant_editor(engine, PASSWORD, role=role)
    as_editor = connect_as(database_url, role)
    yield role, as_editor
    as_editor.dispose()
    drop_analyst(engine, role)


@pytest.fixture(scope="module")
def analyst(engine: Engine, database_url: str) -> Iterator[tuple[str, Engine]]:
    """A fresh read-only analyst role, and an engine logged in as it."""
    role = unique_role("analyst")
    grant_analyst(engine, PASSWORD, role=role)
    as_analyst = connect_as(database_url, role)
    yield role, as_analyst
    as_analyst.dispose()
    drop_analyst(engine, role)


@pytest.fixture
def story(ledger_db: Engine, settings: Settings, editor: tuple[str, Engine]) -> dict[str, int]:
    """Israel 42 → 60 on ceasefire_duration, applied by the pipeline's own role with alerts on two
    channels; then grant-editor run again, as after a deployment: the tests empty every table, and the
    rows an editor may not insert itself (the ledger's lock, the analysts' feed) are its to make."""
    ids = {
        "42": state(ledger_db, *KEY, "42", "proposes", day(2)),
        "60": state(ledger_db, *KEY, "60", "proposes", day(9)),
    }
    applied = apply_claims(ledger_db, settings, CHANNELS, version=VERSION)
    assert (applied.new_positions, applied.changes, applied.alerts) == (1, 1, 4)
    assert not grant_editor(ledger_db, PASSWORD, role=editor[0]).created
    return ids


def audit(engine: Engine) -> list[tuple[int, str, int | None, str, str | None]]:
    with Session(engine) as session:
        rows = session.execute(
            select(
                ClaimCorrection.id,
                ClaimCorrection.action,
                ClaimCorrection.claim_id,
                ClaimCorrection.corrected_by,
                ClaimCorrection.reason,
            ).order_by(ClaimCorrection.id)
        ).all()
    return [(id, action, claim, by, reason) for id, action, claim, by, reason in rows]


def values_held(engine: Engine) -> list[tuple[str, bool]]:
    """The key's history: each value, and whether it holds now."""
    return [(value, end is None) for value, _, _, end in history(engine, *KEY)]


def alert_count(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(Alert)) or 0)


# --- what the editor may do ----------------------------------------------------------------------


def test_the_editor_rejects_and_restores_a_claim_and_the_ledger_follows(
    ledger_db: Engine, settings: Settings, editor: tuple[str, Engine], story: dict[str, int]
) -> None:
    role, as_editor = editor
    with as_editor.connect() as conn:
        assert conn.scalar(text("SELECT current_user")) == role

    rejected = reject_claim(as_editor, settings, story["60"], "misread: 60 was Hamas's", "ana", CHANNELS)

    assert (len(rejected.withdrawn), rejected.created, rejected.alerts) == (1, 0, 2)
    assert values_held(ledger_db) == [("42", True)]
    assert alert_count(ledger_db) == 4 + 2  # a retraction on each channel

    restored = restore_claim(as_editor, settings, story["60"], "bob", "it was Israel's", CHANNELS)

    assert (restored.withdrawn, restored.created, restored.alerts) == ([], 1, 2)
    assert values_held(ledger_db) == [("42", False), ("60", True)]
    assert alert_count(ledger_db) == 6 + 2
    assert [row[1:] for row in audit(ledger_db)] == [
        ("reject", story["60"], "ana", "misread: 60 was Hamas's"),
        ("restore", story["60"], "bob", "it was Israel's"),
    ]


def test_the_editor_adds_a_claim_from_a_new_source_and_from_the_archive(
    ledger_db: Engine, settings: Settings, editor: tuple[str, Engine], story: dict[str, int]
) -> None:
    as_editor = editor[1]
    briefing = ClaimText(
        "gaza", "israel", "ceasefire_duration", "30", "proposes", "https://analysts.example.org/brief",
        "Israel floated a 30-day truce.", published_at=day(12),
    )  # fmt: skip

    added = add_claim(as_editor, settings, briefing, "ana", "read in a briefing", channels=CHANNELS)

    assert (added.archived, added.withdrawn, added.created, added.alerts) == (False, [], 1, 2)
    assert values_held(ledger_db) == [("42", False), ("60", False), ("30", True)]
    with Session(ledger_db) as session:
        feed = session.scalar(
            select(Feed.url).join(Article, Article.feed_id == Feed.id).where(Article.id == added.article_id)
        )
        archived_url = session.scalar(
            select(Article.url).join(Claim, Claim.article_id == Article.id).where(Claim.id == story["42"])
        )
    assert feed == ANALYSTS_FEED
    assert archived_url is not None

    # a claim of the article the 42 was read in, on another actor's key
    from_archive = add_claim(
        as_editor,
        settings,
        ClaimText("gaza", "hamas", "permanent_ceasefire", "yes", "demands", archived_url, "Hamas demands."),
        "bob",
        channels=CHANNELS,
    )

    assert from_archive.archived and from_archive.created == 1
    assert from_archive.article_id != added.article_id
    assert [row[1:] for row in audit(ledger_db)] == [
        ("add", added.claim_id, "ana", "read in a briefing"),
        ("add", from_archive.claim_id, "bob", None),
    ]
    with Session(ledger_db) as session:
        versions = session.scalars(
            select(Claim.extractor_version).where(Claim.id.in_([added.claim_id, from_archive.claim_id]))
        ).all()
    assert versions == [ANALYST, ANALYST]


# --- what the editor may not do ------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE claim_corrections SET reason = 'nothing happened'",
        "DELETE FROM claim_corrections",
        "TRUNCATE claim_corrections",
    ],
    ids=["update", "delete", "truncate"],
)
def test_the_audit_is_append_only_for_the_editor(
    ledger_db: Engine,
    settings: Settings,
    editor: tuple[str, Engine],
    story: dict[str, int],
    statement: str,
) -> None:
    as_editor = editor[1]
    reject_claim(as_editor, settings, story["60"], "misread", "ana", CHANNELS)  # the editor's own row
    before = audit(ledger_db)
    assert len(before) == 1

    with (
        as_editor.connect() as conn,
        pytest.raises(ProgrammingError, match="permission denied for table claim_corrections"),
    ):
        conn.execute(text(statement))

    assert audit(ledger_db) == before


@pytest.mark.parametrize(
    ("statement", "refusal"),
    [
        ("INSERT INTO feeds (url, title) VALUES ('https://rogue.example/rss', 'rogue')", "for table feeds"),
        ("UPDATE feeds SET active = false", "for table feeds"),
        ("DELETE FROM feeds", "for table feeds"),
        ("INSERT INTO feed_fetches DEFAULT VALUES", "for table feed_fetches"),
        ("INSERT INTO article_extractions DEFAULT VALUES", "for table article_extractions"),
        ("INSERT INTO mentions DEFAULT VALUES", "for table mentions"),
        ("UPDATE alerts SET status = 'sent', sent_at = now()", "for table alerts"),
        ("DELETE FROM alerts", "for table alerts"),
        ("DELETE FROM articles", "for table articles"),
        ("UPDATE articles SET title = 'rewritten'", "for table articles"),
        ("UPDATE claims SET value = '99'", "for table claims"),
        ("DELETE FROM claims", "for table claims"),
        ("UPDATE issues SET value_type = 'flag'", "for table issues"),
        ("DELETE FROM pipeline_locks", "for table pipeline_locks"),
        ("CREATE TABLE scratch (id int)", "for schema public"),
        ("CREATE TEMPORARY TABLE scratch (id int)", "to create temporary tables"),
        ("SELECT lo_from_bytea(0, 'x')", "for function lo_from_bytea"),
    ],
)
def test_the_editor_cannot_do_the_pipelines_other_writes(
    editor: tuple[str, Engine], statement: str, refusal: str
) -> None:
    """Refused on the privileges, before a row is read: whatever the tables hold."""
    with editor[1].connect() as conn, pytest.raises(DBAPIError, match=f"permission denied {refusal}"):
        conn.execute(text(statement))


def test_the_read_only_analyst_still_cannot_reject_a_claim(
    ledger_db: Engine, settings: Settings, analyst: tuple[str, Engine], story: dict[str, int]
) -> None:
    as_analyst = analyst[1]
    before = (values_held(ledger_db), alert_count(ledger_db))

    with pytest.raises(DBAPIError, match="cannot execute SELECT FOR UPDATE in a read-only transaction"):
        reject_claim(as_analyst, settings, story["60"], "misread", "ana", CHANNELS)

    assert (values_held(ledger_db), alert_count(ledger_db), audit(ledger_db)) == (*before, [])


def test_an_analyst_who_turns_read_only_off_still_cannot_take_the_ledger_lock(
    ledger_db: Engine,
    settings: Settings,
    analyst: tuple[str, Engine],
    database_url: str,
    story: dict[str, int],
) -> None:
    """The read-only default is the role's to SET back; the privileges are not."""
    writable = connect_as(database_url, analyst[0], options="-c default_transaction_read_only=off")
    try:
        with writable.connect() as conn:
            assert conn.scalar(text("SHOW default_transaction_read_only")) == "off"
        with pytest.raises(ProgrammingError, match="permission denied for table pipeline_locks"):
            reject_claim(writable, settings, story["60"], "misread", "ana", CHANNELS)
        words = ClaimText(
            "gaza", "israel", "ceasefire_duration", "30", "proposes", "https://a.example/b", "x"
        )
        with pytest.raises(ProgrammingError, match="permission denied for table pipeline_locks"):
            add_claim(writable, settings, words, "ana", channels=CHANNELS)
    finally:
        writable.dispose()
    assert (values_held(ledger_db), audit(ledger_db)) == ([("42", False), ("60", True)], [])


# --- granting ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Privileges:
    role: tuple[Any, ...]
    """can log in, superuser, create databases, create roles, inherit, connection limit, settings"""
    writes: list[str]
    """table:privilege on parley's tables and sequences, SELECT left out"""
    columns: list[str]
    """table.column:privilege"""
    unreadable: list[str]
    """tables and views it may not SELECT"""
    database: tuple[bool, bool]
    """CONNECT, TEMPORARY"""
    defaults: list[str]
    """default privileges naming it"""


def privileges(engine: Engine, role: str) -> Privileges:
    """What ``role`` is, and every privilege it holds in this database."""
    with engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolinherit, rolconnlimit,"
                " rolconfig FROM pg_roles WHERE rolname = :r"
            ),
            {"r": role},
        ).one()
        on_tables = conn.scalars(
            text(
                "SELECT c.relname || ':' || x.privilege_type FROM pg_class c, aclexplode(c.relacl) x"
                " WHERE c.relnamespace = 'public'::regnamespace AND x.grantee = to_regrole(:r) ORDER BY 1"
            ),
            {"r": role},
        ).all()
        on_columns = conn.scalars(
            text(
                "SELECT c.relname || '.' || a.attname || ':' || x.privilege_type"
                " FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid, aclexplode(a.attacl) x"
                " WHERE c.relnamespace = 'public'::regnamespace AND x.grantee = to_regrole(:r) ORDER BY 1"
            ),
            {"r": role},
        ).all()
        readable = conn.scalars(
            text(
                "SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace"
                " AND c.relkind IN ('r', 'v') AND NOT has_table_privilege(:r, c.oid, 'SELECT') ORDER BY 1"
            ),
            {"r": role},
        ).all()
        on_database = conn.execute(
            text(
                "SELECT has_database_privilege(:r, current_database(), 'CONNECT'),"
                " has_database_privilege(:r, current_database(), 'TEMPORARY')"
            ),
            {"r": role},
        ).one()
        defaults = conn.scalars(
            text("SELECT defaclacl::text FROM pg_default_acl WHERE defaclacl::text LIKE :pattern"),
            {"pattern": f"%{role}=%"},
        ).all()
    return Privileges(
        role=tuple(found),
        writes=[grant for grant in on_tables if not grant.endswith(":SELECT")],
        columns=list(on_columns),
        unreadable=list(readable),
        database=(bool(on_database[0]), bool(on_database[1])),
        defaults=list(defaults),
    )


def test_granting_the_editor_twice_gives_the_same_privileges_and_says_updated(
    engine: Engine, database_url: str
) -> None:
    role = unique_role()
    try:
        first = grant_editor(engine, "first-password", role=role)
        granted = privileges(engine, role)
        again = grant_editor(engine, PASSWORD, role=role)

        assert (first.created, again.created) == (True, False)
        assert first.line().startswith(f"role {role} created: reads database ")
        assert again.line().startswith(f"role {role} updated: reads database ")
        assert privileges(engine, role) == granted
        assert granted.role == (
            True, False, False, False, False, 5,
            ["statement_timeout=60s", "idle_in_transaction_session_timeout=5min"],
        )  # fmt: skip
        assert granted.writes == EDITOR_TABLE_WRITES
        assert granted.columns == EDITOR_COLUMN_WRITES
        assert granted.unreadable == []  # every table and view
        assert granted.database == (True, False)  # connects; no temporary tables
        assert len(granted.defaults) == 1  # SELECT on the tables migrations create later
        with connect_as(database_url, role).connect() as conn:  # the second grant's password
            assert conn.scalar(text("SHOW default_transaction_read_only")) == "off"
            assert conn.scalar(text("SHOW statement_timeout")) == "1min"
    finally:
        drop_analyst(engine, role)
    assert not role_exists(engine, role)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"role": ANALYST_ROLE},
            "parley_analyst is the read-only analyst role: give the editor another name",
        ),
        ({"role": "Robert'); DROP TABLE feeds;--"}, "role name"),
        ({"role": "Editor"}, "must be lower-case letters, digits and underscores"),
        ({"role": ""}, "role name"),
        ({"password": ""}, "the editor password is empty"),
        ({"statement_timeout": "60s; DROP TABLE feeds"}, "is not a duration like 60s"),
        ({"statement_timeout": "forever"}, "is not a duration like 60s"),
        ({"connection_limit": 0}, "connection limit 0 must be at least 1"),
    ],
)
def test_bad_editor_grants_are_refused_in_one_line_before_anything_runs(
    engine: Engine, kwargs: dict[str, Any], message: str
) -> None:
    arguments: dict[str, Any] = {"password": PASSWORD, "role": unique_role()} | kwargs
    with pytest.raises(AnalystRoleError) as raised:
        grant_editor(engine, **arguments)
    assert message in str(raised.value) and "\n" not in str(raised.value)
    assert arguments["role"] == ANALYST_ROLE or not role_exists(engine, arguments["role"])


# --- the command line ----------------------------------------------------------------------------


def test_cli_grants_the_editor_and_says_so_in_one_line_each_time(engine: Engine, database_url: str) -> None:
    role = unique_role()
    env = cli_env_for(database_url) | {"EDITOR_PW": PASSWORD}
    for terminal in ("COLUMNS", "LINES"):  # as when the output goes to a file or a pipe
        env.pop(terminal, None)
    database = make_url(database_url).database
    said = f"reads database {database}, and writes only what parley claims reject | restore | add write\n"
    try:
        first = run_parley("db", "grant-editor", "--password-env", "EDITOR_PW", "--role", role, env=env)
        again = run_parley("db", "grant-editor", "--password-env", "EDITOR_PW", "--role", role, env=env)

        assert (first.returncode, first.stderr) == (0, "")
        assert first.stdout == f"role {role} created: {said}"
        assert (again.returncode, again.stderr) == (0, "")
        assert again.stdout == f"role {role} updated: {said}"
        with connect_as(database_url, role).connect() as conn:
            assert conn.scalar(text("SELECT current_user")) == role
    finally:
        drop_analyst(engine, role)


def test_cli_without_the_password_variable_fails_in_one_line(engine: Engine, database_url: str) -> None:
    role = unique_role()
    env = cli_env_for(database_url)
    env.pop("NO_SUCH_EDITOR_PW", None)

    result = run_parley("db", "grant-editor", "--password-env", "NO_SUCH_EDITOR_PW", "--role", role, env=env)

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.count("\n") == 1 and result.stderr.endswith("\n")
    assert result.stderr.startswith("parley: error: environment variable NO_SUCH_EDITOR_PW is not set")
    assert not role_exists(engine, role)
