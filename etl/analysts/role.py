"""The analysts' roles: the read-only analyst, who may read parley's tables and views and nothing
else, and the editor, who may also correct claims (``parley claims``) and nothing else.

``grant_analyst`` creates the role or brings an existing one back to this definition, so running it
again is harmless. Reading is all the role can do: it owns nothing, has SELECT only, and its sessions
start read-only with a statement timeout (a runaway query is cancelled) and an idle-in-transaction
timeout (a forgotten open transaction does not hold locks and snapshots for ever).

The read-only default and the timeouts are only defaults: the role may ``SET`` them back (PostgreSQL
lets any role set them). What does not depend on them, and is what it is run as an administrator for:

- privileges: SELECT only, so it cannot write, nor lock the pipeline's rows (``etl.locks``: FOR
  UPDATE/SHARE need UPDATE);
- no temporary tables (TEMPORARY on this database is revoked from PUBLIC, and given back to the
  owner of parley's tables) and no large objects (EXECUTE on the ``lo_*`` functions is revoked from
  PUBLIC here: they write even in a read-only transaction; parley uses none);
- no other database, when asked (``close_other_databases``): CONNECT is revoked from PUBLIC on every
  other database the administrator may change. It is a choice, not the default, because on a
  cluster shared with other applications their roles may rely on PUBLIC's CONNECT; without it the
  grant names the databases the role can still connect to (a ``pg_hba.conf`` line restricting the
  role to parley's database closes them without touching anyone else);
- a connection limit, which the role cannot change: however long its queries run, it holds at most
  that many of the server's connections.

The editor (``grant_editor``) is built the same way, without the read-only default: it reads what
the analyst reads, and writes only what a correction writes (:data:`EDITOR_WRITES`): the audit row
(INSERT only: the audit is never updated or deleted, whoever asks), an added claim and its source,
the rebuilt history of one (negotiation, actor, issue) and the alerts it queues, and the ledger's
lock. It cannot ingest, extract, send alerts, change feeds or seeds, or rewrite the audit.

The password never reaches the server: a SCRAM-SHA-256 verifier is computed client-side by libpq
(as psql's ``\\password`` does) and sent instead, so statement logging records only the verifier.

Grants made here reach the tables and views that exist now; ``ALTER DEFAULT PRIVILEGES`` covers the
ones created later by the owner of parley's tables (the user migrations run as). Run it as a
superuser: PUBLIC's rights on PostgreSQL's large-object functions are only a superuser's to revoke,
and a grant that cannot take them away says so and changes nothing.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from psycopg2.extensions import encrypt_password
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from etl import locks
from etl.catalog import ensure_analysts_feed
from etl.errors import UserError

ANALYST_ROLE = "parley_analyst"
EDITOR_ROLE = "parley_editor"
T = TypeVar("T")
# What a correction writes (etl.ledger.corrections, etl.ledger.additions), and so all an editor may
# write: table -> privileges. Sequences of the tables it inserts into get USAGE.
EDITOR_WRITES: dict[str, str] = {
    "claim_corrections": "INSERT",  # the audit: appended to, never updated or deleted
    "claims": "INSERT, UPDATE (in_ledger)",  # an added claim; whether a claim is in the ledger
    "articles": "INSERT",  # an added claim's source, when parley has not archived it
    "positions": "INSERT, UPDATE, DELETE",  # the rebuilt history of one key
    "position_support": "INSERT, DELETE",
    "position_changes": "INSERT, UPDATE, DELETE",
    "alerts": "INSERT",  # retractions and the rebuilt events' alerts, queued (sent by the pipeline)
    "pipeline_locks": "UPDATE (name)",  # FOR UPDATE of the ledger's lock row
}
# Grants in different databases at once may change one row of a cluster-wide catalog (a database's
# ACL, a role), and a database may be dropped while its CONNECT is revoked: PostgreSQL refuses the
# change ("tuple concurrently updated/deleted", or no such database), and it is tried again.
_ATTEMPTS = 5
_DATABASE_GONE = "3D000"  # SQLSTATE invalid_catalog_name
_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_DURATION = re.compile(r"\d+\s*(us|ms|s|min|h|d)?")


class AnalystRoleError(UserError):
    """A bad role name, timeout or password; the message is one line a user can act on."""


@dataclass(frozen=True)
class AnalystGrant:
    role: str
    created: bool
    database: str
    closed: tuple[str, ...] = ()
    """other databases whose CONNECT was revoked from PUBLIC by this grant"""
    still_open: tuple[str, ...] = ()
    """other databases the role can still connect to (PUBLIC's CONNECT, not ours to revoke)"""

    def line(self) -> str:
        verb = "created" if self.created else "updated"
        line = f"role {self.role} {verb}: read-only access to database {self.database}"
        if self.closed:
            line += f"; CONNECT revoked from PUBLIC on {_names(self.closed)}"
        if self.still_open:
            line += (
                f"; still open to it through PUBLIC: {_names(self.still_open)} (--close-other-databases, "
                "their owner's REVOKE CONNECT … FROM PUBLIC, or pg_hba.conf closes them)"
            )
        return line


def grant_analyst(
    engine: Engine,
    password: str,
    *,
    role: str = ANALYST_ROLE,
    statement_timeout: str = "30s",
    idle_in_transaction_timeout: str = "5min",
    connection_limit: int = 10,
    close_other_databases: bool = False,
) -> AnalystGrant:
    """Create or update ``role``: LOGIN with ``password``, SELECT on everything in schema public (now
    and later), read-only sessions, the two timeouts (PostgreSQL durations such as ``30s``) and at
    most ``connection_limit`` sessions at once; no temporary tables or large objects, and with
    ``close_other_databases`` no other database (see the module's docstring)."""
    if not _ROLE_NAME.fullmatch(role):
        raise AnalystRoleError(f"role name {role!r} must be lower-case letters, digits and underscores")
    for name, value in (
        ("statement timeout", statement_timeout),
        ("idle-in-transaction timeout", idle_in_transaction_timeout),
    ):
        if not _DURATION.fullmatch(value.strip()):
            raise AnalystRoleError(f"{name} {value!r} is not a duration like 30s, 500ms or 5min")
    if not password:
        raise AnalystRoleError("the analyst password is empty")
    if connection_limit < 1:
        raise AnalystRoleError(f"connection limit {connection_limit} must be at least 1")
    return _retried(
        lambda: _grant(
            engine,
            password,
            role,
            statement_timeout,
            idle_in_transaction_timeout,
            connection_limit,
            close_other_databases,
        )
    )


def _grant(
    engine: Engine,
    password: str,
    role: str,
    statement_timeout: str,
    idle_in_transaction_timeout: str,
    connection_limit: int,
    close_other_databases: bool,
) -> AnalystGrant:
    with engine.begin() as conn:
        exists, database, quoted_db, pipeline = _login_role(conn, role, password, connection_limit)
        for setting, value in (
            ("default_transaction_read_only", "on"),
            ("statement_timeout", statement_timeout.strip()),
            ("idle_in_transaction_session_timeout", idle_in_transaction_timeout.strip()),
        ):
            _driver_sql(conn, f"ALTER ROLE {role} SET {setting} = %s", (value,))
        for statement in (
            f"GRANT CONNECT ON DATABASE {quoted_db} TO {role}",
            f"GRANT USAGE ON SCHEMA public TO {role}",
            f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}",  # views included
            f"GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {pipeline} IN SCHEMA public GRANT SELECT ON TABLES TO {role}",
        ):
            conn.execute(text(statement))
        _close_side_doors(conn, quoted_db, role, pipeline)
        closed, still_open = _other_databases(conn, close=close_other_databases)
    return AnalystGrant(
        role=role, created=not exists, database=database, closed=closed, still_open=still_open
    )


