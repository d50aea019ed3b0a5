"""Database access: the engine, the embedded PostgreSQL fallback, and schema migrations.

Every stage gets its engine from :func:`get_engine`. With ``PARLEY_DATABASE_URL`` unset, an embedded
PostgreSQL (the ``pgserver`` package) is started under ``PARLEY_DATA_DIR`` — same dialect, same
migrations and views as production, no server for a new user to install.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, cast, column, create_engine, func, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import Session

from etl.errors import UserError, first_line
from etl.settings import PROJECT_ROOT, Settings, load_settings

EMBEDDED_DATABASE = "parley"
UNIQUE_VIOLATION = "23505"  # SQLSTATE of a duplicate key
SCHEMA_HEAD = "0015"  # the newest migration in migrations/versions (tests/db/test_migrations.py)
_embedded_servers: dict[Path, Any] = {}


# Airflow's postgres connections carry hook options (cursor, iam, aws_conn_id …) in the same query
# string as libpq's; only libpq's may reach psycopg2, which rejects any other keyword.
_LIBPQ_OPTIONS = frozenset(
    {
        "sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword", "sslcrl", "connect_timeout",
        "application_name", "options", "target_session_attrs", "keepalives", "keepalives_idle",
        "keepalives_interval", "keepalives_count", "gssencmode", "channel_binding",
    }
)  # fmt: skip


class DatabaseUnavailable(UserError):
    """The database cannot be reached or used; the message is one line a user can act on."""


def _embedded_url(data_dir: Path) -> str:
    """Start (or join) the embedded server under data_dir and return a URL for the parley database."""
    with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on servers
        warnings.simplefilter("ignore")
        return _start_embedded(data_dir)


def _start_embedded(data_dir: Path) -> str:
    pgdata = (data_dir / "pgdata").resolve()
    server = _embedded_servers.get(pgdata)
    if server is None:
        import pgserver  # imported lazily: only the embedded mode needs it

        # pgserver logs its whole start-up at INFO; keep the terminal for parley's own progress
        logging.getLogger("pgserver").setLevel(logging.WARNING)
        pgdata.mkdir(parents=True, exist_ok=True)
        try:
            server = pgserver.get_server(pgdata, cleanup_mode="stop")
        except Exception as exc:  # pgserver raises plain subprocess/OS errors
            raise DatabaseUnavailable(f"could not start the embedded PostgreSQL in {pgdata}: {exc}") from exc
        _embedded_servers[pgdata] = server
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{EMBEDDED_DATABASE}';")
        if "(0 rows)" in exists:
            server.psql(f"CREATE DATABASE {EMBEDDED_DATABASE};")
    url = str(server.get_uri(EMBEDDED_DATABASE))
    # pgserver hands out "postgresql://user:@/db?host=/sock"; say which driver to use
    return url.replace("postgresql://", "postgresql+psycopg2://", 1)


# parley speaks psycopg2 (COPY through copy_expert, its error classes): no other driver will do
_DRIVERS = ("postgresql", "postgresql+psycopg2")


def database_url(settings: Settings) -> str:
    """The SQLAlchemy URL parley uses: the configured one, or the embedded server's. A configured URL
    that cannot work (unparsable, a port that is not a port, another database or driver) is refused
    here with one line, its password never shown."""
    if settings.database_url is not None:
        url = settings.database_url.get_secret_value()
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise DatabaseUnavailable(f"PARLEY_DATABASE_URL is not a database URL: {exc}") from exc
        except ValueError as exc:  # make_url reads the port with int()
            raise DatabaseUnavailable("PARLEY_DATABASE_URL has a port that is not a number") from exc
        if parsed.port is not None and not 0 < parsed.port < 65536:
            raise DatabaseUnavailable(f"PARLEY_DATABASE_URL has port {parsed.port}, not 1-65535")
        if parsed.drivername not in _DRIVERS:
            raise DatabaseUnavailable(
                f"PARLEY_DATABASE_URL must point at PostgreSQL through psycopg2 "
                f"({' or '.join(_DRIVERS)}://…), not {parsed.drivername!r}"
            )
        return url
    return _embedded_url(settings.data_dir)


def get_engine(settings: Settings, *, check: bool = True, pool_size: int | None = None) -> Engine:
    """An engine for the parley database; with ``check`` it connects once so a dead server fails here."""
    url = database_url(settings)
    size = pool_size or settings.ingest_workers + 2
    engine = create_engine(
        url,
        pool_size=size,
        max_overflow=2,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 10, "application_name": "parley"},
    )
    if check:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except OperationalError as exc:
            engine.dispose()
            reason = first_line(exc.orig or exc)
            safe = make_url(url).render_as_string(hide_password=True)
            raise DatabaseUnavailable(f"database unavailable at {safe}: {reason}") from exc
    return engine


@contextmanager
def engine_for(settings: Settings) -> Iterator[Engine]:
    """An engine for one piece of work (a task, a command), disposed of at its end."""
    engine = get_engine(settings)
    try:
        yield engine
    finally:
        engine.dispose()


def connection_database_url(connection_uri: str) -> str:
    """An Airflow Connection URI (``postgres://user:pass@host:5432/parley?sslmode=require``, as
    ``Connection.get_uri()`` renders it) as the SQLAlchemy URL parley's engine takes."""
    try:
        url = make_url(connection_uri)
    except ArgumentError as exc:
        raise DatabaseUnavailable(f"the parley_db connection is not a database URI: {exc}") from exc
    if url.drivername.split("+")[0] not in ("postgres", "postgresql"):
        raise DatabaseUnavailable(
            f"the parley_db connection must point at PostgreSQL, not {url.drivername!r}"
        )
    query = {key: value for key, value in url.query.items() if key in _LIBPQ_OPTIONS}
    url = url.set(drivername="postgresql+psycopg2", query=query)
    return url.render_as_string(hide_password=False)


