# parley: `make demo` runs one pass of the pipeline on the demo feeds; `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/parley demo

# The whole suite, slow end-to-end tests included (CI runs this).
test: $(STAMP)
	$(BIN)/ruff check etl models migrations tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest

# Everything but the tests marked slow, for a quick loop while developing.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m 'not slow'

lint: $(STAMP)
	$(BIN)/ruff check etl models migrations tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .parley .pytest_cache .mypy_cache .ruff_cache