@dataclass(frozen=True)
class EditorGrant:
    role: str
    created: bool
    database: str

    def line(self) -> str:
        verb = "created" if self.created else "updated"
        return (
            f"role {self.role} {verb}: reads database {self.database}, and writes only what parley claims"
            " reject | restore | add write"
        )


def grant_editor(
    engine: Engine,
    password: str,
    *,
    role: str = EDITOR_ROLE,
    statement_timeout: str = "60s",
    connection_limit: int = 5,
) -> EditorGrant:
    """Create or update the editor ``role`` (idempotent): what the analyst reads, and the writes of
    :data:`EDITOR_WRITES`; no temporary tables or large objects. Run it as a superuser."""
    if not _ROLE_NAME.fullmatch(role):
        raise AnalystRoleError(f"role name {role!r} must be lower-case letters, digits and underscores")
    if role == ANALYST_ROLE:
        raise AnalystRoleError(f"{role} is the read-only analyst role: give the editor another name")
    if not _DURATION.fullmatch(statement_timeout.strip()):
        raise AnalystRoleError(f"statement timeout {statement_timeout!r} is not a duration like 60s")
    if not password:
        raise AnalystRoleError("the editor password is empty")
    if connection_limit < 1:
        raise AnalystRoleError(f"connection limit {connection_limit} must be at least 1")
    return _retried(lambda: _grant_editor(engine, password, role, statement_timeout, connection_limit))


