# parley: `make demo` runs one pass of the pipeline on the demo feeds; `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint install clean airflow

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,airflow]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/parley demo

# The whole suite, slow end-to-end tests included (CI runs this).
test: $(STAMP)
	$(BIN)/ruff check etl models migrations tests bench dags
	$(BIN)/mypy
	$(BIN)/python -m pytest

# Everything but the tests marked slow, for a quick loop while developing.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m 'not slow'

lint: $(STAMP)
	$(BIN)/ruff check etl models migrations tests bench dags
	$(BIN)/mypy

# Airflow on this machine, no Docker: `airflow standalone` (scheduler, dag-processor, triggerer,
# api-server on http://localhost:8080) with dags/, its own metadata in SQLite under .airflow/, and the
# parley database of PARLEY_DATABASE_URL as the parley_db connection. The admin password is printed
# at start-up and kept in .airflow/simple_auth_manager_passwords.json.generated.
AIRFLOW_HOME ?= $(CURDIR)/.airflow
airflow: $(STAMP)
	@test -n "$$PARLEY_DATABASE_URL" || { echo "make airflow: set PARLEY_DATABASE_URL to the parley database" >&2; exit 1; }
	$(BIN)/parley db upgrade
	$(BIN)/parley seed
	PATH="$(CURDIR)/$(BIN):$$PATH" AIRFLOW_HOME="$(AIRFLOW_HOME)" AIRFLOW__CORE__DAGS_FOLDER="$(CURDIR)/dags" \
	AIRFLOW__CORE__LOAD_EXAMPLES=False AIRFLOW_CONN_PARLEY_DB="$$PARLEY_DATABASE_URL" \
	$(BIN)/airflow standalone

clean:
	rm -rf $(VENV) .parley .airflow .pytest_cache .mypy_cache .ruff_cache
