# Distribution: every target does its own set-up (virtualenv, pinned deps, codegen).
# Needs only python3, make and node/npm on the machine.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
BUF := node_modules/.bin/buf
PROTOS := $(shell find proto -name '*.proto' | sort)
PYTEST_ARGS ?=
SOAK_ARGS ?=

.PHONY: help run test test-model mutate lint check generate check-generated clean contract-baseline soak replicas console-screenshots

help:
	@echo "make run       start the service on the built-in sandbox (127.0.0.1:50051)"
	@echo "make test      lint the contract, check generated code, run the test suite"
	@echo "make lint      buf lint and breaking on proto/"
	@echo "make check     the code's own checks: import contracts, ruff, mypy"
	@echo "make generate  rebuild generated/ from proto/"
	@echo "make replicas  two replicas on a fresh PostgreSQL database, shared emulators (docs/replicas.md)"
	@echo "make mutate    mutation testing of the publish logic (slow; writes tests/mutation/REPORT.md)"
	@echo "make console-screenshots  the console's pictures in docs/images/ (headless Chromium)"
	@echo "make test-model  the publish log against its model, many random sequences on every store (minutes)"

# --- set-up -----------------------------------------------------------------

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -r requirements-dev.txt
	# The service itself, editable: `server` and the generated `distribution` package import
	# from the checkout (the build backend is pinned in requirements-dev.txt).
	$(PIP) install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --silent --no-audit --no-fund
	touch $@

# Debian packages: Chromium, which the console's browser tests (tests/browser/), its screenshots
# and its benchmark drive through Playwright (pinned in requirements-dev.txt; never `playwright
# install`), and curl, the console benchmark's baseline. Each program is its own stamp:
# installed once per machine, as root, when it is missing (the package has the program's name).
CHROMIUM := /usr/bin/chromium
CURL := /usr/bin/curl
$(CHROMIUM) $(CURL):
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(notdir $@)
	test -x $@

# The example Node.js client (clients/node), exercised by tests/e2e/test_clients.py.
clients/node/node_modules/.installed: clients/node/package.json clients/node/package-lock.json
	cd clients/node && npm ci --silent --no-audit --no-fund --ignore-scripts
	touch $@

# --- code generation --------------------------------------------------------

generated/.stamp: $(PROTOS) $(VENV)/.installed scripts/generate.py scripts/openapi.py scripts/settings_page.py server/config/table.py
	$(PY) scripts/generate.py
	touch $@

generate: $(VENV)/.installed
	$(PY) scripts/generate.py
	touch generated/.stamp

check-generated: $(VENV)/.installed
	$(PY) scripts/generate.py --check

# --- main jobs --------------------------------------------------------------

# node_modules: the README's buf curl example runs node_modules/.bin/buf against this server.
run: $(VENV)/.installed generated/.stamp node_modules/.installed
	$(PY) -m server

lint: node_modules/.installed
	$(BUF) lint
	$(BUF) breaking --against proto/baseline.binpb

# The contract as it last landed: buf breaking compares proto/ with this image.
# Refresh it on purpose, once a contract change is meant to ship.
contract-baseline: node_modules/.installed
	$(BUF) build -o proto/baseline.binpb

# The architecture (import contracts in pyproject.toml), lint and types; each fails on a finding.
check: $(VENV)/.installed generated/.stamp
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check server tests bench scripts
	$(VENV)/bin/mypy

# Tests run in TEST_WORKERS pytest-xdist workers, a module at a time (--dist loadscope: a
# module-scoped fixture, like the bench smoke run's two minutes, is set up once). Coverage is measured in every worker and subprocess
# ([tool.coverage] in pyproject.toml), combined, listed in .coverage-data/report.txt (files
# with uncovered lines or branches only) and, for a full run, held to the floors in
# scripts/coverage_gate.py. A run narrowed by PYTEST_ARGS reports coverage but gates nothing.
TEST_WORKERS ?= 2
COVERAGE_GATE ?= $(if $(PYTEST_ARGS),off,on)