def _grant_editor(
    engine: Engine, password: str, role: str, statement_timeout: str, connection_limit: int
) -> EditorGrant:
    with engine.begin() as conn:
        exists, database, quoted_db, pipeline = _login_role(conn, role, password, connection_limit)
        _driver_sql(conn, f"ALTER ROLE {role} SET statement_timeout = %s", (statement_timeout.strip(),))
        _driver_sql(conn, f"ALTER ROLE {role} SET idle_in_transaction_session_timeout = %s", ("5min",))
        # an update of the role starts from nothing: what it may write is what this grant says now
        conn.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}"))
        conn.execute(text(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}"))
        for statement in (
            f"GRANT CONNECT ON DATABASE {quoted_db} TO {role}",
            f"GRANT USAGE ON SCHEMA public TO {role}",
            f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}",
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {pipeline} IN SCHEMA public GRANT SELECT ON TABLES TO {role}",
        ):
            conn.execute(text(statement))
        for table, privileges in EDITOR_WRITES.items():
            conn.execute(text(f"GRANT {privileges} ON {table} TO {role}"))
            if "INSERT" in privileges:
                sequence = conn.scalar(_SERIAL_SEQUENCE, {"t": table})
                if sequence:
                    conn.execute(text(f"GRANT USAGE ON SEQUENCE {sequence} TO {role}"))
        _close_side_doors(conn, quoted_db, role, pipeline)
        # rows the editor would otherwise have to insert: the ledger's lock, the analysts' feed
        conn.execute(
            text("INSERT INTO pipeline_locks (name) VALUES (:n) ON CONFLICT DO NOTHING"), {"n": locks.LEDGER}
        )
        ensure_analysts_feed(conn)
    return EditorGrant(role=role, created=not exists, database=database)


def _login_role(
    conn: Connection, role: str, password: str, connection_limit: int
) -> tuple[bool, str, str, str]:
    """Create ``role`` or bring it back to a login role with ``password`` and ``connection_limit``
    and no other attribute. Returns whether it existed, the database's name, its quoted name and the
    quoted owner of parley's tables."""
    # serialises the grants of this database; those of others may race on the cluster-wide
    # catalogs (roles, databases), which the grants retry
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('parley.grant_analyst'))"))
    exists = bool(conn.scalar(text("SELECT count(*) FROM pg_roles WHERE rolname = :r"), {"r": role}))
    database = str(conn.scalar(text("SELECT current_database()")))
    quoted_db = conn.dialect.identifier_preparer.quote(database)
    pipeline = conn.dialect.identifier_preparer.quote(str(conn.scalar(_PIPELINE_ROLE)))
    attributes = (
        "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT "
        f"CONNECTION LIMIT {int(connection_limit)}"
    )
    # DDL takes no bind parameters: psycopg2 quotes the verifier client-side as a literal
    verifier = _scram_verifier(conn, role, password)
    _driver_sql(
        conn, f"{'ALTER' if exists else 'CREATE'} ROLE {role} WITH {attributes} PASSWORD %s", (verifier,)
    )
    return exists, database, quoted_db, pipeline


def _retried(grant: Callable[[], T]) -> T:
    """``grant()``, tried again when it lost a race with another database's grant (see _raced)."""
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            return grant()
        except DBAPIError as exc:
            if not _raced(exc) or attempt == _ATTEMPTS:
                raise
            time.sleep(random.uniform(0.05, 0.2) * attempt)
    raise AssertionError("unreachable")


def drop_analyst(engine: Engine, role: str = ANALYST_ROLE) -> bool:
    """Remove ``role``'s privileges in this database and, when it holds none elsewhere, the role.

    Returns whether the role was dropped (False when it did not exist)."""
    if not _ROLE_NAME.fullmatch(role):
        raise AnalystRoleError(f"role name {role!r} must be lower-case letters, digits and underscores")

    def drop() -> bool:
        with engine.begin() as conn:
            if not conn.scalar(text("SELECT count(*) FROM pg_roles WHERE rolname = :r"), {"r": role}):
                return False
            # DROP OWNED revokes its grants and default privileges here; the role owns nothing
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))
        return True

    return _retried(drop)


