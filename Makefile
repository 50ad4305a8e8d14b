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

.PHONY: help run test lint check generate check-generated clean contract-baseline soak

help:
	@echo "make run       start the service on the built-in sandbox (127.0.0.1:50051)"
	@echo "make test      lint the contract, check generated code, run the test suite"
	@echo "make lint      buf lint and breaking on proto/"
	@echo "make check     the code's own checks: import contracts, ruff, mypy"
	@echo "make generate  rebuild generated/ from proto/"

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

# The example Node.js client (clients/node), exercised by tests/e2e/test_clients.py.
clients/node/node_modules/.installed: clients/node/package.json clients/node/package-lock.json
	cd clients/node && npm ci --silent --no-audit --no-fund --ignore-scripts
	touch $@

# --- code generation --------------------------------------------------------

generated/.stamp: $(PROTOS) $(VENV)/.installed scripts/generate.py scripts/openapi.py
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

test: $(VENV)/.installed generated/.stamp clients/node/node_modules/.installed lint check-generated check
	$(PY) -m pytest $(PYTEST_ARGS)

# Not part of test: publishes under random platform faults and SIGKILLs of the service, then
# checks for duplicate and lost publishes (SOAK_ARGS="--publishes 100 --seed 7 --json soak.json").
soak: $(VENV)/.installed generated/.stamp
	$(PY) -m scripts.soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) node_modules generated/.stamp .pytest_cache

# --- benchmarks (bench/) ----------------------------------------------------

.PHONY: bench bench-history

# Every case (unary overhead, concurrency, upstream cost, history, media, HTTP gateway, scheduling,
# PostgreSQL vs SQLite, replicas; the PostgreSQL ones where a server answers); prints the table and writes
# bench/results.md (commit it). About 20 minutes on 2 cores.
bench: $(VENV)/.installed generated/.stamp
	$(PY) -m bench.run --out bench/results.md

# Only the history case (one million records, on SQLite and, where a server answers, PostgreSQL):
# prints the table, writes bench/results-history.md.
bench-history: $(VENV)/.installed generated/.stamp
	$(PY) -m bench.run --only history --out bench/results-history.md
