# The two commands: `make run` starts the demo system, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
PYTEST_ARGS ?=
export FLASK_APP := wsgi.py

.PHONY: run test install install-dev translations translations-update lint bench clean vendor-echarts

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
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --ignore-dirs ".* __pycache__" \
		-o translations/messages.pot .  # Babel skips _folders by default: keep templates/_macros
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

ECHARTS_VERSION ?= 6.1.0
ECHARTS_DIR := app/static/vendor/echarts

## Fetch Apache ECharts from npm and vendor dist/echarts.min.js with its licences (the app serves
## it itself, no CDN); then put the printed version and sha256 into $(ECHARTS_DIR)/README.md.
vendor-echarts:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	cd "$$tmp"; npm pack --silent echarts@$(ECHARTS_VERSION) >/dev/null; \
	mkdir echarts zrender tslib; tar -xzf echarts-*.tgz -C echarts --strip-components=1; \
	zr=$$(node -p "require('./echarts/package.json').dependencies.zrender"); \
	tl=$$(node -p "require('./echarts/package.json').dependencies.tslib"); \
	npm pack --silent zrender@$$zr tslib@$$tl >/dev/null; \
	tar -xzf zrender-*.tgz -C zrender --strip-components=1; \
	tar -xzf tslib-*.tgz -C tslib --strip-components=1; \
	cd "$(CURDIR)"; mkdir -p $(ECHARTS_DIR); \
	cp "$$tmp/echarts/dist/echarts.min.js" "$$tmp/echarts/LICENSE" "$$tmp/echarts/NOTICE" $(ECHARTS_DIR)/; \
	cp "$$tmp/echarts/licenses/LICENSE-d3" $(ECHARTS_DIR)/LICENSE-d3; \
	cp "$$tmp/zrender/LICENSE" $(ECHARTS_DIR)/LICENSE-zrender; \
	cp "$$tmp/tslib/LICENSE.txt" $(ECHARTS_DIR)/LICENSE-tslib; \
	echo "echarts $$(node -p "require('$$tmp/echarts/package.json').version") (bundles zrender $$zr, tslib $$tl)"; \
	sha256sum $(ECHARTS_DIR)/echarts.min.js

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-output