# Every large-object function of PostgreSQL: lo_from_bytea, lo_create, lo_put … write even in a
# read-only transaction, and creating a large object needs no privilege but EXECUTE.
_LARGE_OBJECT_FUNCTIONS = text(
    "SELECT p.oid::regprocedure::text FROM pg_proc p"
    " WHERE p.pronamespace = 'pg_catalog'::regnamespace"
    " AND (p.proname LIKE 'lo\\_%' OR p.proname IN ('loread', 'lowrite')) ORDER BY 1"
)
_ROLE_EXECUTES = text("SELECT has_function_privilege(:r, CAST(:f AS regprocedure), 'EXECUTE')")
_ROLE_TEMPORARY = text("SELECT has_database_privilege(:r, current_database(), 'TEMPORARY')")
# The sequence that numbers a table's rows, if it has an ``id`` column (position_support has none).
_SERIAL_SEQUENCE = text(
    "SELECT pg_get_serial_sequence(CAST(:t AS text), 'id') FROM information_schema.columns"
    " WHERE table_schema = current_schema() AND table_name = :t AND column_name = 'id'"
)
# The role that owns parley's tables (the one migrations run as): the pipeline's own role.
_PIPELINE_ROLE = text(
    "SELECT coalesce((SELECT tableowner FROM pg_tables"
    " WHERE schemaname = 'public' AND tablename = 'alembic_version'), current_user)"
)
# Other databases PUBLIC may connect to (a NULL ACL is the default, which includes CONNECT), and
# whether the current user may change that (a superuser, or a member of the owner).
_OTHER_OPEN_DATABASES = text(
    "SELECT d.datname, pg_has_role(current_user, d.datdba, 'USAGE')"
    " OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS ours"
    " FROM pg_database d"
    " WHERE d.datname <> current_database() AND d.datallowconn"
    " AND (d.datacl IS NULL OR EXISTS ("
    "   SELECT FROM aclexplode(d.datacl) a WHERE a.grantee = 0 AND a.privilege_type = 'CONNECT'))"
    " ORDER BY 1"
)


def _close_side_doors(conn: Connection, quoted_db: str, role: str, pipeline: str) -> None:
    """Temporary tables and large objects: the writes SELECT privileges do not stop. Revoked from
    PUBLIC (the analyst role's privileges are PUBLIC's and its own); the pipeline's role keeps
    TEMPORARY, which it had through PUBLIC (parley itself makes no temporary table)."""
    conn.execute(text(f"REVOKE TEMPORARY ON DATABASE {quoted_db} FROM PUBLIC"))
    conn.execute(text(f"GRANT TEMPORARY ON DATABASE {quoted_db} TO {pipeline}"))
    functions = conn.scalars(_LARGE_OBJECT_FUNCTIONS).all()
    conn.execute(text(f"REVOKE EXECUTE ON FUNCTION {', '.join(functions)} FROM PUBLIC"))
    # a REVOKE by a user without the right to is only a warning: check that the role lost them
    kept = [f for f in functions if conn.scalar(_ROLE_EXECUTES, {"r": role, "f": f})]
    if conn.scalar(_ROLE_TEMPORARY, {"r": role}):
        kept.insert(0, "TEMPORARY on this database")
    if kept:
        raise AnalystRoleError(f"could not revoke {kept[0]} from PUBLIC: run grant-analyst as a superuser")


def _other_databases(conn: Connection, *, close: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The other databases open to PUBLIC; with ``close``, CONNECT is revoked from PUBLIC on those the
    current user may change. Returns (the databases closed now, those left open)."""
    closed, still_open = [], []
    for name, ours in conn.execute(_OTHER_OPEN_DATABASES).all():
        if not (close and ours):
            still_open.append(name)
            continue
        quoted = conn.dialect.identifier_preparer.quote(name)
        conn.execute(text(f"REVOKE CONNECT ON DATABASE {quoted} FROM PUBLIC"))
        closed.append(name)
    return tuple(closed), tuple(still_open)


def _scram_verifier(conn: Connection, role: str, password: str) -> str:
    """The SCRAM-SHA-256 verifier of ``password`` (``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:
    <ServerKey>``), computed here by libpq's PQencryptPasswordConn with a random salt, as psql's
    ``\\password`` does: the server stores it as it is and never sees the password."""
    raw = conn.connection.dbapi_connection
    try:
        return str(encrypt_password(password, role, raw, "scram-sha-256"))
    except TypeError as exc:  # not a psycopg2 connection
        raise AnalystRoleError(
            "grant-analyst needs the psycopg2 driver (postgresql+psycopg2:// in PARLEY_DATABASE_URL)"
        ) from exc


def _raced(exc: DBAPIError) -> bool:
    """Whether the grant lost a race with another session over the cluster's catalogs."""
    pgcode = getattr(exc.orig, "pgcode", None)
    return pgcode == _DATABASE_GONE or (pgcode == "XX000" and "tuple concurrently" in str(exc.orig))


def _names(databases: tuple[str, ...]) -> str:
    return ", ".join(databases)


def _driver_sql(conn: Connection, statement: str, parameters: tuple[str, ...]) -> None:
    conn.exec_driver_sql(statement, parameters)