test: $(VENV)/.installed generated/.stamp clients/node/node_modules/.installed $(CHROMIUM) $(CURL) lint check-generated check
	rm -rf .coverage-data && mkdir -p .coverage-data
	status=0; $(PY) -m coverage run -m pytest -n $(TEST_WORKERS) --dist loadscope $(PYTEST_ARGS) || status=$$?; \
	$(PY) -m coverage combine -q; \
	$(PY) -m coverage report > .coverage-data/report.txt || true; \
	$(PY) -m coverage json -q -o .coverage-data/coverage.json; \
	tail -n 3 .coverage-data/report.txt; echo "uncovered lines and branches: .coverage-data/report.txt"; \
	if [ "$(COVERAGE_GATE)" = on ]; then $(PY) -m scripts.coverage_gate .coverage-data/coverage.json || status=1; \
	else $(PY) -m scripts.coverage_gate .coverage-data/coverage.json || true; fi; \
	exit $$status

# The publish log's model-based test (tests/contracts/test_publish_log_model.py) at length:
# MODEL_EXAMPLES random sequences of 50 steps per store, new seeds each run. `make test` runs
# it bounded, with a fixed seed.
MODEL_EXAMPLES ?= 300
test-model: $(VENV)/.installed generated/.stamp
	DISTRIBUTION_TEST_MODEL_EXAMPLES=$(MODEL_EXAMPLES) $(PY) -m pytest -p no:xdist --timeout=0 -q tests/contracts/test_publish_log_model.py

# Mutation testing (mutmut, pinned in requirements-mutate.txt) of the workflows and retry
# code, the domain, and the platform error tables against the fast layers (unit + contracts
# on fakes); writes tests/mutation/REPORT.md. Slow (tens of minutes on 2 cores): not part
# of `make test`, which runs the five fixed mutants of tests/mutation/test_smoke.py instead.
mutate: $(VENV)/.installed generated/.stamp $(VENV)/.mutate-installed
	$(PY) -m scripts.mutate $(MUTATE_ARGS)

$(VENV)/.mutate-installed: requirements-mutate.txt $(VENV)/.installed
	$(PIP) install --quiet --disable-pip-version-check -r requirements-mutate.txt
	touch $@

# Not part of test: publishes under random platform faults and SIGKILLs of the service, then
# checks for duplicate and lost publishes (SOAK_ARGS="--publishes 100 --seed 7 --json soak.json").
soak: $(VENV)/.installed generated/.stamp
	$(PY) -m scripts.soak $(SOAK_ARGS)

# The console's screenshots (docs/images/console-*.png, linked from docs/console.md): the
# service as `make run` starts it, a few publishes made over its API, each view in Chromium.
console-screenshots: $(VENV)/.installed generated/.stamp $(CHROMIUM)
	$(PY) -m scripts.console_screenshots --out docs/images

clean:
	rm -rf $(VENV) node_modules generated/.stamp .pytest_cache .coverage-data mutants

# --- benchmarks (bench/) ----------------------------------------------------

.PHONY: bench bench-history

# Every case (unary overhead, concurrency, upstream cost, history, media, HTTP gateway, scheduling,
# PostgreSQL vs SQLite, replicas; the PostgreSQL ones where a server answers); prints the table and writes
# bench/results.md (commit it). About 20 minutes on 2 cores.
bench: $(VENV)/.installed generated/.stamp $(CHROMIUM) $(CURL)
	$(PY) -m bench.run --out bench/results.md

# Only the history case (one million records, on SQLite and, where a server answers, PostgreSQL):
# prints the table, writes bench/results-history.md.
bench-history: $(VENV)/.installed generated/.stamp
	$(PY) -m bench.run --only history --out bench/results-history.md

# --- a local cluster (docs/replicas.md) --------------------------------------------------

.PHONY: replicas

# A fresh database on the local PostgreSQL server, the sandbox emulators and media host as
# processes, and two replicas on their own ports; prints the addresses, stops on Ctrl-C.
# REPLICAS_ARGS="--lease-seconds 3 --grpc-port 0" passes options (python -m scripts.replicas --help).
replicas: $(VENV)/.installed generated/.stamp
	$(PY) -m scripts.replicas $(REPLICAS_ARGS)
