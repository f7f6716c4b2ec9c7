# The two commands: `make run` starts the demo system, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
PYTEST_ARGS ?=
export FLASK_APP := wsgi.py

.PHONY: run test install install-dev translations translations-update lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed translations
install-dev: $(VENV)/.installed-dev translations

## Compile the .po catalogues into the .mo files the app reads.
translations: | $(BIN)/python
	$(BIN)/pybabel compile --use-fuzzy -d translations --statistics 2>&1 | grep -v "^compiling" || true

## After adding strings: extract them and merge into the catalogues, then translate the new ones.
translations-update: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching

## Start the system on SQLite (instance/contest.db) with the demo contest, served by gunicorn.
run: install
	@mkdir -p instance
	$(BIN)/flask db upgrade
	$(BIN)/flask demo load
	@echo ""
	@echo "  Skills contest system: http://$(HOST):$(PORT)/   (Ctrl-C stops it)"
	@echo "  Demo accounts are listed above; sign in as organiser / Organiser2025 first."
	@echo ""
	$(BIN)/gunicorn --workers $(WORKERS) --bind $(HOST):$(PORT) \
		--control-socket instance/gunicorn.ctl --access-logfile - wsgi:app

## Install what tests need and run the whole suite (TEST_DATABASE_URL=postgresql://… for PostgreSQL).
test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .

bench: install-dev
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	@for b in bench/[a-z]*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-output
