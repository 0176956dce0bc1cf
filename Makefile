# Two commands from a fresh clone, with only Python 3.11+ installed:
#   make run    set up, migrate, seed a demo organisation, serve on http://127.0.0.1:8000
#   make test   lint, type-check and run the whole test suite (SQLite, and PostgreSQL when reachable)
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test

.PHONY: run test lint typecheck pytest mutants bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[dev]"
	touch $@ $(VENV)/.runtime

run: $(VENV)/.runtime
	$(BIN)/phare run

lint: $(VENV)/.installed
	$(BIN)/ruff check htcds phare tests bench tools scripts
	$(BIN)/ruff format --check htcds/catalogue.py htcds/codelists.py htcds/coerce.py htcds/schema.py

typecheck: $(VENV)/.installed
	$(BIN)/mypy htcds phare

pytest: $(VENV)/.installed
	$(BIN)/python scripts/test.py

test: lint typecheck pytest

# Every guard's mutant (tests/mutants/catalogue.py) must be caught by its tests; CI runs it after `make test`.
mutants: $(VENV)/.installed
	$(BIN)/python scripts/mutants.py

bench: $(VENV)/.installed
	$(BIN)/python bench/bench_validate.py

clean:
	rm -rf $(VENV) var artifacts