def settings_for(connection_uri: str | None) -> Settings:
    """The parley settings (``PARLEY_*``), with the database of an orchestrator's connection when
    there is one; without it, ``PARLEY_DATABASE_URL`` or the embedded database as everywhere else."""
    settings = load_settings()
    if connection_uri is None:
        return settings
    return settings.with_changes(database_url=connection_database_url(connection_uri))


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    # '%' is configparser's interpolation character; URLs may carry it in passwords
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with Alembic, the only way the schema changes."""
    from alembic import command

    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database's schema is at (Alembic's ``alembic_version``), None if none."""
    with engine.connect() as conn:
        if conn.scalar(text("SELECT to_regclass('alembic_version')")) is None:
            return None
        return conn.scalar(text("SELECT version_num FROM alembic_version"))


def require_schema(engine: Engine) -> None:
    """Fail with a clear message when the schema is missing or behind the code.

    Every command checks this, so it reads :data:`SCHEMA_HEAD` rather than the migration scripts
    (importing Alembic and every migration cost ~0.3 s of each ``parley run``); a test checks that
    the constant names Alembic's head.
    """
    head = SCHEMA_HEAD
    current = current_revision(engine)
    if current != head:
        raise DatabaseUnavailable(
            f"database schema is at {current or 'nothing'}, code expects {head}: run 'parley db upgrade'"
        )


# --- batches of rows as parameters ---------------------------------------------------------------


def unnested(name: str, columns: Sequence[tuple[str, Any]]) -> Any:
    """``unnest`` of one array parameter per column (each parameter named as its column), as a table
    called ``name``: a batch of rows in a statement of fixed text, compiled once whatever the batch,
    and index probes per row (an ``IN`` list of 50 keys is estimated at a quarter of a table without
    statistics, and read as a sequential scan)."""
    arrays = (cast(bindparam(column_name), ARRAY(kind)) for column_name, kind in columns)
    columns_out = (column(column_name, kind) for column_name, kind in columns)
    return func.unnest(*arrays).table_valued(*columns_out).render_derived(name=name)


# --- COPY ----------------------------------------------------------------------------------------


def copy_field(value: object) -> str:
    """One value in COPY's text format: NULL is ``\\N``; backslash, tab, newline and carriage return
    are escaped; bytes are bytea's hex form; dates and times ISO 8601 (a naive one is read in the
    session's time zone, as psycopg2 sends it)."""
    if isinstance(value, str):
        # str.replace is several times faster than str.translate with a table, and most values
        # hold none of the four characters
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    if value is None:
        return "\\N"
    if isinstance(value, bytes):
        return "\\\\x" + value.hex()  # bytea's input \x..., its backslash escaped for COPY
    if isinstance(value, date):
        return value.isoformat()
    return str(value)  # numbers and booleans: their text is COPY's text


def copy_rows(session: Session, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """``COPY table (columns) FROM STDIN`` of the rows, in the session's transaction. A refusal is
    raised as SQLAlchemy raises the errors of the statements it runs (``DBAPIError``, with ``.orig``)."""
    if not rows:
        return
    data = "".join("\t".join(map(copy_field, row)) + "\n" for row in rows)
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    connection: Any = session.connection().connection  # the DBAPI connection (psycopg2)
    dbapi_error = session.get_bind().dialect.loaded_dbapi.Error
    try:
        with connection.cursor() as cursor:
            cursor.copy_expert(statement, io.StringIO(data))
    except dbapi_error as exc:
        raise DBAPIError.instance(statement, None, exc, dbapi_error) from exc
