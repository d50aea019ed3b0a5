"""grant-analyst never sends the password: the server gets a SCRAM-SHA-256 verifier, so a server that
logs every statement logs no password, and the role logs in with it by SCRAM.

The shared test server trusts every local login, which would let any password in: these tests run
their own PostgreSQL (pgserver, the embedded server of etl.db) whose pg_hba.conf asks every role but
the superuser for a SCRAM-SHA-256 password, and whose log file is known.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from etl.analysts.role import drop_analyst, grant_analyst

PASSWORD = "s3cret-'quoted'-%s-pässwörd"
ROLE = "parley_analyst_scram"
SCRAM_ONLY = "local all postgres trust\nlocal all all scram-sha-256\n"


@dataclass
class ScramServer:
    url: str
    log: Path
    admin: Engine
    """the superuser, every statement of its sessions logged (log_statement = all)"""


@pytest.fixture(scope="module")
def scram_server() -> Iterator[ScramServer]:
    # a directory of its own, not pytest's tmp_path: concurrent pytest runs of the same user prune
    # each other's older base directories, and the server's data must outlive this module
    home = Path(tempfile.mkdtemp(prefix="parley-scram-"))
    pgdata = home / "pgdata"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
        import pgserver

        server = pgserver.get_server(pgdata, cleanup_mode="stop")
    try:
        (pgdata / "pg_hba.conf").write_text(SCRAM_ONLY)
        server.psql("SELECT pg_reload_conf();")
        url = server.get_uri("postgres").replace("postgresql://", "postgresql+psycopg2://", 1)
        admin = create_engine(url, poolclass=NullPool, connect_args={"options": "-c log_statement=all"})
        yield ScramServer(url=url, log=pgdata / "log", admin=admin)
        admin.dispose()
    finally:
        server.cleanup()
        shutil.rmtree(home, ignore_errors=True)


def login(server: ScramServer, password: str) -> str:
    url = make_url(server.url).set(username=ROLE, password=password)
    analyst = create_engine(url, poolclass=NullPool)
    try:
        with analyst.connect() as conn:
            return str(conn.scalar(text("SELECT current_user")))
    finally:
        analyst.dispose()


def test_a_server_logging_every_statement_logs_the_verifier_not_the_password(
    scram_server: ScramServer,
) -> None:
    logged_before = scram_server.log.read_text(errors="replace")
    try:
        grant_analyst(scram_server.admin, PASSWORD, role=ROLE)
        grant_analyst(scram_server.admin, PASSWORD, role=ROLE)  # ALTER ROLE as well as CREATE ROLE
        with scram_server.admin.connect() as conn:
            stored = str(
                conn.scalar(text("SELECT rolpassword FROM pg_authid WHERE rolname = :r"), {"r": ROLE})
            )
        logged = scram_server.log.read_text(errors="replace")[len(logged_before) :]
        assert f"CREATE ROLE {ROLE}" in logged and f"ALTER ROLE {ROLE}" in logged  # statements are logged
        assert "PASSWORD 'SCRAM-SHA-256$4096:" in logged
        assert stored.startswith("SCRAM-SHA-256$4096:")
        for secret in (PASSWORD, PASSWORD.replace("'", "''"), "s3cret", "pässwörd"):
            assert secret not in logged
    finally:
        drop_analyst(scram_server.admin, ROLE)


def test_the_role_logs_in_by_scram_with_its_password_and_not_with_another(
    scram_server: ScramServer,
) -> None:
    try:
        grant_analyst(scram_server.admin, PASSWORD, role=ROLE)
        assert login(scram_server, PASSWORD) == ROLE
        with pytest.raises(OperationalError, match="password authentication failed"):
            login(scram_server, PASSWORD + "x")
        grant_analyst(scram_server.admin, "a new password", role=ROLE)
        assert login(scram_server, "a new password") == ROLE
        with pytest.raises(OperationalError, match="password authentication failed"):
            login(scram_server, PASSWORD)
    finally:
        drop_analyst(scram_server.admin, ROLE)
