# The provider portal. `make help` lists the targets.
# `make demo` and `make test` work on a fresh clone of a fresh machine: they install what is missing.

SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON_FOR_VENV ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
# Debian packages: Chromium for browser tests, fonts and the pango/harfbuzz libraries WeasyPrint needs.
APT_TEST_PACKAGES := chromium fonts-liberation2 libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0
APT_DEMO_PACKAGES := fonts-liberation2 libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0

# The suite's PostgreSQL and Redis (the machine's own; pytest-django creates test_portal).
TEST_ENV := PORTAL_ENV=test DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/portal} \
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-redis://127.0.0.1:6379/15} CACHE_URL=$${CACHE_URL:-redis://127.0.0.1:6379/14}
# The simulated back office is a second Django project with its own settings and its own suite
# (contrOCC_sync/simulator/pytest.ini); pytest-django creates test_backoffice.
SIM_MANAGE := $(PY) -m contrOCC_sync.simulator.manage
SIM_TEST_ENV := PORTAL_ENV=test \
	BACKOFFICE_DATABASE_URL=$${BACKOFFICE_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/backoffice}
SIM_PYTEST := $(VENV)/bin/pytest -c contrOCC_sync/simulator/pytest.ini contrOCC_sync/simulator/tests

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z][a-z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# --- installing -------------------------------------------------------------------------------

$(VENV)/.installed: requirements/dev.lock
	@test -x $(PY) || $(PYTHON_FOR_VENV) -m venv $(VENV)
	@test -x $(VENV)/bin/uv || $(VENV)/bin/pip install --quiet --disable-pip-version-check "uv==0.13.9"
	@$(VENV)/bin/uv pip sync --quiet --python $(PY) requirements/dev.lock
	@touch $@

node_modules/.installed: package-lock.json
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

static/build/.built: node_modules/.installed static/build.mjs $(shell find static/scss static/js -type f 2>/dev/null)
	@npm run --silent build
	@touch $@

.PHONY: install
install: $(VENV)/.installed static/build/.built ## Install Python and npm packages, build the front end

.PHONY: apt-test apt-demo
apt-test:
	@bin/apt-ensure $(APT_TEST_PACKAGES)
apt-demo:
	@bin/apt-ensure $(APT_DEMO_PACKAGES)

.PHONY: services
services: ## Start PostgreSQL and Redis if they are installed but stopped
	@bin/services-ensure

lock: ## Re-resolve requirements/*.lock from pyproject.toml's ranges
	$(VENV)/bin/uv pip compile --quiet --python-version 3.11 pyproject.toml -o requirements/base.lock
	$(VENV)/bin/uv pip compile --quiet --python-version 3.11 pyproject.toml --extra dev -o requirements/dev.lock

# --- the two commands -------------------------------------------------------------------------

.PHONY: demo
demo: install apt-demo ## Run the portal with demo data on embedded defaults (http://127.0.0.1:8000/)
	@bin/demo

.PHONY: test
test: install apt-test services check ## Install what is missing, then run the whole suite on PostgreSQL
	@$(SIM_TEST_ENV) $(SIM_PYTEST) -q
	@$(TEST_ENV) $(VENV)/bin/pytest

.PHONY: test-backoffice
test-backoffice: install services ## Run the simulated back office's own suite alone
	@$(SIM_TEST_ENV) $(SIM_PYTEST)

# The long chaos run of the back-office link (tests/contrOCC_sync/test_chaos.py; the short one is in `make
# test`): 2,000 weeks' lines and three rounds of each fault, on a Redis of its own on a free port.
.PHONY: chaos
chaos: install services ## The back-office link under chaos, long version (2,000 weeks' lines)
	@$(TEST_ENV) CHAOS_SCALE=long $(VENV)/bin/pytest -q -rP tests/contrOCC_sync/test_chaos.py

# --- benchmarks -------------------------------------------------------------------------------

# A database of their own (dropped and seeded afresh every run: tests/benchmarks/run.py), and Redis
# databases the suite does not use.
BENCH_ENV := PORTAL_ENV=test BENCH_DATABASE_URL=$${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/portal_bench} \
	CELERY_BROKER_URL=redis://127.0.0.1:6379/13 CACHE_URL=redis://127.0.0.1:6379/12

.PHONY: bench
bench: install services ## Benchmarks at the large scale against their floors: var/benchmarks.json, docs/benchmarks.md
	@$(BENCH_ENV) $(PY) -m tests.benchmarks.run

# The Tuesday peak (tests/load/run.py, docs/benchmarks.md): databases of its own (dropped and seeded afresh
# every run: portal_load and portal_load_backoffice), the production-shaped stack on free 127.0.0.1 ports
# (gunicorn, a Celery worker and beat, a Redis of its own, the simulator), locust for at most 5 minutes.
LOAD_ENV := LOAD_DATABASE_URL=$${LOAD_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/portal_load}

.PHONY: load
load: install services ## The Tuesday peak under locust, about 7 minutes: var/load.json, docs/benchmarks.md
	@$(LOAD_ENV) $(PY) -m tests.load.run

# --- quality gate -----------------------------------------------------------------------------

.PHONY: check
check: install ## ruff, mypy, Django's checks, missing migrations, docker-compose.yml against the schema
	@$(VENV)/bin/ruff check --quiet .
	@$(VENV)/bin/ruff format --check --quiet .
	@$(VENV)/bin/mypy --no-error-summary .
	@$(PY) manage.py check --fail-level WARNING | grep -v "^System check identified no issues" || true
	@$(PY) manage.py makemigrations --check --dry-run --no-input > /dev/null || { echo "Missing migrations: run manage.py makemigrations"; exit 1; }
	@$(SIM_MANAGE) check --fail-level WARNING | grep -v "^System check identified no issues" || true
	@$(SIM_MANAGE) makemigrations --check --dry-run --no-input > /dev/null || { echo "Missing simulator migrations: run python -m contrOCC_sync.simulator.manage makemigrations"; exit 1; }
	@$(VENV)/bin/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml > /dev/null
	@echo "check: all clean"

.PHONY: format
format: install ## Fix what ruff can fix
	@$(VENV)/bin/ruff check --fix --quiet .
	@$(VENV)/bin/ruff format --quiet .

.PHONY: clean
clean: ## Remove the demo's data (var/) and the built front end
	rm -rf var static/build
