"""The analysts' read-only role: who may read parley's tables and views, and nothing else.

``grant_analyst`` creates the role or brings an existing one back to this definition, so running it
again is harmless. Reading is all the role can do: it owns nothing, has SELECT only, and its sessions
start read-only with a statement timeout (a runaway query is cancelled) and an idle-in-transaction
timeout (a forgotten open transaction does not hold locks and snapshots for ever).

Grants made here reach the tables and views that exist now; ``ALTER DEFAULT PRIVILEGES`` covers the
ones created later *by the same user that runs this function* (normally the one running migrations).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from etl.errors import UserError

ANALYST_ROLE = "parley_analyst"
_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_DURATION = re.compile(r"\d+\s*(us|ms|s|min|h|d)?")


class AnalystRoleError(UserError):
    """A bad role name, timeout or password; the message is one line a user can act on."""


@dataclass(frozen=True)
class AnalystGrant:
    role: str
    created: bool
    database: str

    def line(self) -> str:
        verb = "created" if self.created else "updated"
        return f"role {self.role} {verb}: read-only access to database {self.database}"


def grant_analyst(
    engine: Engine,
    password: str,
    *,
    role: str = ANALYST_ROLE,
    statement_timeout: str = "30s",
    idle_in_transaction_timeout: str = "5min",
) -> AnalystGrant:
    """Create or update ``role``: LOGIN with ``password``, SELECT on everything in schema public (now
    and later), read-only sessions, and the two timeouts (PostgreSQL durations such as ``30s``)."""
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
    with engine.begin() as conn:
        # roles are cluster-wide: serialise concurrent grants so CREATE ROLE cannot race
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('parley.grant_analyst'))"))
        exists = bool(conn.scalar(text("SELECT count(*) FROM pg_roles WHERE rolname = :r"), {"r": role}))
        database = str(conn.scalar(text("SELECT current_database()")))
        quoted_db = conn.dialect.identifier_preparer.quote(database)
        attributes = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT"
        verb = "ALTER" if exists else "CREATE"
        # DDL takes no bind parameters: psycopg2 quotes the password client-side as a literal
        _driver_sql(conn, f"{verb} ROLE {role} WITH {attributes} PASSWORD %s", (password,))
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
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {role}",
        ):
            conn.execute(text(statement))
    return AnalystGrant(role=role, created=not exists, database=database)


def drop_analyst(engine: Engine, role: str = ANALYST_ROLE) -> bool:
    """Remove ``role``'s privileges in this database and, when it holds none elsewhere, the role.

    Returns whether the role was dropped (False when it did not exist)."""
    if not _ROLE_NAME.fullmatch(role):
        raise AnalystRoleError(f"role name {role!r} must be lower-case letters, digits and underscores")
    with engine.begin() as conn:
        if not conn.scalar(text("SELECT count(*) FROM pg_roles WHERE rolname = :r"), {"r": role}):
            return False
        # DROP OWNED revokes its grants and default privileges here; the role owns nothing
        conn.execute(text(f"DROP OWNED BY {role}"))
        conn.execute(text(f"DROP ROLE {role}"))
    return True


def _driver_sql(conn: Connection, statement: str, parameters: tuple[str, ...]) -> None:
    conn.exec_driver_sql(statement, parameters)
