"""The parley_db Airflow connection, as Connection.get_uri() renders it, becomes parley's database URL."""

from __future__ import annotations

import pytest

from etl.db import DatabaseUnavailable, connection_database_url, settings_for


@pytest.mark.parametrize(
    ("uri", "url"),
    [
        ("postgres://parley:s%40cret@db:5432/parley", "postgresql+psycopg2://parley:s%40cret@db:5432/parley"),
        ("postgresql://u@127.0.0.1/parley", "postgresql+psycopg2://u@127.0.0.1/parley"),
        ("postgresql+psycopg2://u@h/p", "postgresql+psycopg2://u@h/p"),
        # libpq options pass; hook-only extras (which psycopg2 would reject) are dropped
        ("postgres://u@h:5432/p?sslmode=require&cursor=realdictcursor", "postgresql+psycopg2://u@h:5432/p?sslmode=require"),
        ("postgres://u@h/p?__extra__=%7B%22a%22%3A+1%7D", "postgresql+psycopg2://u@h/p"),
    ],
)  # fmt: skip
def test_connection_uri_becomes_a_psycopg2_url(uri: str, url: str) -> None:
    assert connection_database_url(uri) == url


@pytest.mark.parametrize("uri", ["mysql://u@h/p", "not a uri"])
def test_a_connection_to_something_else_than_postgresql_is_refused(uri: str) -> None:
    with pytest.raises(DatabaseUnavailable, match="parley_db connection"):
        connection_database_url(uri)


def test_without_a_connection_the_parley_settings_decide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARLEY_DATABASE_URL", "postgresql+psycopg2://u@from-settings/p")
    assert settings_for(None).database_url.get_secret_value() == "postgresql+psycopg2://u@from-settings/p"  # type: ignore[union-attr]
    with_connection = settings_for("postgres://u@from-connection/p").database_url
    assert with_connection is not None
    assert with_connection.get_secret_value() == "postgresql+psycopg2://u@from-connection/p"
